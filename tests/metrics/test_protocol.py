"""The Table-1 protocol on synthetic and real images (no dataset needed)."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data as skdata

from medsr.degrade.resize import imresize
from medsr.errors import MedsrError
from medsr.metrics import psnr, rgb_to_y, ssim, table1_evaluate, table1_pair, to_uint8


@pytest.fixture(scope="module")
def rgb() -> np.ndarray:
    return skdata.astronaut()[100:231, 150:290]  # 131 x 140 x 3 uint8, not a multiple of 3 or 4


def test_to_uint8_is_matlab_rounding() -> None:
    np.testing.assert_array_equal(
        to_uint8(np.array([-3.0, 0.5, 1.49, 2.5, 254.6, 300.0])), [0, 1, 1, 3, 255, 255]
    )


def test_pair_rgb_mode(rgb: np.ndarray) -> None:
    hr, lr = table1_pair(rgb, 3)
    assert hr.shape == (129, 138, 3) and hr.dtype == np.uint8
    assert lr.shape == (43, 46, 3) and lr.dtype == np.uint8
    np.testing.assert_array_equal(hr, rgb[:129, :138])
    # uint8 LR is MATLAB's uint8 resize: rounded (and saturated) after each pass, so it stays
    # within about a grey level of the float resize except near overshoots of 0..255
    np.testing.assert_array_equal(lr, imresize(hr, 1 / 3))
    diff = np.abs(lr.astype(float) - imresize(hr.astype(np.float64), 1 / 3))
    inside = (imresize(hr.astype(np.float64), 1 / 3) > 2) & (
        imresize(hr.astype(np.float64), 1 / 3) < 253
    )
    assert np.mean(diff[inside] > 1.0) < 0.01 and diff.mean() < 0.4


def test_pair_y_mode(rgb: np.ndarray) -> None:
    hr, lr = table1_pair(rgb, 4, mode="y")
    assert hr.shape == (128, 140) and hr.dtype == np.uint8
    np.testing.assert_array_equal(hr, to_uint8(rgb_to_y(rgb[:128, :140])))
    assert lr.shape == (32, 35) and lr.dtype == np.float64
    grey = rgb[..., 1].copy()
    hr_g, _ = table1_pair(grey, 4, mode="y")
    np.testing.assert_array_equal(hr_g, grey[:128, :140])


def test_evaluate_scores_y_with_border_crop(rgb: np.ndarray) -> None:
    hr, lr = table1_pair(rgb, 2)
    sr = imresize(lr, 2.0).astype(np.float64) + 0.3  # rounding removes the 0.3
    p, s = table1_evaluate(hr, sr, 2)
    y_hr = rgb_to_y(hr)[2:-2, 2:-2]
    y_sr = rgb_to_y(to_uint8(sr))[2:-2, 2:-2]
    assert p == pytest.approx(psnr(y_hr, y_sr, data_range=255))
    assert s == pytest.approx(ssim(y_hr, y_sr, data_range=255))
    assert 20 < p < 40 and 0.5 < s < 1
    # a perfect SR, even off by less than half a grey level and out of range, scores inf / 1
    p2, s2 = table1_evaluate(hr, np.clip(hr + 0.4, 0, 260), 2)
    assert p2 == float("inf") and s2 == pytest.approx(1.0)
    # errors in the cropped border do not count
    bad = hr.astype(np.float64).copy()
    bad[:2] = 0
    assert table1_evaluate(hr, bad, 2)[0] == float("inf")


def test_evaluate_errors(rgb: np.ndarray) -> None:
    hr, _ = table1_pair(rgb, 2)
    with pytest.raises(MedsrError, match="differs from the HR shape"):
        table1_evaluate(hr, hr[:-2], 2)
    with pytest.raises(MedsrError, match="8-bit"):
        table1_pair(rgb.astype(np.float32), 2)
    with pytest.raises(MedsrError, match="integer"):
        table1_pair(rgb, 2.5)  # type: ignore[arg-type]
    with pytest.raises(MedsrError, match="mode"):
        table1_pair(rgb, 2, mode="lab")  # type: ignore[arg-type]
