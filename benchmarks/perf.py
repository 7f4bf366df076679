"""Every performance figure of medsr in one JSON, each a ratio or a figure measured in this run.

Issue 13. Figures (FLOPs counted by ``torch.utils.flop_counter``: 2 per multiply-add):

* ``peak``: a 3x3 64->64 convolution in channels-last layout (2D, and 3x3x3 32->32 in 3D) under
  ``torch.inference_mode``: the FLOP/s this machine reaches on the networks' main operation. The
  cores are shared, so the peak is measured right before and after every timed run (``peak, a,
  peak, b, peak, ...``, :func:`interleaved`) and each fraction of peak is taken against the peaks
  around its own run, with the spread over runs and neighbouring peaks (``fraction_range``) and
  the same ratio in FLOP per CPU second (``fraction_of_peak_cpu``: what other jobs take of the
  cores cancels out);
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

    .venv/bin/python benchmarks/perf.py [--size 1024] [--rounds-2d 1] [--slices 120,480]
        [--skip-memory | --memory-only [--side 512]]
    .venv/bin/python benchmarks/perf.py --ab 3 [--ab-size 48] [--ab-rounds 3] [--ab-variants a,b]
    .venv/bin/python benchmarks/perf.py --profile-3d  # torch.profiler table, eager EDSR-3D
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

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


def cpu_seconds() -> float:
    """CPU seconds (user + system) used so far by this process and its finished children."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def timed(fn: Callable[[], Any]) -> tuple[float, float]:
    """Wall and CPU seconds of one call of ``fn``."""
    t, c = time.perf_counter(), cpu_seconds()
    fn()
    return time.perf_counter() - t, cpu_seconds() - c


