"""Self-SR's flip self-ensemble at inference (EDSR+, Lim et al. 2017; issue 13)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from medsr.bench.selfsr import simulate_thick_slices
from medsr.infer.methods import MethodOptions
from medsr.infer.selfsupervised import self_sr_method
from medsr.infer.slicewise import ForegroundCrop
from medsr.interpolate import zoom_array
from medsr.selfsr.apply import restore_through_plane


class _RowShift(nn.Module):
    """A fixed, non-symmetric 'restoration': adds a scaled copy of the image rolled along the
    rows, so every flip gives a different answer and the ensemble differs from one pass."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + 0.3 * torch.roll(x, 1, dims=2) - 0.1 * torch.roll(x, -2, dims=3)


def test_ensemble_output_is_the_mean_of_the_flipped_predictions(brain_crop) -> None:
    thick = simulate_thick_slices(brain_crop, axis=2, factor=4.0)
    data = np.asarray(thick.lr.data, np.float32)
    vol = zoom_array(data / data.max(), (1.0, 1.0, 4.0), "bspline")
    net = _RowShift()
    full = {"foreground": ForegroundCrop(threshold=-1.0), "batch": 16}  # every voxel computed
    plain = restore_through_plane(net, vol, 2, **full)
    # the definition, plane by plane: orientation cut across x (planes y-z) and across y (x-z)
    expected = np.zeros_like(vol)
    for cut in (0, 1):
        planes = np.moveaxis(vol[0], cut, 0)  # (n, other in-plane, z)
        t = torch.from_numpy(np.ascontiguousarray(np.swapaxes(planes, 1, 2)))[:, None]  # rows=z
        outs = []
        for dims in ([], [2], [3], [2, 3]):
            y = net(torch.flip(t, dims) if dims else t)
            outs.append(torch.flip(y, dims) if dims else y)
        mean = torch.stack(outs).mean(0)[:, 0].numpy()
        expected[0] += np.moveaxis(np.swapaxes(mean, 1, 2), 0, cut) / 2
    got = restore_through_plane(net, vol, 2, ensemble=True, **full)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    assert np.abs(got - plain).max() > 1e-3  # the ensemble changes the answer: the test can fail


def test_ensemble_option_reaches_the_method_and_its_record(tiny_self_case) -> None:
    case, target, common = tiny_self_case
    outs = {}
    for flag in ("false", "true"):
        options = MethodOptions(seed=1, extra=dict(common, ensemble=flag))
        outs[flag], info = self_sr_method(case.lr, target, options)
        assert info["ensemble"] is (flag == "true")
    assert not np.array_equal(outs["true"].data, outs["false"].data)
