"""The fast inference path (channels-last, fused sub-pixel tail, frozen oneDNN graph) equals
plain eager PyTorch.

Issue 13: outputs of the fast path equal the eager path (``eval()``, NCHW float32) within 1e-4,
for 2D and 3D networks of the review, with self-ensemble too, on a second input shape as well
(the frozen graph is traced on the first); a network whose trace would be wrong for other shapes
keeps the eager path; the fused tail computes the same function as shuffle + conv.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from medsr.infer.fastpath import FastForward
from medsr.infer.predictor import Predictor
from medsr.models import create_model
from medsr.models.ensemble import SelfEnsemble
from medsr.normalise import Normaliser
from medsr.runtime import torch_seed


def _pair(name: str, dims: int, scale, channels: int, ensemble: bool = False):
    with torch_seed(0):
        net = create_model(name, scale=scale, dims=dims, in_channels=channels, preset="tiny")
    with torch_seed(0):
        twin = create_model(name, scale=scale, dims=dims, in_channels=channels, preset="tiny")
    twin.load_state_dict(net.state_dict())
    fast = Predictor.from_module(net, ensemble=ensemble)
    eager = Predictor.from_module(twin, ensemble=ensemble, fast=False)
    return fast, eager


@pytest.mark.parametrize(
    ("name", "dims", "scale", "shape", "ensemble"),
    [
        ("edsr", 2, 2, (2, 3, 136, 120), False),  # RGB, 2 images: 97,920 values >= 2**16
        ("edsr", 3, 2, (1, 1, 44, 40, 40), False),  # 3D sub-pixel tail, fused and frozen
        ("edsr", 2, 4, (1, 1, 264, 256), True),  # x4: two stages, the last fused; ensemble
        ("srcnn3d", 3, (1, 1, 2), (1, 1, 44, 40, 40), False),
        ("fsrcnn", 2, 3, (1, 1, 264, 256), True),  # with the x8 self-ensemble
    ],
)
def test_fast_path_equals_eager(name, dims, scale, shape, ensemble) -> None:
    fast, eager = _pair(name, dims, scale, shape[1], ensemble)
    layout = ["channels-last"] if dims == 2 else []  # 3D keeps NCDHW
    fused = ["fused sub-pixel tail"] if name == "edsr" else []  # a sub-pixel stage, then a conv
    assert fast.info["execution"] == ", ".join(layout + fused) or "eager"
    assert eager.info["execution"] == "eager"
    rng = np.random.default_rng(0)
    norm = Normaliser("minmax", {"min": 0.0, "max": 255.0})
    for crop in (0, 4):  # the first call traces and checks the graph, the second reuses it
        size = shape[:2] + tuple(n - crop for n in shape[2:])  # on another shape
        batch = (rng.random(size) * 255).astype(np.float32)
        a = fast.batch_fn(norm, shape[1])(batch)
        b = eager.batch_fn(norm, shape[1])(batch)
        assert a.shape == b.shape and a.flags.c_contiguous
        assert a.shape[2:] == tuple(n * f for n, f in zip(size[2:], fast.scale))
        np.testing.assert_allclose(a / 255, b / 255, atol=1e-4, rtol=0)
        # what the sidecar records: the frozen graph is used (no silent fall-back to eager)
        assert fast.info["execution"] == ", ".join(layout + fused + ["frozen oneDNN graph"])
    # without the frozen graph (jit=False) and without the fused tail: equal too
    with torch_seed(0):
        net = create_model(name, scale=scale, dims=dims, in_channels=shape[1], preset="tiny")
    if ensemble:
        net = SelfEnsemble(net.eval(), dims)
    x = torch.from_numpy(batch / 255)
    for fuse in (True, False):
        plain = FastForward(net, dims, torch.device("cpu"), jit=False, fuse=fuse)
        np.testing.assert_allclose(plain(x).numpy(), norm.forward(b), atol=1e-4, rtol=0)
        assert plain.mode == ", ".join(layout + (fused if fuse else [])) or "eager"


@pytest.mark.parametrize(
    ("factors", "kernel", "bias", "shape"),
    [
        ((2, 2), 3, True, (2, 12, 9, 11)),  # EDSR x2: 3 output channels from 3 x 4 maps
        ((3, 3), 3, False, (1, 18, 7, 8)),  # x3
        ((2, 2), 5, True, (1, 8, 6, 7)),  # a 5x5 tail: 3 low-resolution taps per phase
        ((2, 2, 2), 3, True, (1, 16, 5, 6, 7)),  # 3D x2
        ((1, 1, 4), 3, True, (2, 8, 4, 5, 6)),  # anisotropic 3D: x4 along z only
    ],
)
def test_subpixel_tail_is_shuffle_then_conv(factors, kernel, bias, shape) -> None:
    from medsr.infer.fastpath import SubPixelTail
    from medsr.models.blocks.upsample import pixel_shuffle_nd

    gen = torch.Generator().manual_seed(0)
    prod = int(np.prod(factors))
    conv_cls = torch.nn.Conv2d if len(factors) == 2 else torch.nn.Conv3d
    conv = conv_cls(shape[1] // prod, 3, kernel, padding=kernel // 2, bias=bias)
    with torch.no_grad():
        for p in conv.parameters():
            p.copy_(torch.randn(p.shape, generator=gen))
    u = torch.randn(shape, generator=gen)
    tail = SubPixelTail(conv, factors)
    with torch.no_grad():
        expected = conv(pixel_shuffle_nd(u, factors))
        torch.testing.assert_close(tail(u), expected, atol=1e-4, rtol=1e-5)
        # channels-last input (what the 2D fast path feeds it)
        if len(factors) == 2:
            cl = u.contiguous(memory_format=torch.channels_last)
            torch.testing.assert_close(tail(cl), expected, atol=1e-4, rtol=1e-5)
        # the fused kernel follows the convolution's weights when they change
        conv.weight.mul_(-2.0)
        torch.testing.assert_close(
            tail(u), conv(pixel_shuffle_nd(u, factors)), atol=1e-4, rtol=1e-5
        )


def test_fuse_subpixel_tail_leaves_the_network_and_other_networks_alone() -> None:
    from medsr.infer.fastpath import SubPixelTail, fuse_subpixel_tail
    from medsr.models.blocks.upsample import PixelShuffleND

    with torch_seed(0):
        net = create_model("edsr", scale=2, dims=2, in_channels=3, preset="tiny").eval()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    fused = fuse_subpixel_tail(net)
    assert isinstance(fused.tail, SubPixelTail) and not isinstance(net.tail, SubPixelTail)
    assert isinstance(net.upsample.body[-1], PixelShuffleND)  # the original is untouched
    assert not any(isinstance(m, PixelShuffleND) for m in fused.upsample.body)
    assert fused.tail.conv is net.tail  # parameters shared, not copied
    assert net.state_dict().keys() == before.keys()
    x = torch.rand(1, 3, 20, 18)
    with torch.no_grad():
        torch.testing.assert_close(fused(x), net(x), atol=1e-5, rtol=1e-5)
    # SRResNet: a PReLU after the shuffle; FSRCNN: no sub-pixel stage: returned as they are
    for name in ("srresnet", "fsrcnn"):
        with torch_seed(0):
            other = create_model(name, scale=2, dims=2, in_channels=1, preset="tiny").eval()
        assert fuse_subpixel_tail(other) is other


class _ShapeBaked(torch.nn.Module):
    """A network whose trace bakes in the input width (``x.shape[-1]`` becomes a constant)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 1, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x) * float(x.shape[-1])


def test_a_trace_that_bakes_a_shape_keeps_the_eager_path() -> None:
    net = _ShapeBaked().eval()
    fast = FastForward(net, 2, torch.device("cpu"), jit=True, jit_min_elements=1)
    x = torch.rand(1, 1, 40, 50)
    with torch.no_grad():
        expected = net(x)
    torch.testing.assert_close(fast(x), expected, atol=1e-5, rtol=1e-5)
    assert fast.compiled is None and fast.mode == "channels-last"