def flops(model: torch.nn.Module, x: torch.Tensor) -> float:
    """FLOPs of one forward pass (2 per multiply-add)."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(x)
    return float(counter.get_total_flops())


class Peak:
    """The reference: a channels-last 3x3 64->64 conv2d (3x3x3 32->32 conv3d) under inference
    mode, the networks' main operation. Called right before and after every measurement, so that
    a fraction of peak compares a measurement with the machine as it was *then* (the 2 cores are
    shared: the peak moved 27.9 -> 66.4 GFLOP/s within one earlier run)."""

    def __init__(self, dims: int) -> None:
        if dims == 2:
            conv, x = torch.nn.Conv2d(64, 64, 3, padding=1), torch.rand(1, 64, 256, 256)
            layout = torch.channels_last
        else:
            conv, x = torch.nn.Conv3d(32, 32, 3, padding=1), torch.rand(1, 32, 48, 48, 48)
            layout = torch.channels_last_3d
        self.conv = conv.eval().to(memory_format=layout)
        self.x = x.contiguous(memory_format=layout)
        self.flop = flops(self.conv, self.x)
        self.history: list[tuple[float, float]] = []  # (FLOP/s, FLOP per CPU second)

    def __call__(self, reps: int = 3) -> tuple[float, float]:
        """Best FLOP/s of ``reps`` calls, and FLOP per CPU second of that call."""
        with torch.inference_mode():
            self.conv(self.x)
            runs = [timed(lambda: self.conv(self.x)) for _ in range(reps)]
        wall, cpu = min(runs)
        self.history.append((self.flop / wall, self.flop / max(cpu, 1e-9)))
        return self.history[-1]

    def summary(self) -> dict[str, Any]:
        rates = [r[0] / 1e9 for r in self.history]
        return {"gflops_max": round(max(rates), 1), "gflops_min": round(min(rates), 1),
                "probes": len(rates)}


def interleaved(
    items: dict[str, Callable[[], Any]], peak: Peak, rounds: int
) -> dict[str, list[dict[str, float]]]:
    """Run ``peak, a, peak, b, peak, ...`` for ``rounds`` rounds: each run of each item with its
    wall and CPU seconds and the peak measured right before and right after it."""
    runs: dict[str, list[dict[str, float]]] = {k: [] for k in items}
    before = peak()
    for _ in range(rounds):
        for name, fn in items.items():
            wall, cpu = timed(fn)
            after = peak()
            runs[name].append({"wall": wall, "cpu": cpu, "before": before[0], "after": after[0],
                               "cpu_peak": max(before[1], after[1])})
            before = after
    return runs


def fraction(runs: list[dict[str, float]], work: float, minus: dict[str, float] | None = None
             ) -> dict[str, Any]:
    """``work`` FLOPs over the fastest run's time, as a fraction of the peak around that run.

    ``fraction_of_peak``: against the mean of the peaks right before and after it;
    ``fraction_range``: the lowest and highest fraction over all runs and both neighbouring peaks
    (the spread the load causes); ``fraction_of_peak_cpu``: FLOP per CPU second over the peak's
    FLOP per CPU second (insensitive to how much of the cores other jobs took). ``minus``: a run
    whose times are subtracted first (the ``--method nearest`` part of a CLI run).
    """
    sub = minus or {"wall": 0.0, "cpu": 0.0}
    net = [dict(r, wall=r["wall"] - sub["wall"], cpu=r["cpu"] - sub["cpu"]) for r in runs]
    best = min(net, key=lambda r: r["wall"])
    spread = [work / r["wall"] / r[side] for r in net for side in ("before", "after")]
    return {
        "seconds": round(best["wall"], 3),
        "cpu_seconds": round(best["cpu"], 2),
        "gflops": round(work / best["wall"] / 1e9, 1),
        "peak_gflops_around": [round(best["before"] / 1e9, 1), round(best["after"] / 1e9, 1)],
        "fraction_of_peak": round(work / best["wall"] / ((best["before"] + best["after"]) / 2), 3),
        "fraction_range": [round(min(spread), 3), round(max(spread), 3)],
        "fraction_of_peak_cpu": round(work / best["cpu"] / best["cpu_peak"], 3),
        "runs_s": [round(r["wall"], 2) for r in net],
    }


def _edsr(dims: int, **kwargs: Any) -> torch.nn.Module:
    from medsr.models import create_model
    from medsr.runtime import torch_seed

    with torch_seed(0):
        return create_model("edsr", scale=2, dims=dims, in_channels=3 if dims == 2 else 1, **kwargs)


def _cli(args: list[str]) -> None:
    subprocess.run(MEDSR + args, check=True, capture_output=True, cwd=ROOT)


def inference_2d(size: int, peak: Peak, tmp: Path, rounds: int = 1) -> dict[str, Any]:
    """``medsr upscale --weights`` (EDSR-baseline x2) vs eager PyTorch on a size^2 RGB image.

    Interleaved with the peak: ``peak, nearest CLI, peak, medsr CLI, peak, eager, peak`` per round.
    """
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
    x = torch.rand(1, 3, size, size)
    total = flops(model, x[..., :128, :128]) * (size / 128) ** 2  # convolutions: linear in pixels
    with torch.no_grad():
        model(x[..., :64, :64])

    def eager() -> None:
        with torch.no_grad():
            model(x)

    runs = interleaved({
        "nearest": lambda: _cli(common + ["-o", str(tmp / "nearest.png"), "--method", "nearest"]),
        "medsr": lambda: _cli(common + ["-o", str(tmp / "edsr.png"), "--weights", str(weights)]),
        "eager": eager,
    }, peak, rounds)
    found = sorted(tmp.glob("edsr*.json"))
    sidecar = json.loads(found[0].read_text()) if found else {}
    nearest = min(runs["nearest"], key=lambda r: r["wall"])
    medsr = fraction(runs["medsr"], total, minus=nearest)
    plain = fraction(runs["eager"], total)
    return {
        "image": f"{size}x{size} RGB, x2",
        "network_gflop": round(total / 1e9, 1),
        "nearest_upscale_s": round(nearest["wall"], 2),
        "medsr_upscale_s": round(min(r["wall"] for r in runs["medsr"]), 2),
        "medsr_beyond_nearest": medsr,
        "eager": plain,
        "speedup_vs_eager": round(plain["seconds"] / medsr["seconds"], 2),
        "speedup_vs_eager_cpu": round(plain["cpu_seconds"] / medsr["cpu_seconds"], 2),
        "speedup_vs_eager_peak_normalised": round(
            medsr["fraction_of_peak"] / plain["fraction_of_peak"], 2
        ),
        "execution": (sidecar.get("model") or {}).get("execution"),
        "sidecar_timings_s": sidecar.get("timings_s"),
        "targets": {"fraction_of_peak": 0.85, "speedup_vs_eager": 1.4},
    }


def inference_3d(peak: Peak, side: int = 48, rounds: int = 3) -> dict[str, Any]:
    """A 3D EDSR through the Predictor (fast path) against eager PyTorch, interleaved with the
    conv3d peak; the Predictor's first call (tracing and freezing the graph) is timed apart."""
    from medsr.infer.predictor import Predictor
    from medsr.normalise import Normaliser

    model = _edsr(3, blocks=8, channels=32).eval()
    eager_model = _edsr(3, blocks=8, channels=32).eval()
    x = np.random.default_rng(0).random((1, 1, side, side, side), dtype=np.float32)
    xt = torch.from_numpy(x)
    total = flops(eager_model, xt)
    predictor = Predictor.from_module(model)
    run = predictor.batch_fn(Normaliser(), 1)
    first_s, _ = timed(lambda: run(x))

    def eager() -> None:
        with torch.no_grad():
            eager_model(xt)

    eager()
    runs = interleaved({"medsr": lambda: run(x), "eager": eager}, peak, rounds)
    fast, plain = fraction(runs["medsr"], total), fraction(runs["eager"], total)
    return {
        "volume": f"{side}^3 -> {2 * side}^3 (x2), EDSR-3D 8 blocks x 32",
        "network_gflop": round(total / 1e9, 1),
        "execution": predictor.info["execution"],
        "medsr_first_call_s": round(first_s, 2),
        "medsr": fast,
        "eager": plain,
        "medsr_output_voxels_per_s": round((2 * side) ** 3 / fast["seconds"]),
        "speedup_vs_eager": round(plain["seconds"] / fast["seconds"], 2),
        "speedup_vs_eager_cpu": round(plain["cpu_seconds"] / fast["cpu_seconds"], 2),
        "speedup_vs_eager_peak_normalised": round(
            fast["fraction_of_peak"] / plain["fraction_of_peak"], 2
        ),
    }


