"""`medsr upscale REAL_THICK_SCAN --weights W` with the default isotropic target (issue 15).

chris_PD is 0.8579 x 0.8594 x 2.4 mm: the y spacing differs from x by 0.17 %, which must count as
equal (factor 1, not 1.0017 -> x2), and z needs x2.797, which a through-plane x3 network serves
exactly (then cubic x0.93), an x2 one partly (then cubic x1.4), an isotropic x2 one not at all.
"""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from infer_helpers import crop, run, save_network, write


@pytest.fixture
def pd_crop(shared_data: Path, tmp_path: Path) -> Path:
    from medsr.io import read

    path = shared_data / "medical" / "chris_PD.nii.gz"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    vol = read(path)
    box = (vol.shape[0] // 2 - 12, vol.shape[1] // 2 - 12, 20)
    return write(crop(vol, box, (24, 24, 10)), tmp_path / "pd.nii.gz")


def _sidecar(out: Path) -> dict:
    return json.loads(Path(str(out) + ".json").read_text())


@pytest.mark.parametrize("scale,served", [((1, 3), [1, 1, 3]), ((1, 2), [1, 1, 2])])
def test_through_plane_network_gives_an_isotropic_scan(pd_crop, tmp_path, scale, served) -> None:
    weights = save_network(tmp_path / "w", scale, dims=2, name="vdsr")
    out = tmp_path / "iso.nii.gz"
    assert run(["upscale", pd_crop, "-o", out, "--weights", weights]) == 0  # no --factors
    img = nib.load(str(out))
    zooms = np.asarray(img.header.get_zooms()[:3])
    src = np.asarray(nib.load(str(pd_crop)).header.get_zooms()[:3])
    assert img.shape[:2] == (24, 24)  # x and y kept: 0.17 % counts as equal
    np.testing.assert_allclose(zooms[:2], src[:2], rtol=1e-5)
    assert abs(zooms[2] - src[0]) < 0.01 * src[0]  # z at the in-plane spacing
    sidecar = _sidecar(out)
    assert sidecar["method"] == "network"
    assert sidecar["network_factors"] == served
    assert sidecar["finish_resample"]["method"] == "cubic"
    if served == [1, 1, 2]:  # the network did not fit x3: recorded, cubic did the rest
        assert sidecar["network_fit"]["network"] == [1, 1, 2]
        assert "cubic interpolation did the rest" in sidecar["network_fit"]["note"]
    else:
        assert "network_fit" not in sidecar


def test_network_that_fits_nothing_says_what_would(pd_crop, tmp_path, capsys) -> None:
    weights = save_network(tmp_path / "w", (2, 2), dims=2, name="vdsr")  # in-plane x2 only
    out = tmp_path / "iso.nii.gz"
    assert run(["upscale", pd_crop, "-o", out, "--weights", weights]) == 2
    err = capsys.readouterr().err.replace("\n", " ")
    assert "model scale mismatch" in err and "Traceback" not in err
    assert "2D model.scale [1,3] sliced along axis 0" in err
    assert "--factors 1,2,2 or 2,1,2 or 2,2,1" in err  # what this network can do
    assert "configs/through_plane.yaml" in err
    assert not out.exists()


def test_overshoot_into_an_integer_dtype_is_explained(pd_crop, tmp_path, capsys) -> None:
    """A network whose output leaves the uint8 range: the note says how many voxels were clipped
    and suggests --dtype float32, which keeps them."""
    weights = save_network(tmp_path / "w", (1, 1, 3), dims=3, name="espcn")  # random weights
    out = tmp_path / "sr.nii.gz"
    assert run(["upscale", pd_crop, "-o", out, "--weights", weights, "--factors", "1,1,3"]) == 0
    text = capsys.readouterr().out.replace("\n", " ")
    sidecar = _sidecar(out)
    assert sidecar["dtype"] == "uint8" and sidecar["clipped_voxels"] > 0
    assert "write --dtype float32 to keep them" in text
    assert any("--dtype float32" in n for n in sidecar["notes"])
    kept = tmp_path / "sr32.nii.gz"
    args = ["upscale", pd_crop, "-o", kept, "--weights", weights, "--factors", "1,1,3"]
    assert run(args + ["--dtype", "float32"]) == 0
    assert _sidecar(kept)["clipped_voxels"] == 0
    assert "--dtype float32" not in capsys.readouterr().out


def test_upscale_help_lists_the_option_keys(capsys) -> None:
    """Every `--option` key of self and dip is named in `medsr upscale --help` (not only in the
    error for an unknown one)."""
    from medsr.infer.selfsupervised import _DIP_KEYS, _SELF_KEYS

    assert run(["upscale", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.replace("│", " ").split())
    for key in [*_SELF_KEYS, *_DIP_KEYS]:
        assert key in text, key
