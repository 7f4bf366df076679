"""BT.601 luma."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.color import rgb2ycbcr

from medsr.errors import MedsrError
from medsr.metrics import rgb_to_y


def test_rgb_to_y_range_and_skimage() -> None:
    assert rgb_to_y(np.array([0, 0, 0])) == pytest.approx(16.0)
    assert rgb_to_y(np.array([255, 255, 255])) == pytest.approx(235.0)
    img = np.random.default_rng(0).integers(0, 256, (9, 7, 3)).astype(np.uint8)
    np.testing.assert_allclose(rgb_to_y(img), rgb2ycbcr(img)[..., 0], atol=1e-9)


def test_rgb_to_y_needs_three_channels() -> None:
    with pytest.raises(MedsrError, match="RGB"):
        rgb_to_y(np.zeros((4, 4)))