def memory(slices: list[int], side: int = 512) -> dict[str, Any]:
    """Peak memory of benchmarks/upscale_memory.py at two volume sizes against the output's size.

    Both sizes run twice: in memory (``--max-memory 4GB``) and with the output memory-mapped
    (``--max-memory 32MB``, as for a scan larger than memory). In memory the anonymous memory (RSS
    without mapped-file pages, which the kernel can drop) may grow by the output array plus the
    input read as float32; memory-mapped it may grow only by the input's growth.
    """
    rows = []
    for budget in ("4GB", "32MB"):
        for n in slices:
            t0 = cpu_seconds()
            out = subprocess.run(
                [sys.executable, str(ROOT / "benchmarks" / "upscale_memory.py"), "--shape",
                 f"{side},{side},{n}", "--max-memory", budget], check=False, capture_output=True,
                text=True, cwd=ROOT,
            ).stdout
            peak = re.search(r"peak RSS: ([0-9.]+) GiB", out)
            anon = re.search(r"during the job: [0-9.]+ GiB, ([0-9.]+) GiB above its start", out)
            size = re.search(r"\(([0-9.]+) GiB as float32\)", out)
            buffer = re.search(r"output buffer: (.*?);", out)
            rows.append({
                "shape": [side, side, n],
                "max_memory": budget,
                "peak_rss_gib": float(peak.group(1)) if peak else None,
                "anon_growth_gib": float(anon.group(1)) if anon else None,
                "output_float32_gib": float(size.group(1)) if size else None,
                "output_buffer": buffer.group(1) if buffer else None,
                "cpu_s": round(cpu_seconds() - t0, 1),
                "load_average": os.getloadavg(),
            })
    result: dict[str, Any] = {"runs": rows}
    if len(rows) == 4 and all(r["anon_growth_gib"] is not None for r in rows):
        small, large, mapped_small, mapped_large = rows
        growth = large["anon_growth_gib"] - small["anon_growth_gib"]
        out_growth = large["output_float32_gib"] - small["output_float32_gib"]
        mapped_growth = mapped_large["anon_growth_gib"] - mapped_small["anon_growth_gib"]
        # the input is read whole as float32: a quarter of the output's growth at x4 along z
        result.update(
            anon_growth_gib=round(growth, 2),
            output_growth_gib=round(out_growth, 2),
            flat=bool(growth <= 1.25 * out_growth + 0.1),
            memmap_anon_growth_gib=round(mapped_growth, 2),
            memmap_flat=bool(mapped_growth <= 0.25 * out_growth + 0.1),
        )
    return result


