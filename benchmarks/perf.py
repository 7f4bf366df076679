"""Every performance figure of medsr in one JSON, each a ratio or a figure measured in this run.

Issue 13. Figures (FLOPs counted by ``torch.utils.flop_counter``: 2 per multiply-add):

* ``peak``: a 3x3 64->64 convolution in channels-last layout (2D, and 3x3x3 32->32 in 3D) under
  ``torch.inference_mode``: the FLOP/s this machine reaches on the networks' main operation;
* ``inference_2d``: ``medsr upscale --weights`` of a 1024x1024 RGB image with EDSR-baseline x2
  (Lim et al. 2017; review section 3.4.5; random weights: speed does not depend on them), time
  beyond a ``--method nearest`` run of the same file, as FLOP/s, fraction of the 2D peak and
  speed-up over plain eager PyTorch (``eval()`` + ``no_grad()``, NCHW float32) on the whole image;
* ``inference_3d``: a 3D EDSR (8 blocks x 32) on a 48^3 volume through
  :class:`medsr.infer.predictor.Predictor` against eager: voxels/s and fraction of the 3D peak;
* ``memory``: ``benchmarks/upscale_memory.py`` (3D x4 of 512x512xN int16) for two N: the peak
  anonymous memory must not grow by more than the output array (and the input read as float32);
  with the output memory-mapped it must stay flat;
* ``training``: EDSR-baseline x2, batch 16, 48x48 LR patches (``configs/edsr_baseline.yaml``):
  FLOP/s (forward + backward = 3x forward) as a fraction of the 2D peak, and the time
  ``PatchDataset`` needs for one batch against the time one step consumes it.

Usage (repository root; several minutes on 2 cores)::

    .venv/bin/python benchmarks/perf.py [--size 1024] [--slices 120,480] [--skip-memory]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
MEDSR = [str(Path(sys.executable).with_name("medsr"))]


def best_time(fn: Callable[[], Any], reps: int = 3, warm: int = 1) -> float:
    """The fastest of ``reps`` timed calls after ``warm`` untimed ones (seconds)."""
    for _ in range(warm):
        fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def flops(model: torch.nn.Module, x: torch.Tensor) -> float:
    """FLOPs of one forward pass (2 per multiply-add)."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(x)
    return float(counter.get_total_flops())


def conv_peak(dims: int) -> float:
    """FLOP/s of a channels-last 3x3 64->64 conv2d (3x3x3 32->32 conv3d) on a large input."""
    if dims == 2:
        conv, x = torch.nn.Conv2d(64, 64, 3, padding=1), torch.rand(1, 64, 256, 256)
        layout = torch.channels_last
    else:
        conv, x = torch.nn.Conv3d(32, 32, 3, padding=1), torch.rand(1, 32, 48, 48, 48)
        layout = torch.channels_last_3d
    conv = conv.eval().to(memory_format=layout)
    x = x.contiguous(memory_format=layout)
    with torch.inference_mode():
        seconds = best_time(lambda: conv(x), reps=5)
    return flops(conv, x) / seconds


def _edsr(dims: int, **kwargs: Any) -> torch.nn.Module:
    from medsr.models import create_model
    from medsr.runtime import torch_seed

    with torch_seed(0):
        return create_model("edsr", scale=2, dims=dims, in_channels=3 if dims == 2 else 1, **kwargs)


