"""ONNX export of every medical network: onnxruntime must reproduce PyTorch within 1e-4."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from medsr.models import create_model
from medsr.models.onnx import open_session

pytest.importorskip("onnxruntime")

# (name, dims, scale, input shape); 3D-native networks are exported in 3D, the others in 2D
CASES = [
    ("unet_sr", 2, 2, (1, 1, 8, 7)),
    ("gan_circle", 2, 3, (1, 1, 6, 6)),
    ("multicontrast_sr", 2, 2, (1, 1, 6, 6)),
    ("csn", 2, 2, (1, 1, 6, 5)),
    ("msfn", 2, 2, (1, 1, 6, 6)),
    ("tl_net", 3, (1, 1, 2), (1, 1, 4, 4, 3)),
    ("srcnn3d", 3, 2, (1, 1, 3, 4, 3)),
    ("resmi3d", 3, (2, 2, 1), (1, 1, 3, 3, 4)),
    ("dcsrn", 3, 2, (1, 1, 3, 3, 3)),
    ("mdcsrn", 3, (1, 1, 4), (1, 1, 3, 3, 2)),
    ("smore", 2, (1, 2), (1, 1, 6, 6)),
    ("saa", 2, 1, (1, 1, 6, 6)),
    ("sawgan", 2, 2, (1, 1, 5, 5)),
    ("progressive_gan", 2, 4, (1, 1, 4, 4)),
]


def _export_and_compare(net: torch.nn.Module, args: tuple[torch.Tensor, ...], path: Path) -> float:
    net.eval()
    names = [f"in{i}" for i in range(len(args))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about shape-dependent Python ints
        torch.onnx.export(
            net, args, str(path), dynamo=False, input_names=names, output_names=["out"]
        )
    session = open_session(path)
    got = session.run(None, {n: a.numpy() for n, a in zip(names, args)})[0]
    with torch.no_grad():
        want = net(*args).numpy()
    assert got.shape == want.shape
    return float(np.abs(got - want).max())


@pytest.mark.parametrize("name,dims,scale,shape", CASES, ids=[c[0] for c in CASES])
def test_onnx_matches_pytorch(
    name: str, dims: int, scale, shape: tuple[int, ...], tmp_path: Path
) -> None:
    torch.manual_seed(0)
    net = create_model(name, scale=scale, dims=dims, preset="tiny")
    x = torch.rand(*shape)
    args: tuple[torch.Tensor, ...] = (x,)
    if name in ("multicontrast_sr", "resmi3d"):
        out = [round(n * f) for n, f in zip(shape[2:], net.scale)]
        args = (x, torch.rand(shape[0], 1, *out))
    assert _export_and_compare(net, args, tmp_path / f"{name}.onnx") < 1e-4
