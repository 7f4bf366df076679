"""Saliency maps for the saliency-weighted losses (Mahapatra et al.; Hou & Zhang 2007)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from medsr.errors import MedsrError
from medsr.models.medical.saliency import SaliencyMap, saliency_map, saliency_weights


def _blob_image(shape: tuple[int, ...], centre: tuple[int, ...], seed: int = 0) -> torch.Tensor:
    """Smooth low-contrast texture with one small bright blob (the salient object)."""
    rng = np.random.default_rng(seed)
    grids = np.meshgrid(*[np.arange(n) for n in shape], indexing="ij")
    img = 0.3 + 0.02 * rng.standard_normal(shape)
    r2 = sum((g - c) ** 2 for g, c in zip(grids, centre))
    img += np.exp(-r2 / (2 * 1.5**2))
    return torch.as_tensor(img, dtype=torch.float32)[None, None]


@pytest.mark.parametrize("method", ["spectral_residual", "gradient"])
def test_blob_is_the_salient_region_2d(method: str) -> None:
    x = _blob_image((48, 48), (30, 14))
    s = saliency_map(x, method)
    assert tuple(s.shape) == (1, 1, 48, 48)
    assert float(s.min()) == pytest.approx(0.0, abs=1e-6) and float(s.max()) == pytest.approx(
        1.0, abs=1e-6
    )
    yy, xx = np.meshgrid(np.arange(48), np.arange(48), indexing="ij")
    near = (yy - 30) ** 2 + (xx - 14) ** 2 <= 6**2
    s_np = s[0, 0].numpy()
    assert s_np[near].mean() > 3 * s_np[~near].mean()


def test_spectral_residual_3d_and_channels_averaged() -> None:
    x = _blob_image((20, 20, 16), (5, 12, 8)).repeat(2, 3, 1, 1, 1)
    s = SaliencyMap("spectral_residual", sigma=1.5)(x)
    assert tuple(s.shape) == (2, 1, 20, 20, 16)
    peak = np.unravel_index(int(s[0, 0].argmax()), (20, 20, 16))
    assert np.linalg.norm(np.subtract(peak, (5, 12, 8))) <= 3


def test_saliency_is_a_constant_weight_not_a_graph() -> None:
    x = _blob_image((16, 16), (8, 8)).requires_grad_(True)
    s = saliency_map(x, "gradient")
    assert not s.requires_grad
    w = saliency_weights(s, alpha=2.0)
    assert float(w.min()) == pytest.approx(1.0, abs=1e-6) and float(w.max()) == pytest.approx(
        3.0, abs=1e-6
    )


def test_saliency_user_errors() -> None:
    with pytest.raises(MedsrError, match="method"):
        SaliencyMap("itti")
    with pytest.raises(MedsrError, match="4-D or 5-D"):
        saliency_map(torch.rand(8, 8))
    with pytest.raises(MedsrError, match="alpha"):
        saliency_weights(torch.rand(1, 1, 4, 4), alpha=-1)
