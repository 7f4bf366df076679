"""The fast inference path (channels-last, frozen oneDNN graph) equals plain eager PyTorch.

Issue 13: outputs of the fast path equal the eager path (``eval()``, NCHW float32) within 1e-4,
for 2D and 3D networks of the review, with self-ensemble too, and so does the opt-in frozen graph;
a network whose trace would be wrong for other shapes keeps the eager path.
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
        ("srcnn3d", 3, (1, 1, 2), (1, 1, 44, 40, 40), False),
        ("fsrcnn", 2, 3, (1, 1, 264, 256), True),  # with the x8 self-ensemble
    ],
)
def test_fast_path_equals_eager(name, dims, scale, shape, ensemble) -> None:
    fast, eager = _pair(name, dims, scale, shape[1], ensemble)
    layout = "channels-last" if dims == 2 else "eager"  # 3D keeps NCDHW (memory, no gain)
    assert fast.info["execution"] == layout and eager.info["execution"] == "eager"
    rng = np.random.default_rng(0)
    norm = Normaliser("minmax", {"min": 0.0, "max": 255.0})
    for _ in range(2):  # first call traces and checks the graph, the second reuses it
        batch = (rng.random(shape) * 255).astype(np.float32)
        a = fast.batch_fn(norm, shape[1])(batch)
        b = eager.batch_fn(norm, shape[1])(batch)
        assert a.shape == b.shape and a.flags.c_contiguous
        np.testing.assert_allclose(a / 255, b / 255, atol=1e-4, rtol=0)
    assert fast.info["execution"] == layout  # what the sidecar records
    # the opt-in frozen oneDNN graph: used (no silent fall-back to eager) and equal too
    with torch_seed(0):
        net = create_model(name, scale=scale, dims=dims, in_channels=shape[1], preset="tiny")
    if ensemble:
        net = SelfEnsemble(net.eval(), dims)
    frozen = FastForward(net, dims, torch.device("cpu"), jit=True)
    x = torch.from_numpy(batch / 255)
    np.testing.assert_allclose(frozen(x).numpy(), norm.forward(b), atol=1e-4, rtol=0)
    assert frozen.mode == ("channels-last, " if dims == 2 else "") + "frozen oneDNN graph"


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