def training(peak: Peak, steps: int = 4) -> dict[str, Any]:
    """EDSR-baseline x2 training step (interleaved with the peak) vs the data loader's batch."""
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

    for _ in range(2):
        step()
    total = 3 * flops(model, lr)
    result = fraction(interleaved({"step": step}, peak, steps)["step"], total)
    workers = max(1, cfg.data.num_workers)
    return {
        "batch": f"{batch} x {tuple(lr.shape[1:])} LR -> {tuple(hr.shape[1:])} HR",
        "train_gflop_per_step": round(total / 1e9, 1),
        "step": result,
        "data_batch_s": round(t_data, 3),
        "data_workers": cfg.data.num_workers,
        "data_speed_over_step": round(result["seconds"] / (t_data / workers), 2),
        "targets": {"fraction_of_peak": 0.6, "data_speed_over_step": 2.0},
    }


def ab(dims: int, size: int, rounds: int, only: list[str] | None = None) -> dict[str, Any]:
    """Interleaved A/B of the inference variants of :mod:`medsr.infer.fastpath` on EDSR x2
    (2D: baseline, RGB, ``size``^2; 3D: 8 blocks x 32, ``size``^3): each variant's fastest of
    ``rounds`` rounds (``peak, a, peak, b, ...``) and its largest difference from eager;
    ``only``: the variants to run (eager always runs)."""
    from medsr.infer.fastpath import FastForward, fuse_subpixel_tail
    from medsr.models.onnx import export_onnx, open_session

    def net() -> torch.nn.Module:
        model = _edsr(2, preset="baseline") if dims == 2 else _edsr(3, blocks=8, channels=32)
        return model.eval()

    x = torch.rand((1, 3 if dims == 2 else 1) + (size,) * dims)
    cl = torch.channels_last if dims == 2 else torch.channels_last_3d
    reference = net()

    def eager() -> torch.Tensor:
        with torch.no_grad():
            return reference(x)

    def layout(model: torch.nn.Module) -> Callable[[], torch.Tensor]:
        model = model.to(memory_format=cl)

        def call() -> torch.Tensor:
            with torch.inference_mode():
                return model(x.contiguous(memory_format=cl)).contiguous()

        return call

    def fast(**options: bool) -> Callable[[], torch.Tensor]:
        forward = FastForward(net(), dims, torch.device("cpu"), **options)
        return lambda: forward(x)

    def onnx() -> Callable[[], torch.Tensor]:
        with tempfile.TemporaryDirectory() as tmp:
            session = open_session(export_onnx(net(), Path(tmp) / "m.onnx", (1,) + x.shape[1:2]
                                               + (16,) * dims))
        return lambda: torch.from_numpy(session.run(None, {"lr": x.numpy()})[0])

    makers: dict[str, Callable[[], Callable[[], torch.Tensor]]] = {
        "eager": lambda: eager,
        "inference_mode": lambda: fast(jit=False, fuse=False),
        "fused_tail": lambda: fast(jit=False),
        "fused_tail_channels_last": lambda: layout(fuse_subpixel_tail(net())),
        "frozen": lambda: fast(fuse=False),
        "fused_tail_frozen (default)": lambda: fast(),
        "onnxruntime": onnx,
    }
    expected = eager()
    variants, result = {}, {}
    for name, make in makers.items():
        if only and name.split(" ")[0] not in only and name != "eager":
            continue
        variants[name] = make()
        t = time.perf_counter()
        y = variants[name]()  # the frozen graph is traced here
        first = time.perf_counter() - t
        result[name] = {"first_call_s": round(first, 2),
                        "max_abs_diff": float((y - expected).abs().max())}
    runs = interleaved(variants, Peak(dims), rounds)
    for name, rows in runs.items():
        best = min(rows, key=lambda r: r["wall"])
        result[name].update(seconds=round(best["wall"], 2), cpu_seconds=round(best["cpu"], 2),
                            runs_s=[round(r["wall"], 2) for r in rows])
    base = result["eager"]["seconds"]
    for row in result.values():
        row["speedup_vs_eager"] = round(base / row["seconds"], 2)
    return result


