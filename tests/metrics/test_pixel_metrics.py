"""PSNR / NRMSE / MAE against scikit-image, masks, and the explicit data range."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data as skdata
from skimage.metrics import normalized_root_mse, peak_signal_noise_ratio

from medsr.errors import MedsrError
from medsr.metrics import mae, nrmse, psnr


@pytest.fixture(scope="module")
def pair() -> tuple[np.ndarray, np.ndarray]:
    ref = skdata.camera().astype(np.float64)[100:260, 150:330]
    noisy = ref + np.random.default_rng(0).normal(0, 8, ref.shape)
    return ref, noisy


def test_psnr_matches_skimage(pair: tuple[np.ndarray, np.ndarray]) -> None:
    ref, test = pair
    for r in (255.0, 300.0):
        assert psnr(ref, test, data_range=r) == pytest.approx(
            peak_signal_noise_ratio(ref, test, data_range=r), abs=1e-9
        )
    # noise of sigma 8 on range 255: PSNR ~ 20 log10(255 / 8)
    assert psnr(ref, test, data_range=255) == pytest.approx(20 * np.log10(255 / 8), abs=0.2)


def test_psnr_mask_uses_masked_voxels_only(pair: tuple[np.ndarray, np.ndarray]) -> None:
    ref, test = pair
    test = test.copy()
    mask = np.zeros(ref.shape, bool)
    mask[20:80, 30:120] = True
    test[~mask] += 100.0  # large errors outside the mask must not count
    expected = peak_signal_noise_ratio(ref[mask], test[mask], data_range=255)
    assert psnr(ref, test, data_range=255, mask=mask) == pytest.approx(expected, abs=1e-9)
    assert psnr(ref, test, data_range=255) < expected - 5


def test_psnr_identical_is_inf_and_inputs_untouched(pair: tuple[np.ndarray, np.ndarray]) -> None:
    ref, _ = pair
    before = ref.copy()
    assert psnr(ref, ref.copy(), data_range=255) == float("inf")
    np.testing.assert_array_equal(ref, before)


def test_nrmse_and_mae(pair: tuple[np.ndarray, np.ndarray]) -> None:
    ref, test = pair
    for ours, theirs in (("euclidean", "euclidean"), ("min-max", "min-max"), ("mean", "mean")):
        assert nrmse(ref, test, normalization=ours) == pytest.approx(
            normalized_root_mse(ref, test, normalization=theirs), rel=1e-12
        )
    assert mae(ref, test) == pytest.approx(np.mean(np.abs(ref - test)))
    mask = ref > 100
    assert mae(ref, test, mask=mask) == pytest.approx(np.mean(np.abs(ref - test)[mask]))


def test_user_errors(pair: tuple[np.ndarray, np.ndarray]) -> None:
    ref, test = pair
    with pytest.raises(MedsrError, match="data_range is required"):
        psnr(ref, test, data_range=None)  # type: ignore[arg-type]
    with pytest.raises(MedsrError, match="positive"):
        psnr(ref, test, data_range=0)
    with pytest.raises(MedsrError, match=r"\(160, 180\) vs \(160, 179\)"):
        psnr(ref, test[:, :-1], data_range=255)
    with pytest.raises(MedsrError, match="mask is empty"):
        mae(ref, test, mask=np.zeros(ref.shape, bool))
    with pytest.raises(MedsrError, match="mask shape"):
        mae(ref, test, mask=np.ones((3, 3), bool))
    with pytest.raises(MedsrError, match="NaN"):
        mae(ref, np.full(ref.shape, np.nan))
