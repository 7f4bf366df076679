"""ONNX export of every natural-image network and inference with onnxruntime (within 1e-4),
with dynamic spatial sizes (exported at one size, run at another)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from natural_helpers import NATURAL

from medsr.errors import MedsrError
from medsr.models import create_model
from medsr.models.onnx import check_onnx, export_onnx, onnx_predict, read_onnx_metadata

pytest.importorskip("onnxruntime")



def _torch_out(net, x):
    with torch.no_grad():
        return net(torch.from_numpy(x)).numpy()


@pytest.mark.parametrize("name", NATURAL)
def test_onnx_2d_matches_torch(name, tmp_path):
    net = create_model(name, scale=2, dims=2, preset="tiny").eval()
    path = export_onnx(net, tmp_path / f"{name}.onnx", (1, 1, 12, 12))
    x = np.random.default_rng(0).random((2, 1, 10, 14), dtype=np.float32)  # other batch and size
    got = onnx_predict(path, x)
    assert got.shape == (2, 1, 20, 28)
    np.testing.assert_allclose(got, _torch_out(net, x), atol=1e-4, rtol=0)


@pytest.mark.parametrize(
    "name,factors",
    [("edsr", (1, 1, 4)), ("srcnn", (2, 2, 2)), ("lapsrn", (1, 1, 4)), ("fsrcnn", (1, 2, 3))],
)
def test_onnx_3d_matches_torch(name, factors, tmp_path):
    net = create_model(name, scale=factors, dims=3, preset="tiny").eval()
    path = export_onnx(net, tmp_path / "net.onnx", (1, 1, 6, 6, 4))
    x = np.random.default_rng(1).random((1, 1, 5, 7, 3), dtype=np.float32)
    got = onnx_predict(path, x)
    assert got.shape == (1, 1, 5 * factors[0], 7 * factors[1], 3 * factors[2])
    np.testing.assert_allclose(got, _torch_out(net, x), atol=1e-4, rtol=0)


def test_onnx_non_integer_preupsampling_is_exported_with_fixed_size(tmp_path):
    net = create_model("vdsr", scale=1.5, preset="tiny").eval()
    with pytest.warns(UserWarning, match="fixed spatial"):
        path = export_onnx(net, tmp_path / "v.onnx", (1, 1, 8, 8))
    x = np.random.default_rng(2).random((1, 1, 8, 8), dtype=np.float32)
    np.testing.assert_allclose(onnx_predict(path, x), _torch_out(net, x), atol=1e-4, rtol=0)


def test_onnx_metadata_is_embedded_and_checked(tmp_path):
    net = create_model("espcn", scale=2, dims=2, preset="tiny").eval()
    meta = {"architecture": "espcn", "scale": [2, 2], "dims": 2}
    path = export_onnx(net, tmp_path / "m.onnx", (1, 1, 12, 12), metadata=meta)
    assert read_onnx_metadata(path) == meta
    assert (
        check_onnx(net, path, (2, 1, 9, 13)) < 1e-4
    )  # another batch and size than the tracing one
    plain = export_onnx(net, tmp_path / "plain.onnx", (1, 1, 12, 12))
    with pytest.raises(MedsrError, match="no medsr metadata"):
        read_onnx_metadata(plain)


def test_onnx_user_errors(tmp_path):
    net = create_model("srcnn", preset="tiny")
    with pytest.raises(MedsrError):
        export_onnx(net, tmp_path / "a.onnx", (1, 1, 8))
    with pytest.raises(MedsrError):
        export_onnx(net, tmp_path / "a.onnx", (1, 1, 8, 8), opset=11)
    with pytest.raises(MedsrError):
        onnx_predict(tmp_path / "missing.onnx", np.zeros((1, 1, 4, 4)))
    assert not list(tmp_path.iterdir())  # nothing half-written
