"""Deep Image Prior super-resolution (Ulyanov, Vedaldi & Lempitsky, CVPR 2018; review ref. [91]).

No training data at all: a randomly initialised encoder-decoder ``f_theta`` with skip connections is
fitted, from a fixed noise input ``z``, so that the degraded output matches the scan,

    theta* = argmin_theta || A f_theta(z) - g ||^2          (Ulyanov et al., eq. 2 with eq. 5's
                                                            data term for SR; the review's eq. 3
                                                            gives A)

and ``f_theta*(z)`` is the super-resolved image. The structure of the network is the prior: it
fits natural structure long before noise, so the optimisation is stopped early. ``A`` is the
acquisition operator of medsr, :func:`medsr.degrade.acquisition_operator` (thick-slice profile along
the slice axis, MATLAB cubic elsewhere; the one the data-consistency report uses), applied in torch
(:class:`medsr.degrade.TorchOperator`) so it back-propagates.

Slow by nature (one full forward/backward pass per iteration, thousands of iterations): minutes
for a 2D image, much longer for a 3D volume on a CPU; meant for small images/crops or a GPU.
Early stopping watches the consistency curve: stop on a plateau, or when the consistency reaches
the noise level (Morozov's discrepancy principle) if one is given.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from medsr.degrade import AcquisitionOperator, SliceProfile, acquisition_operator
from medsr.errors import MedsrError
from medsr.runtime import torch_seed, torch_threads
from medsr.selfsr.config import Budget, parse_budget
from medsr.selfsr.plan import find_slice_axis
from medsr.volume import TargetGrid, Volume, spacing_of

__all__ = ["DIPConfig", "SkipNet", "deep_image_prior", "dip_operator"]

Progress = Callable[[float, str], None]


# ---------------------------------------------------------------------- the network
def _conv(dims: int, cin: int, cout: int, k: int, stride: int = 1) -> nn.Module:
    cls = nn.Conv2d if dims == 2 else nn.Conv3d
    return cls(
        cin, cout, k, stride=stride, padding=k // 2, padding_mode="reflect" if k > 1 else "zeros"
    )


def _bn(dims: int, ch: int) -> nn.Module:
    return nn.BatchNorm2d(ch) if dims == 2 else nn.BatchNorm3d(ch)


def _unit(dims: int, cin: int, cout: int, k: int, stride: int = 1) -> nn.Sequential:
    """conv -> batch norm -> LeakyReLU(0.2), the building unit of Ulyanov et al.'s networks."""
    return nn.Sequential(
        _conv(dims, cin, cout, k, stride), _bn(dims, cout), nn.LeakyReLU(0.2, inplace=True)
    )


