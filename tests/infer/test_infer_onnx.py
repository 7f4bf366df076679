"""`medsr export --format onnx` and `medsr upscale --onnx`: same output as PyTorch within 1e-4."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from infer_helpers import run, save_network, thick, write


@pytest.fixture
def thick_file(t1_crop, tmp_path: Path) -> Path:
    return write(thick(t1_crop, 2, 4), tmp_path / "thick.nii.gz")


@pytest.mark.parametrize(
    "dims,scale,extra", [(3, (1, 1, 4), ["--tile", "16"]), (2, (1, 4), ["--planes", "all"])]
)
def test_onnx_export_and_inference_match_pytorch(
    thick_file, tmp_path, capsys, dims, scale, extra
) -> None:
    import onnx

    weights = save_network(tmp_path / "w", scale, dims=dims)
    model_file = tmp_path / "m.onnx"
    assert run(["export", "--weights", weights, "--format", "onnx", "-o", model_file]) == 0
    assert "max |diff|" in capsys.readouterr().out
    meta = {p.key: p.value for p in onnx.load(str(model_file)).metadata_props}
    assert '"architecture": "espcn"' in meta["medsr"]
    common = ["upscale", thick_file, "--factors", "1,1,4", "--dtype", "float32"] + extra
    assert run(common + ["-o", tmp_path / "torch.nii.gz", "--weights", weights]) == 0
    (tmp_path / "w").rename(tmp_path / "gone")  # --onnx needs nothing but the .onnx file
    assert run(common + ["-o", tmp_path / "onnx.nii.gz", "--onnx", model_file]) == 0
    a = np.asarray(nib.load(str(tmp_path / "torch.nii.gz")).dataobj)
    b = np.asarray(nib.load(str(tmp_path / "onnx.nii.gz")).dataobj)
    assert a.shape == b.shape == (32, 32, 32)
    assert np.max(np.abs(a - b)) <= 1e-4 * max(1.0, float(np.abs(a).max()))
    np.testing.assert_allclose(
        nib.load(str(tmp_path / "onnx.nii.gz")).affine,
        nib.load(str(tmp_path / "torch.nii.gz")).affine,
    )


def test_export_errors(tmp_path, capsys) -> None:
    weights = save_network(tmp_path / "w", (1, 1, 2))
    out = tmp_path / "m.onnx"
    assert run(["export", "--weights", weights, "-o", out, "--format", "tflite"]) == 2
    assert "unknown export format" in capsys.readouterr().err
    assert run(["export", "--weights", tmp_path / "none.safetensors", "-o", out]) == 2
    assert not out.exists()
    assert run(["export", "--weights", weights, "-o", out]) == 0
    assert run(["export", "--weights", weights, "-o", out]) == 2
    assert "already exists" in capsys.readouterr().err
    assert run(["export", "--weights", weights, "-o", out, "--overwrite"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_onnx_without_medsr_metadata_is_refused(thick_file, tmp_path, capsys) -> None:
    import torch

    plain = tmp_path / "plain.onnx"
    torch.onnx.export(
        torch.nn.Conv3d(1, 1, 3, padding=1),
        (torch.zeros(1, 1, 4, 4, 4),),
        str(plain),
        dynamo=False,
        input_names=["x"],
    )
    assert (
        run(
            [
                "upscale",
                thick_file,
                "-o",
                tmp_path / "o.nii.gz",
                "--factors",
                "1,1,4",
                "--onnx",
                plain,
            ]
        )
        == 2
    )
    assert "no medsr metadata" in capsys.readouterr().err
    assert not (tmp_path / "o.nii.gz").exists()
