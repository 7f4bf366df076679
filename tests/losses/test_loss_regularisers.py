"""Total variation and gradient priors: constants, ramps, 2D and 3D."""

import pytest
import torch

from medsr.losses import GradientDifferenceLoss, GradientMagnitudeLoss, TVLoss, total_variation


def _ramp(shape, slopes):
    grids = torch.meshgrid(*[torch.arange(n, dtype=torch.float64) for n in shape], indexing="ij")
    return sum(s * g for s, g in zip(slopes, grids))[None, None]


@pytest.mark.parametrize("isotropic", [False, True])
def test_tv_of_a_constant_is_zero(isotropic):
    assert total_variation(
        torch.full((1, 1, 8, 8), 3.0), isotropic=isotropic
    ).item() == pytest.approx(0.0, abs=1e-3)
    assert TVLoss(isotropic)(torch.full((2, 1, 5, 6, 7), -1.0)).item() == pytest.approx(
        0.0, abs=1e-3
    )


def test_tv_of_ramps_is_known():
    assert total_variation(_ramp((6, 9), (0.0, 2.5))).item() == pytest.approx(2.5)
    assert total_variation(_ramp((6, 9), (-1.0, 2.0))).item() == pytest.approx(3.0)  # |-1| + |2|
    assert total_variation(_ramp((6, 9), (3.0, 4.0)), isotropic=True).item() == pytest.approx(
        5.0
    )  # sqrt(9+16)
    assert total_variation(
        _ramp((4, 5, 6), (1.0, 2.0, 2.0)), isotropic=True
    ).item() == pytest.approx(3.0)
    assert total_variation(_ramp((4, 5, 6), (1.0, 2.0, 2.0))).item() == pytest.approx(5.0)


def test_gradient_difference_loss_known_values():
    gdl = GradientDifferenceLoss(alpha=1.0)
    target = _ramp((8, 8), (1.0, 0.0))
    assert gdl(target + 7.0, target).item() == pytest.approx(0.0)  # a shift keeps gradients
    assert gdl(2.0 * target, target).item() == pytest.approx(
        1.0
    )  # | |2| - |1| | along x, 0 along y
    assert GradientDifferenceLoss(alpha=2.0)(3.0 * target, target).item() == pytest.approx(4.0)
    assert gdl(-target, target).item() == pytest.approx(0.0)  # absolute gradients


def test_gradient_magnitude_loss_penalises_blur_not_shift():
    g = torch.Generator().manual_seed(0)
    img = torch.rand(1, 1, 16, 16, generator=g)
    blurred = torch.nn.functional.avg_pool2d(img, 3, stride=1, padding=1, count_include_pad=False)
    loss = GradientMagnitudeLoss()
    assert loss(img + 1.0, img).item() == pytest.approx(0.0, abs=1e-6)
    assert loss(blurred, img).item() > 0.05