class _Level(nn.Module):
    """One scale of the "skip" hourglass (Ulyanov et al. 2018, supplementary fig. 1):
    a strided-conv encoder, an optional deeper level, up-sampling, concatenation with a 1x1 skip
    branch, and a decoder."""

    def __init__(
        self, dims: int, cin: int, width: int, skip: int, deeper: nn.Module | None
    ) -> None:
        super().__init__()
        self.dims = dims
        self.skip = _unit(dims, cin, skip, 1) if skip > 0 else None
        self.down = nn.Sequential(
            _unit(dims, cin, width, 3, stride=2), _unit(dims, width, width, 3)
        )
        self.deeper = deeper
        merged = width + max(skip, 0)
        self.up = nn.Sequential(
            _bn(dims, merged), _unit(dims, merged, width, 3), _unit(dims, width, width, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d = self.down(x)
        if self.deeper is not None:
            d = self.deeper(d)
        mode = "bilinear" if self.dims == 2 else "trilinear"
        u = nn.functional.interpolate(d, size=x.shape[2:], mode=mode, align_corners=False)
        if self.skip is not None:
            u = torch.cat([self.skip(x), u], dim=1)
        return self.up(u)


class SkipNet(nn.Module):
    """The U-Net-like "skip" encoder-decoder of Deep Image Prior, in 2D or 3D.

    Paper setting for SR: 5 levels of 128 channels, 4-channel skips, 32 input noise channels,
    sigmoid output. The defaults here are narrower (CPU); pass ``width=128, depth=5`` for the paper.
    Odd sizes are handled by up-sampling to the encoder's input size (no padding needed).
    """

    def __init__(
        self,
        dims: int = 2,
        in_channels: int = 32,
        out_channels: int = 1,
        width: int = 32,
        depth: int = 4,
        skip: int = 4,
    ) -> None:
        super().__init__()
        if dims not in (2, 3):
            raise MedsrError(f"DIP networks are 2D or 3D, got dims={dims}")
        if depth < 1 or width < 1:
            raise MedsrError(f"DIP needs depth >= 1 and width >= 1, got {depth}, {width}")
        level: nn.Module | None = None
        for k in reversed(range(depth)):
            level = _Level(dims, in_channels if k == 0 else width, width, skip, level)
        self.levels = level
        self.head = nn.Sequential(_conv(dims, width, out_channels, 1), nn.Sigmoid())
        self.dims = dims

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.head(self.levels(z))


# ---------------------------------------------------------------------- the operator A
def dip_operator(
    volume: Volume,
    target: TargetGrid,
    kind: Literal["auto", "thick-slice", "cubic"] = "auto",
    profile: SliceProfile | None = None,
) -> tuple[AcquisitionOperator, dict[str, Any]]:
    """DIP's ``A``: :func:`medsr.degrade.acquisition_operator` from ``target`` to the scan.

    ``"thick-slice"``: the slice profile along the thick axis (:class:`medsr.degrade.ThickSlice`)
    and MATLAB cubic along the others that change; ``"cubic"``: MATLAB cubic on every axis
    (:class:`medsr.degrade.BicubicDown`'s kernel); ``"auto"``: thick-slice for 3D volumes with one
    axis up-sampled more than the others, cubic otherwise. ``"bicubic"`` is read as ``"cubic"``
    (:func:`medsr.interpolate.canonical_method`).
    """
    from medsr.interpolate import canonical_method

    kind = canonical_method(kind)  # type: ignore[assignment]
    f = [float(v) for v in target.factors]
    is_3d = min(int(n) for n in target.shape) > 1
    axis = find_slice_axis(spacing_of(volume.affine), f)
    others = [v for a, v in enumerate(f) if a != axis]
    if kind == "auto":
        kind = "thick-slice" if is_3d and f[axis] > max(others) * 1.2 else "cubic"
    described: dict[str, Any] = {"operator": kind}
    if kind == "thick-slice":
        profile = profile or SliceProfile()
        op = acquisition_operator(volume, target, profile, slice_axes=(axis,))
        described.update(
            slice_axis=axis, fwhm_voxels=op.info["fwhm_voxels"].get(str(axis)), profile=profile.kind
        )
    elif kind == "cubic":
        op = acquisition_operator(volume, target, slice_axes=())
    else:
        raise MedsrError(f"unknown DIP operator {kind!r}; choose auto, thick-slice or cubic")
    return op, described


# ---------------------------------------------------------------------- the optimisation
@dataclass
class DIPConfig:
    """Options of :func:`deep_image_prior` (paper values in brackets: Ulyanov et al., SR section).

    Attributes:
        budget: iterations and/or seconds [2000 iterations].
        width, depth, skip: network size [128, 5, 4].
        input_channels: channels of the noise input [32].
        lr: Adam learning rate [0.01].
        reg_noise_std: std of the perturbation added to ``z`` at each step [0.03].
        ema: weight of the exponential average of the outputs that is returned [0.99 in the
            authors' later code; 0 returns the last output].
        operator: "auto", "thick-slice" or "cubic" (see :func:`dip_operator`).
        profile: the slice profile for the thick-slice operator.
        patience, tol: stop when the smoothed consistency loss has not improved by a relative
            ``tol`` over ``patience`` iterations.
        noise_std: noise level of the scan in its intensity units; when given, stop once the
            consistency (RMS) reaches it (discrepancy principle).
        seed, device, threads: as in self-SR.
    """

    budget: Budget = field(default_factory=lambda: Budget(iterations=2000, seconds=1800.0))
    width: int = 32
    depth: int = 4
    skip: int = 4
    input_channels: int = 32
    lr: float = 0.01
    reg_noise_std: float = 1.0 / 30.0
    ema: float = 0.99
    operator: str = "auto"
    profile: SliceProfile = field(default_factory=SliceProfile)
    patience: int = 300
    tol: float = 1e-3
    noise_std: float | None = None
    seed: int | None = 0
    device: str = "cpu"
    threads: int | None = None

    def __post_init__(self) -> None:
        self.budget = parse_budget(self.budget)
        if not self.lr > 0 or self.patience < 1 or not 0 <= self.ema < 1:
            raise MedsrError("DIP needs lr > 0, patience >= 1 and 0 <= ema < 1")


def deep_image_prior(
    volume: Volume,
    target: TargetGrid,
    config: DIPConfig | None = None,
    *,
    progress: Progress | None = None,
) -> tuple[Volume, dict[str, Any]]:
    """Super-resolve ``volume`` onto ``target`` (:class:`medsr.volume.TargetGrid`) with DIP.

    A 2D image (``meta.is_2d`` / ``Z == 1``) uses a 2D network, a volume a 3D one. Channels are
    fitted jointly (one network with ``C`` outputs). Intensities are min-max normalised to [0, 1]
    (the network ends with a sigmoid) and mapped back.

    Returns:
        ``(volume on the target grid, info)`` with the consistency curve, the iterations, the
        stop reason and the time.
    """
    config = config or DIPConfig()
    t0 = time.perf_counter()
    factors = tuple(float(f) for f in target.factors)
    target_shape = tuple(int(n) for n in target.shape)
    is_2d = volume.meta.is_2d or volume.shape[2] == 1
    if is_2d and abs(factors[2] - 1) > 1e-9:
        raise MedsrError("a 2D image can only be up-sampled in plane; give a factor of 1 for Z")
    hr_shape = tuple(target_shape[:2]) if is_2d else tuple(target_shape)
    report = progress or (lambda f, m: None)
    with torch_seed(config.seed), torch_threads(config.threads):
        dev = config.device
        kind = "cubic" if is_2d else config.operator
        acq, op_info = dip_operator(volume, target, kind, config.profile)  # type: ignore[arg-type]
        op = acq.as_torch(dev)
        data = np.asarray(volume.data, dtype=np.float32)
        lo, hi = float(data.min()), float(data.max())
        span = hi - lo if hi > lo else 1.0
        g = (data - lo) / span  # (C, X, Y, Z)
        if is_2d:
            g = g[..., 0]
        expected = op.output_shape(hr_shape)
        if tuple(g.shape[1:]) != tuple(expected):
            raise RuntimeError(f"operator maps {hr_shape} to {expected}, the scan is {g.shape[1:]}")
        observed = torch.from_numpy(np.ascontiguousarray(g))[None].to(dev)
        dims = 2 if is_2d else 3
        net = SkipNet(
            dims, config.input_channels, volume.channels, config.width, config.depth, config.skip
        ).to(dev)
        z = torch.rand((1, config.input_channels) + hr_shape, device=dev) * 0.1
        opt = torch.optim.Adam(net.parameters(), lr=config.lr)
        curve: list[tuple[int, float, float]] = []
        avg: torch.Tensor | None = None
        best, best_it, smooth = math.inf, 0, None
        stop_reason, it = "budget", 0
        start = time.perf_counter()
        while True:
            elapsed = time.perf_counter() - start
            frac = config.budget.fraction(it, elapsed)
            if frac >= 1.0 and it > 0:
                break
            zin = z + config.reg_noise_std * torch.randn_like(z) if config.reg_noise_std > 0 else z
            out = net(zin)
            loss = torch.mean((op(out) - observed) ** 2)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            it += 1
            value = float(loss.detach())
            with torch.no_grad():
                # exponential average of the outputs, with the warm-up of TensorFlow's
                # ExponentialMovingAverage (decay (1 + t) / (10 + t) early) so that short runs
                # are not dominated by the first, unfitted outputs
                decay = min(config.ema, (1 + it) / (10 + it))
                o = out.detach()
                avg = o if avg is None or config.ema == 0 else decay * avg + (1 - decay) * o
            smooth = value if smooth is None else 0.9 * smooth + 0.1 * value
            if it % 10 == 0 or it == 1:
                curve.append((it, time.perf_counter() - start, value))
                report(frac, f"DIP: step {it}, consistency RMS {math.sqrt(value) * span:.4g}")
            if smooth < best * (1 - config.tol):
                best, best_it = smooth, it
            elif it - best_it >= config.patience:
                stop_reason = "plateau"
                break
            if config.noise_std is not None and math.sqrt(smooth) * span <= config.noise_std:
                stop_reason = "discrepancy"
                break
        if not curve or curve[-1][0] != it:
            curve.append((it, time.perf_counter() - start, value))
        assert avg is not None  # the loop runs at least once
        result = avg[0].cpu().numpy()
        if is_2d:
            result = result[..., None]
        out_data = result * span + lo
    report(1.0, "done")
    info = {
        "method": "dip",
        "reference": "Deep Image Prior (Ulyanov, Vedaldi & Lempitsky, CVPR 2018)",
        **op_info,
        "iterations": it,
        "stop_reason": stop_reason,
        "curve": [[i, round(t, 2), float(f"{v:.6g}")] for i, t, v in curve],
        "final_consistency_rms": math.sqrt(curve[-1][2]) * span if curve else None,
        "network": {
            "dims": dims,
            "width": config.width,
            "depth": config.depth,
            "skip": config.skip,
        },
        "seconds": round(time.perf_counter() - t0, 2),
    }
    return volume.with_data(out_data.astype(np.float32, copy=False), target.affine.copy()), info