def _cli(args: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(MEDSR + args, check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - t


def inference_2d(size: int, peak: float, tmp: Path) -> dict[str, Any]:
    """``medsr upscale --weights`` (EDSR-baseline x2) vs eager PyTorch on a size^2 RGB image."""
    from PIL import Image

    from medsr.models.io import save_weights

    model = _edsr(2, preset="baseline").eval()
    weights, _ = save_weights(
        model, tmp / "edsr", name="edsr", preset="baseline",
        normalisation={"kind": "minmax", "params": {"min": 0, "max": 255}},
    )
    rng = np.random.default_rng(0)
    image = np.kron(rng.integers(0, 256, (size // 8, size // 8, 3)), np.ones((8, 8, 1)))
    Image.fromarray(image.astype(np.uint8)).save(tmp / "img.png")
    common = ["upscale", str(tmp / "img.png"), "--factors", "2", "--overwrite"]
    t_nearest = _cli(common + ["-o", str(tmp / "nearest.png"), "--method", "nearest"])
    t_net = _cli(common + ["-o", str(tmp / "edsr.png"), "--weights", str(weights)])
    found = sorted(tmp.glob("edsr*.json"))
    sidecar = json.loads(found[0].read_text()) if found else {}
    x = torch.rand(1, 3, size, size)
    total = flops(model, x[..., :128, :128]) * (size / 128) ** 2  # convolutions: linear in pixels
    with torch.no_grad():
        model(x[..., :64, :64])
        t_eager = best_time(lambda: model(x), reps=1, warm=0)
    medsr_s = t_net - t_nearest
    return {
        "image": f"{size}x{size} RGB, x2",
        "network_gflop": round(total / 1e9, 1),
        "medsr_upscale_s": round(t_net, 2),
        "nearest_upscale_s": round(t_nearest, 2),
        "medsr_network_s": round(medsr_s, 2),
        "eager_s": round(t_eager, 2),
        "medsr_fraction_of_peak": round(total / medsr_s / peak, 3),
        "eager_fraction_of_peak": round(total / t_eager / peak, 3),
        "speedup_vs_eager": round(t_eager / medsr_s, 2),
        "execution": (sidecar.get("model") or {}).get("execution"),
        "sidecar_timings_s": sidecar.get("timings_s"),
        "targets": {"fraction_of_peak": 0.85, "speedup_vs_eager": 1.4},
    }


def inference_3d(peak: float, side: int = 48) -> dict[str, Any]:
    """A 3D EDSR through the Predictor (fast path) against eager PyTorch."""
    from medsr.infer.predictor import Predictor
    from medsr.normalise import Normaliser

    model = _edsr(3, blocks=8, channels=32).eval()
    eager_model = _edsr(3, blocks=8, channels=32).eval()
    x = np.random.default_rng(0).random((1, 1, side, side, side), dtype=np.float32)
    total = flops(eager_model, torch.from_numpy(x))
    run = Predictor.from_module(model).batch_fn(Normaliser(), 1)
    t_fast = best_time(lambda: run(x), reps=2)
    with torch.no_grad():
        xt = torch.from_numpy(x)
        t_eager = best_time(lambda: eager_model(xt), reps=2)
    return {
        "volume": f"{side}^3 -> {2 * side}^3 (x2), EDSR-3D 8 blocks x 32",
        "network_gflop": round(total / 1e9, 1),
        "medsr_s": round(t_fast, 3),
        "eager_s": round(t_eager, 3),
        "medsr_output_voxels_per_s": round((2 * side) ** 3 / t_fast),
        "medsr_fraction_of_peak": round(total / t_fast / peak, 3),
        "eager_fraction_of_peak": round(total / t_eager / peak, 3),
        "speedup_vs_eager": round(t_eager / t_fast, 2),
    }


def memory(slices: list[int]) -> dict[str, Any]:
    """Peak memory of benchmarks/upscale_memory.py at two volume sizes against the output's size.

    A third run repeats the larger size with the output memory-mapped (``--max-memory 256MB``, as
    for a scan larger than memory): its anonymous memory (RSS without mapped-file pages, which the
    kernel can drop) should not exceed the smaller in-memory run's by more than the input's growth.
    """
    rows = []
    for n, budget in [(n, "4GB") for n in slices] + [(slices[-1], "256MB")]:
        out = subprocess.run(
            [sys.executable, str(ROOT / "benchmarks" / "upscale_memory.py"), "--shape",
             f"512,512,{n}", "--max-memory", budget], capture_output=True, text=True, cwd=ROOT,
        ).stdout
        peak = re.search(r"peak RSS: ([0-9.]+) GiB", out)
        anon = re.search(r"during the job: [0-9.]+ GiB, ([0-9.]+) GiB above its start", out)
        size = re.search(r"\(([0-9.]+) GiB as float32\)", out)
        buffer = re.search(r"output buffer: (.*?);", out)
        rows.append({
            "shape": [512, 512, n],
            "max_memory": budget,
            "peak_rss_gib": float(peak.group(1)) if peak else None,
            "anon_growth_gib": float(anon.group(1)) if anon else None,
            "output_float32_gib": float(size.group(1)) if size else None,
            "output_buffer": buffer.group(1) if buffer else None,
        })
    result: dict[str, Any] = {"runs": rows}
    if len(rows) == 3 and all(r["anon_growth_gib"] is not None for r in rows):
        small, large, mapped = rows
        growth = large["anon_growth_gib"] - small["anon_growth_gib"]
        out_growth = large["output_float32_gib"] - small["output_float32_gib"]
        # the input is read whole as float32: a quarter of the output's growth at x4 along z
        result.update(
            anon_growth_gib=round(growth, 2),
            output_growth_gib=round(out_growth, 2),
            flat=bool(growth <= 1.25 * out_growth + 0.1),
            memmap_anon_growth_gib=mapped["anon_growth_gib"],
            memmap_flat=bool(
                mapped["anon_growth_gib"] <= small["anon_growth_gib"] + 0.25 * out_growth + 0.1
            ),
        )
    return result


def training(peak: float, steps: int = 4) -> dict[str, Any]:
    """EDSR-baseline x2 training step vs the data loader's batch time."""
    from medsr.train.builders import build_datamodule
    from medsr.train.config import load_config

    cfg = load_config(ROOT / "configs" / "edsr_baseline.yaml")
    dm, _, _ = build_datamodule(cfg)
    data = dm.train_set
    batch = cfg.data.batch_size

    def load(epoch: int) -> dict[str, torch.Tensor]:
        items = [data[(epoch, i)] for i in range(batch)]
        return {k: torch.stack([it[k] for it in items]) for k in items[0]}

    t_data = best_time(lambda: load(1), reps=3)
    sample = load(0)
    model = _edsr(2, preset="baseline").train().to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    lr = sample["lr"].contiguous(memory_format=torch.channels_last)
    hr = sample["hr"].contiguous(memory_format=torch.channels_last)

    def step() -> None:
        loss = torch.nn.functional.l1_loss(model(lr), hr)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    t_step = best_time(step, reps=steps, warm=2)
    total = 3 * flops(model, lr)
    workers = max(1, cfg.data.num_workers)
    return {
        "batch": f"{batch} x {tuple(lr.shape[1:])} LR -> {tuple(hr.shape[1:])} HR",
        "step_s": round(t_step, 3),
        "train_gflop_per_step": round(total / 1e9, 1),
        "fraction_of_peak": round(total / t_step / peak, 3),
        "data_batch_s": round(t_data, 3),
        "data_workers": cfg.data.num_workers,
        "data_speed_over_step": round(t_step / (t_data / workers), 2),
        "targets": {"fraction_of_peak": 0.6, "data_speed_over_step": 2.0},
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1024, help="side of the 2D RGB image")
    parser.add_argument("--slices", default="120,480", help="two slice counts for the memory")
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    report: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(), "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(), "load_average_start": os.getloadavg(),
        },
    }
    t0 = time.perf_counter()
    if not args.skip_memory:  # first: a child's peak RSS (ru_maxrss) inherits its parent's at fork
        report["memory"] = memory([int(v) for v in args.slices.split(",")])
    peak2, peak3 = conv_peak(2), conv_peak(3)
    report["peak"] = {
        "conv2d_gflops": round(peak2 / 1e9, 1), "conv3d_gflops": round(peak3 / 1e9, 1)
    }
    with tempfile.TemporaryDirectory() as tmp:
        report["inference_2d"] = inference_2d(args.size, peak2, Path(tmp))
    report["inference_3d"] = inference_3d(peak3)
    report["training"] = training(peak2)
    again = conv_peak(2)
    report["peak"]["conv2d_gflops_at_end"] = round(again / 1e9, 1)
    report["machine"]["load_average_end"] = os.getloadavg()
    report["seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
