"""SSIM (Wang et al. 2004) against scikit-image in 2D and 3D, with masks."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter
from skimage import data as skdata
from skimage.metrics import structural_similarity

from medsr.errors import MedsrError
from medsr.metrics import ssim, ssim_map

SK = {"gaussian_weights": True, "sigma": 1.5, "use_sample_covariance": False}


@pytest.fixture(scope="module")
def image_pair() -> tuple[np.ndarray, np.ndarray]:
    ref = skdata.camera().astype(np.float64)[:200, 100:300]
    blurred = gaussian_filter(ref, 1.2) + np.random.default_rng(1).normal(0, 4, ref.shape)
    return ref, blurred


@pytest.fixture(scope="module")
def volume_pair() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(2)
    ref = gaussian_filter(rng.random((30, 28, 24)), 2.0) * 1000.0  # smooth, MR-like range
    test = gaussian_filter(ref, 1.0) + rng.normal(0, 2.0, ref.shape)
    return ref, test


def test_ssim_2d_matches_skimage(image_pair: tuple[np.ndarray, np.ndarray]) -> None:
    ref, test = image_pair
    ours = ssim(ref, test, data_range=255)
    theirs = structural_similarity(ref, test, data_range=255, **SK)
    assert ours == pytest.approx(theirs, abs=1e-6)
    assert 0.3 < ours < 0.99  # a real, imperfect match
    assert ssim(ref, ref, data_range=255) == pytest.approx(1.0)


def test_ssim_3d_matches_skimage(volume_pair: tuple[np.ndarray, np.ndarray]) -> None:
    ref, test = volume_pair
    r = float(ref.max() - ref.min())
    assert ssim(ref, test, data_range=r) == pytest.approx(
        structural_similarity(ref, test, data_range=r, **SK), abs=1e-6
    )


def test_ssim_channels_are_averaged(image_pair: tuple[np.ndarray, np.ndarray]) -> None:
    ref, test = image_pair
    rgb_ref = np.stack([ref, ref * 0.5, 255 - ref], axis=-1)
    rgb_test = np.stack([test, test * 0.5, 255 - test], axis=-1)
    assert ssim(rgb_ref, rgb_test, data_range=255, channel_axis=-1) == pytest.approx(
        structural_similarity(rgb_ref, rgb_test, data_range=255, channel_axis=-1, **SK), abs=1e-6
    )


def test_ssim_mask_is_mean_of_map_inside(image_pair: tuple[np.ndarray, np.ndarray]) -> None:
    ref, test = image_pair
    mask = np.zeros(ref.shape, bool)
    mask[40:120, 60:180] = True
    _, full = structural_similarity(ref, test, data_range=255, full=True, **SK)
    assert ssim(ref, test, data_range=255, mask=mask) == pytest.approx(full[mask].mean(), abs=1e-6)
    whole = np.ones(ref.shape, bool)
    assert ssim(ref, test, data_range=255, mask=whole) == pytest.approx(
        ssim(ref, test, data_range=255)
    )
    assert ssim_map(ref, test, data_range=255).shape == (190, 190)


def test_ssim_errors(image_pair: tuple[np.ndarray, np.ndarray]) -> None:
    ref, test = image_pair
    with pytest.raises(MedsrError, match="data_range is required"):
        ssim(ref, test, data_range=None)  # type: ignore[arg-type]
    with pytest.raises(MedsrError, match="smaller than the SSIM window"):
        ssim(ref[:8], test[:8], data_range=255)
    border = np.zeros(ref.shape, bool)
    border[:3] = True
    with pytest.raises(MedsrError, match="border"):
        ssim(ref, test, data_range=255, mask=border)
    with pytest.raises(MedsrError, match="2D or 3D"):
        ssim(ref[None, None], test[None, None], data_range=255)
