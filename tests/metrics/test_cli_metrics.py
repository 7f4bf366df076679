"""`medsr metrics` end to end on PNG and NIfTI files."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from PIL import Image
from scipy.ndimage import gaussian_filter
from skimage import data as skdata

import medsr.cli.metrics as cli_metrics
from medsr.cli import main
from medsr.degrade.resize import imresize
from medsr.metrics import psnr, ssim, table1_evaluate, table1_pair


@pytest.fixture(autouse=True)
def _reader(monkeypatch: pytest.MonkeyPatch) -> None:
    """Use medsr.io.read; while it is missing, a tiny PNG/NIfTI stand-in of its contract."""
    try:
        from medsr.io import read  # noqa: F401
    except ImportError:
        from medsr.volume import Volume, VolumeMeta

        def fallback(path: Path):  # (C, X, Y, Z) as docs/CONTRACTS.md
            if str(path).endswith((".nii", ".nii.gz")):
                img = nib.load(str(path))
                return Volume(np.asarray(img.dataobj, dtype=np.float32), img.affine, VolumeMeta())
            a = np.asarray(Image.open(path)).astype(np.float32)
            a = a[None] if a.ndim == 2 else np.moveaxis(a, -1, 0)
            return Volume(a[..., None], np.eye(4), VolumeMeta(is_2d=True))

        monkeypatch.setattr(cli_metrics, "_read", fallback)


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture()
def volumes(tmp_path: Path) -> tuple[Path, Path, Path, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    # an MR-like phantom: a bright ellipsoid "head" with smooth texture, 10 thick slices
    x, y, z = np.meshgrid(
        np.linspace(-1, 1, 160), np.linspace(-1, 1, 160), np.linspace(-1, 1, 10), indexing="ij"
    )
    head = (x**2 / 0.8 + y**2 / 0.6 + z**2 / 1.5) < 1
    texture = gaussian_filter(rng.random((160, 160, 10)), (4, 4, 1))
    ref = (head * (800 + 2000 * texture)).astype(np.float32)
    test = ref + rng.normal(0, 30, ref.shape).astype(np.float32)
    affine = np.diag([0.9, 0.9, 3.0, 1.0])
    mask = (ref > ref.mean()).astype(np.uint8)
    paths = []
    for name, arr in (("ref", ref), ("test", test), ("mask", mask)):
        p = tmp_path / f"{name}.nii.gz"
        nib.save(nib.Nifti1Image(arr, affine), p)
        paths.append(p)
    return (*paths, ref, test, mask.astype(bool))  # type: ignore[return-value]


def test_json_on_volumes_with_mask(volumes, capsys) -> None:
    ref_p, test_p, mask_p, ref, test, mask = volumes
    code, out, _ = run(
        [
            "metrics",
            str(ref_p),
            str(test_p),
            "--mask",
            str(mask_p),
            "--data-range",
            "4000",
            "--json",
        ],
        capsys,
    )
    assert code == 0
    res = json.loads(out)
    assert res["psnr"] == pytest.approx(psnr(ref, test, data_range=4000, mask=mask), abs=1e-4)
    assert res["data_range_source"] == "given"
    # 10 slices: thinner than the 11-voxel SSIM window -> reported as missing with the reason
    assert res["ssim"] is None and "window" in res["ssim_note"]


def test_table_output_says_where_the_range_comes_from(tmp_path: Path, capsys) -> None:
    ref = skdata.camera()[:120, :130]
    test = np.clip(ref.astype(int) + 10, 0, 255).astype(np.uint8)
    Image.fromarray(ref).save(tmp_path / "ref.png")
    Image.fromarray(test).save(tmp_path / "test.png")
    code, out, _ = run(["metrics", str(tmp_path / "ref.png"), str(tmp_path / "test.png")], capsys)
    assert code == 0
    r = float(ref.max()) - float(ref.min())
    assert f"data range taken from reference: {r:g}" in out
    assert f"{psnr(ref, test, data_range=r):.4f}" in out
    assert f"{ssim(ref, test, data_range=r):.4f}" in out


def test_table1_protocol(tmp_path: Path, capsys) -> None:
    hr_full = skdata.astronaut()[:101, :98]
    hr, lr = table1_pair(hr_full, 2)
    sr = imresize(lr, 2.0)
    Image.fromarray(hr_full).save(tmp_path / "hr.png")
    Image.fromarray(sr).save(tmp_path / "sr.png")
    code, out, _ = run(
        [
            "metrics",
            str(tmp_path / "hr.png"),
            str(tmp_path / "sr.png"),
            "--protocol",
            "table1",
            "--scale",
            "2",
            "--json",
        ],
        capsys,
    )
    assert code == 0, out
    res = json.loads(out)
    p, s = table1_evaluate(hr, sr, 2)
    assert res["psnr"] == pytest.approx(p, abs=1e-9) and res["ssim"] == pytest.approx(s, abs=1e-9)


def test_shape_mismatch_is_a_one_line_error(volumes, tmp_path: Path, capsys) -> None:
    ref_p, *_ = volumes
    other = tmp_path / "other.nii.gz"
    nib.save(nib.Nifti1Image(np.zeros((20, 20, 5), np.float32), np.eye(4)), other)
    code, _, err = run(["metrics", str(ref_p), str(other)], capsys)
    assert code == 2
    assert "(1, 160, 160, 10)" in err and "(1, 20, 20, 5)" in err and "Traceback" not in err
    code, _, err = run(["metrics", str(ref_p), str(tmp_path / "missing.nii.gz")], capsys)
    assert code == 2 and "does not exist" in err
