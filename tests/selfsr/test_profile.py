"""Slice profiles (medsr.degrade.SliceProfile): Gaussian, rectangular and user-supplied files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from medsr.degrade import SliceProfile, load_profile_file, thick_slice_operator
from medsr.errors import MedsrError
from medsr.infer.selfsupervised import profile_from_options


def degrade_axis(
    x: np.ndarray, axis: int, factor: float, profile: SliceProfile, fwhm_voxels: float
) -> np.ndarray:
    """Thick slices along ``axis`` of ``x`` with the one acquisition operator of medsr."""
    return thick_slice_operator(x.shape[1:], axis, factor, profile, fwhm_voxels).apply(x)


def _step(n: int = 40) -> np.ndarray:
    x = np.zeros((1, 3, 4, n), np.float32)
    x[..., n // 2 :] = 100.0
    return x


def test_profiles_shape_the_thick_slices_differently() -> None:
    x = _step()
    gauss = degrade_axis(x, 2, 4.0, SliceProfile("gaussian"), 4.0)
    rect = degrade_axis(x, 2, 4.0, SliceProfile("rect"), 4.0)
    assert gauss.shape == rect.shape == (1, 3, 4, 10)
    # a 4-voxel slab aligned with the step sees no partial volume; the Gaussian's tails do
    assert set(np.unique(np.round(rect, 4))) == {0.0, 100.0}
    assert 0.0 < gauss[0, 0, 0, 4] < 50.0 < gauss[0, 0, 0, 5] < 100.0
    wide = degrade_axis(x, 2, 4.0, SliceProfile("gaussian"), 8.0)
    assert wide[0, 0, 0, 4] > gauss[0, 0, 0, 4]  # thicker slices blur more


def test_profile_file_text_and_npy(tmp_path: Path) -> None:
    txt = tmp_path / "profile.txt"
    txt.write_text("1\n2\n4\n2\n1\n")
    weights = load_profile_file(txt)
    assert sum(weights) == pytest.approx(1.0)
    assert weights[2] == pytest.approx(0.4)
    npy = tmp_path / "profile.npy"
    np.save(npy, np.array([1.0, 2.0, 4.0, 2.0, 1.0]))
    assert load_profile_file(npy) == pytest.approx(weights)
    prof = profile_from_options(str(txt), None, None)
    assert prof.kind == "array"
    x = np.zeros((1, 3, 4, 40), np.float32)
    x[..., 22:] = 100.0
    out = degrade_axis(x, 2, 4.0, prof, 5.0)
    assert out.shape == (1, 3, 4, 10)
    # slice 5 is centred at 21.5: voxels 20..23 weigh .15 .3 .3 .15 (the samples interpolated)
    assert out[0, 0, 0, 5] == pytest.approx(50.0, abs=1e-3)
    assert out[0, 0, 0, 4] == 0.0 and out[0, 0, 0, 6] == pytest.approx(100.0)


@pytest.mark.parametrize("content", ["", "a b c", "1 -2 3", "0 0"])
def test_bad_profile_files(tmp_path: Path, content: str) -> None:
    p = tmp_path / "p.txt"
    p.write_text(content)
    with pytest.raises(MedsrError):
        load_profile_file(p)
    with pytest.raises(MedsrError, match="does not exist"):
        load_profile_file(tmp_path / "missing.txt")


def test_profile_validation_and_gap() -> None:
    with pytest.raises(MedsrError):
        SliceProfile("triangle")  # type: ignore[arg-type]
    with pytest.raises(MedsrError):
        SliceProfile(thickness=-1.0)
    assert SliceProfile(gap=1.0).thickness_mm(5.0) == pytest.approx(4.0)
    assert SliceProfile(thickness=2.0).describe(5.0)["gap_mm"] == pytest.approx(3.0)
    with pytest.raises(MedsrError):
        profile_from_options("gaussian", 3.0, 1.0)