def profile_3d(side: int = 48) -> str:
    """``torch.profiler`` table of one eager call of EDSR-3D (8 x 32) x2 on ``side``^3 (after a
    warm call, inference mode): where 3D inference spends its time, per operator and shape."""
    from torch.profiler import ProfilerActivity, profile

    model = _edsr(3, blocks=8, channels=32).eval()
    x = torch.rand(1, 1, side, side, side)
    with torch.inference_mode():
        model(x)
        with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
            model(x)
    table = prof.key_averages(group_by_input_shape=True)
    return str(table.table(sort_by="self_cpu_time_total", row_limit=12))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1024, help="side of the 2D RGB image")
    parser.add_argument("--rounds-2d", type=int, default=1, help="interleaved rounds, 2D")
    parser.add_argument("--slices", default="120,480", help="two slice counts for the memory")
    parser.add_argument("--side", type=int, default=512, help="in-plane side for the memory")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--memory-only", action="store_true", help="only the memory section")
    parser.add_argument("--ab", type=int, choices=(2, 3), help="only the A/B of the variants")
    parser.add_argument("--ab-size", type=int, default=48, help="A/B input side")
    parser.add_argument("--ab-rounds", type=int, default=3)
    parser.add_argument("--ab-variants", help="comma-separated variants (default: all)")
    parser.add_argument("--profile-3d", action="store_true", help="only the 3D profile")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    if args.profile_3d:
        print(profile_3d())
        return
    if args.ab:
        report = {"load_average_start": os.getloadavg(),
                  "ab": ab(args.ab, args.ab_size, args.ab_rounds,
                           args.ab_variants.split(",") if args.ab_variants else None),
                  "load_average_end": os.getloadavg()}
        print(json.dumps(report, indent=2))
        return
    report: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(), "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(), "load_average_start": os.getloadavg(),
        },
    }
    t0 = time.perf_counter()
    if not args.skip_memory:  # first: a child's peak RSS (ru_maxrss) inherits its parent's at fork
        report["memory"] = memory([int(v) for v in args.slices.split(",")], args.side)
    if args.memory_only:
        report["machine"]["load_average_end"] = os.getloadavg()
        print(json.dumps(report, indent=2))
        return
    peak2, peak3 = Peak(2), Peak(3)
    with tempfile.TemporaryDirectory() as tmp:
        report["inference_2d"] = inference_2d(args.size, peak2, Path(tmp), args.rounds_2d)
    report["inference_3d"] = inference_3d(peak3)
    report["training"] = training(peak2)
    report["peak"] = {"conv2d": peak2.summary(), "conv3d": peak3.summary()}
    report["machine"]["load_average_end"] = os.getloadavg()
    report["seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
