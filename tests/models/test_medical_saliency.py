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


# ---------------------------------------------------------------- Mahapatra et al. 2017 (ref. [67])
def test_local_entropy_is_zero_on_flat_and_the_histogram_entropy_at_an_edge() -> None:
    from medsr.models.medical.saliency import local_entropy

    img = torch.zeros(1, 1, 40, 40)
    img[..., 20:, :] = 1.0
    e = local_entropy(img, window=9, bins=16)[0, 0]
    assert float(e[2:12].abs().max()) == pytest.approx(0.0, abs=1e-6)  # one level only
    # the 9-row window at row 19 holds 5 rows of 0 and 4 rows of 1
    p = torch.tensor([5 / 9, 4 / 9])
    assert float(e[19, 20]) == pytest.approx(float(-(p * p.log()).sum()), abs=1e-5)


def test_curvature_is_the_hessian_norm() -> None:
    from medsr.models.medical.saliency import curvature_magnitude

    x = torch.arange(40, dtype=torch.float32)
    ramp = (0.5 * x[:, None] + 0.2 * x[None, :])[None, None]
    bowl = (0.01 * x[:, None] ** 2 + 0.0 * x[None, :])[None, None]
    inner = (slice(None), slice(None), slice(8, 32), slice(8, 32))
    assert float(curvature_magnitude(ramp)[inner].max()) == pytest.approx(0.0, abs=1e-4)
    assert torch.allclose(curvature_magnitude(bowl)[inner], torch.tensor(0.02), atol=1e-4)


def test_curvature_entropy_saliency_follows_structure_on_a_real_picture(shared_data) -> None:
    """On a real photograph the paper's saliency (curvature + local entropy) is high where the
    image has structure and low on flat regions (here: the strongest vs weakest gradients)."""
    from medsr.io import read

    path = sorted((shared_data / "natural" / "CBSD68").glob("*.png"))[3]
    x = torch.from_numpy(read(path).data[..., 0] / 255.0).float()[None]  # (1, 3, H, W)
    s = saliency_map(x, "curvature_entropy", sigma=1.0)[0, 0].numpy()
    assert s.shape == x.shape[2:] and s.min() == pytest.approx(0.0) and s.max() == pytest.approx(1)
    grey = x[0].mean(0).numpy()
    gy, gx = np.gradient(grey)
    mag = np.hypot(gx, gy)
    strong, weak = mag > np.quantile(mag, 0.9), mag < np.quantile(mag, 0.3)
    assert s[strong].mean() > 1.5 * s[weak].mean()
