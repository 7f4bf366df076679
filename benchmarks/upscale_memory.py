"""Peak memory of `medsr upscale` on a realistic CT-sized job (not a timed test).

A 512 x 512 x 120 int16 volume is up-scaled x4 along z with a 3D network (tiny preset, random
weights: memory does not depend on what the weights are) through the whole file path: read,
sliding-window inference into the preallocated output, data-consistency report, NIfTI write.
Prints the peak resident memory of the process (``getrusage``); the target is < 2.5 GiB, i.e. about
twice the 0.47 GiB float32 output plus the input and the network's window activations. Also the
peak *anonymous* memory (RSS without mapped-file pages, sampled every 20 ms), overall and by stage:
"reading" (read, target grid, normalisation, output allocation), "network (3D windows)" (inference,
finite check, data-consistency report), "writing".

Usage::

    python benchmarks/upscale_memory.py [--shape 512,512,120] [--factor 4] [--model espcn]
        [--tile 64] [--max-memory 4GB]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Self

import numpy as np


def _peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # kB on Linux


def _anon_gib() -> float:
    """Anonymous resident memory now (Linux): RSS without the pages of mapped files.

    The peak RSS counts the pages of a memory-mapped output that are in the page cache, which the
    kernel may drop at any time; the anonymous part is what cannot be given back.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 2**20
    return float("nan")


class _AnonPeak:
    """Samples :func:`_anon_gib` every 20 ms in a thread while the job runs; keeps the peak, overall
    and per stage of the job (``current``, set by :class:`_StagePeaks`)."""

    def __init__(self) -> None:
        self.peak = 0.0
        self.current = "reading"  # until the first stage: read, grid, normalisation, allocation
        self.by_stage: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> None:
        value = _anon_gib()
        self.peak = max(self.peak, value)
        self.by_stage[self.current] = max(self.by_stage.get(self.current, 0.0), value)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.sample()

    def __enter__(self) -> Self:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


class _StagePeaks:
    """A progress sink that records the peak RSS when each stage of the job begins (and tells
    ``anon`` which stage its samples belong to)."""

    def __init__(self, anon: _AnonPeak | None = None) -> None:
        self.peaks: dict[str, float] = {}
        self.anon = anon

    def stage(self, description: str, total: float | None) -> None:
        self.peaks[description] = _peak_gib()
        if self.anon is not None:
            self.anon.sample()  # the previous stage's last value
            self.anon.current = description

    def advance(self, amount: float = 1) -> None:
        pass

    def note(self, message: str) -> None:
        pass


def _phantom(shape: tuple[int, int, int]) -> np.ndarray:
    """A CT-like head phantom in HU (air, soft tissue, bone ring), int16, built slab by slab."""
    x = np.linspace(-1, 1, shape[0], dtype=np.float32)[:, None]
    y = np.linspace(-1, 1, shape[1], dtype=np.float32)[None, :]
    out = np.empty(shape, np.int16)
    for k in range(shape[2]):
        z = -1 + 2 * k / max(1, shape[2] - 1)
        r = np.sqrt((x / 0.8) ** 2 + (y / 0.9) ** 2 + (z / 1.2) ** 2)
        hu = np.where(r < 0.85, 40.0, -1000.0) + np.where((r >= 0.85) & (r < 0.95), 1200.0, 0.0)
        out[:, :, k] = hu.astype(np.int16)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", default="512,512,120")
    parser.add_argument("--factor", type=int, default=4)
    parser.add_argument("--model", default="espcn")
    parser.add_argument("--tile", default="64")
    parser.add_argument("--max-memory", default="4GB")
    args = parser.parse_args(argv)

    import nibabel as nib

    from medsr.infer.buffers import parse_bytes
    from medsr.infer.files import Job, upscale_file
    from medsr.infer.pipeline import UpscaleConfig
    from medsr.models import create_model
    from medsr.models.io import save_weights
    from medsr.runtime import torch_seed

    shape = tuple(int(v) for v in args.shape.split(","))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        affine = np.diag([0.5, 0.5, 2.0, 1.0])
        nib.save(nib.Nifti1Image(_phantom(shape), affine), str(folder / "ct.nii.gz"))
        with torch_seed(0):  # random weights (memory does not depend on them), reproducible
            model = create_model(
                args.model, scale=(1, 1, args.factor), dims=3, in_channels=1, preset="tiny"
            )
        weights, _ = save_weights(
            model,
            folder / "w",
            name=args.model,
            preset="tiny",
            normalisation={"kind": "minmax", "params": {"min": -1024, "max": 3071}},
        )
        del model
        baseline = _peak_gib()
        tile = [int(v) for v in args.tile.split(",")]
        job = Job(
            factors=f"1,1,{args.factor}",
            weights=weights,
            config=UpscaleConfig(
                tile=tile[0] if len(tile) == 1 else tile, max_memory=parse_bytes(args.max_memory)
            ),
        )
        t0 = time.perf_counter()
        anon_before = _anon_gib()
        with _AnonPeak() as anon:
            stages = _StagePeaks(anon)
            sidecar = upscale_file(
                folder / "ct.nii.gz", folder / "ct_sr.nii.gz", job, progress=stages
            )
        seconds = time.perf_counter() - t0
    out_shape = sidecar["geometry"]["output"]["shape"]
    out_gib = 4 * np.prod(out_shape) / 2**30
    peak = _peak_gib()
    print(
        f"input {shape} int16 -> output {tuple(out_shape)} {sidecar['dtype']} "
        f"({out_gib:.2f} GiB as float32), {args.model} tiny 3D x{args.factor}, "
        f"{sidecar['tiling']['windows']} windows of {sidecar['tiling']['tile']}"
    )
    print(
        f"output buffer: {sidecar['memory']['output_buffer']}; time {seconds:.1f} s "
        f"(upscale {sidecar['timings_s']['upscale']:.1f} s, consistency "
        f"{sidecar['timings_s']['consistency']:.1f} s, write {sidecar['timings_s']['write']:.1f} s)"
    )
    print("peak RSS when each stage began: " + ", ".join(
        f"{name} {value:.2f} GiB" for name, value in stages.peaks.items()))
    print(
        f"peak RSS before writing (read + inference + consistency): {stages.peaks['writing']:.2f} "
        f"GiB; the writer (medsr.io.write) adds {peak - stages.peaks['writing']:.2f} GiB"
    )
    print(
        f"peak anonymous memory (RSS without mapped-file pages) during the job: "
        f"{anon.peak:.2f} GiB, {anon.peak - anon_before:.2f} GiB above its start"
    )
    print("anonymous peak above the start, by stage: " + ", ".join(
        f"{name} {value - anon_before:.2f} GiB" for name, value in anon.by_stage.items()))
    print(
        f"peak RSS: {peak:.2f} GiB (before the job: {baseline:.2f} GiB); target < 2.5 GiB: "
        f"{'OK' if peak < 2.5 else 'ABOVE TARGET'}"
    )
    sys.exit(0 if peak < 2.5 else 1)


if __name__ == "__main__":
    main()
