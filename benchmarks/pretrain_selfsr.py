"""Pre-train the self-SR network once (the warm start of ``--method self --option init=prior``).

Pairs are made the way self-SR makes them per scan (:mod:`medsr.selfsr.prior`,
:func:`medsr.selfsr.pairs.make_training_pairs`: Gaussian slice profile of FWHM = factor, factors
2, 3 and 4, cubic B-spline back onto the fine grid), from data that is none of the benchmark scans:

* the built-in MNI brain (``medsr.data.sample_path("brain")``), each of its 3 axes taken as the
  thick axis at each factor (every 2nd plane);
* natural images, grey (ITU-R BT.601 luma), of CBSD68 and Sun-Hays80
  (``../shared/data/natural``; never Set5/Set14), one factor per image (2, 3, 4 in turn).

With ``--aniso F`` (issue 13, a prior for the held-out geometry), a fraction ``F`` of each batch
comes from *anisotropic* pairs instead (:func:`medsr.selfsr.prior.pair_stacks_anisotropic`): the
brain first given Gaussian thick slices along one axis (x2 and x3: a 2D acquisition), then the
pairs self-SR makes on that volume to restore one of its fine axes at x2, x3, x4 (planes that
contain the coarse axis; both in-plane axes degraded, as self-SR does by default, or only the fine
one with ``--aniso-pairs matched``). The other ``1 - F`` of each batch is the data above, half
brain, half natural images. Review context: Li, Sixou & Peyrin, *IRBM* 2021 (section 4.2.2);
SMORE: Zhao et al., *IEEE TMI* 2021.

Each step draws half of its patches from the brain and half from the natural images; Adam, L1,
gradient clipping and the warm-up + cosine schedule of :func:`medsr.selfsr.train.train_restoration`.
Writes ``src/medsr/weights/selfsr_prior/{model.safetensors,model.json}`` (half precision, with the
command, steps and data recorded in ``model.json``).

Run (repository root; the shipped prior: 8000 steps, about 11.5 CPU-minutes; anisotropic pairs
did not help on the development cases, ``docs/benchmarks/selfsr_heldout.md``)::

    OMP_NUM_THREADS=1 nice -n 5 .venv/bin/python benchmarks/pretrain_selfsr.py --steps 8000
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_NATURAL = ROOT.parent / "shared" / "data" / "natural"
DEFAULT_OUT = ROOT / "src" / "medsr" / "weights" / "selfsr_prior"
NATURAL_SETS = ("CBSD68", "CSun_Hays80")


def _grey(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        rgb = np.asarray(im.convert("RGB"), dtype=np.float32)
    return rgb @ np.asarray([0.299, 0.587, 0.114], dtype=np.float32)


def _merge(parts: list) -> object:
    from medsr.selfsr.pairs import TrainingPairs

    return TrainingPairs(
        [a for p in parts for a in p.inputs], [a for p in parts for a in p.targets]
    )


class _Mixed:
    """Patches from several samplers (one per factor, each aligned to its own slice period),
    the number from each drawn at random: the ``--aligned`` pre-training."""

    def __init__(self, samplers: list, rng: np.random.Generator) -> None:
        self.samplers, self.rng = samplers, rng
        self.patch = min(s.patch for s in samplers)

    def sample(self, n: int, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
        counts = self.rng.multinomial(n, [1 / len(self.samplers)] * len(self.samplers))
        parts = [s.sample(int(c), split=split) for s, c in zip(self.samplers, counts) if c]
        return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))


def main(argv: list[str] | None = None) -> int:
    import torch

    import medsr.data
    from medsr.io import read
    from medsr.metrics import psnr
    from medsr.models.io import save_weights
    from medsr.runtime import torch_seed
    from medsr.selfsr.network import build_network
    from medsr.selfsr.pairs import PatchSampler, slice_period
    from medsr.selfsr.prior import pair_stacks_2d, pair_stacks_3d, pair_stacks_anisotropic
    from medsr.selfsr.train import _lr_factor

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--natural", type=Path, default=DEFAULT_NATURAL)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--patch", type=int, default=48)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--aniso", type=float, default=0.0,
                        help="fraction of each batch from anisotropic pairs (default 0: none)")
    parser.add_argument("--aniso-thick", default="2,3",
                        help="thick-slice factors of the anisotropic volumes (comma-separated)")
    parser.add_argument("--aniso-pairs", choices=("all", "matched"), default="all",
                        help="degrade both in-plane axes (self-SR's default) or the fine one")
    parser.add_argument("--factors", default="2,3,4",
                        help="factors of the pairs (comma-separated; default 2,3,4; the shipped "
                        "x4 prior: --factors 4)")
    parser.add_argument("--aligned", action="store_true",
                        help="self-SR's phase_align + pair_phases: every factor's pairs at each "
                        "position of its sampling lattice, patches starting on its period")
    parser.add_argument("--model-kwarg", action="append", default=[], metavar="KEY=INT",
                        help="a constructor argument of the selfsr network, e.g. blocks=8 or "
                        "channels=96 (repeatable; self-SR then warm-starts only with the same "
                        "--option model_kwargs)")
    args = parser.parse_args(argv)
    model_kwargs: dict[str, int] = {}
    for item in args.model_kwarg:
        key, sep, value = item.partition("=")
        if not sep or not value.strip().isdigit():
            parser.error(f"--model-kwarg takes KEY=INT, e.g. blocks=8; got {item!r}")
        model_kwargs[key.strip()] = int(value)
    factors = tuple(float(v) for v in args.factors.split(",") if v.strip())
    if not factors or min(factors) <= 1:
        parser.error("--factors needs factors above 1, e.g. 2,3,4")
    names_x = ", ".join(f"x{f:g}" for f in factors)
    if args.aligned and args.aniso:
        parser.error("--aligned and --aniso do not combine (yet)")
    if not 0.0 <= args.aniso < 1.0:
        parser.error("--aniso must be in [0, 1)")
    thick_factors = tuple(float(v) for v in args.aniso_thick.split(",") if v.strip())
    t0 = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    brain = np.asarray(read(medsr.data.sample_path("brain")).data, dtype=np.float32)

    def phases(f: float) -> dict[str, int]:  # --aligned: every position of the lattice
        return {"phases": slice_period(f), "min_length": args.patch} if args.aligned else {}

    brain_factors = [f for _ in range(3) for f in factors]  # the factor of each brain part
    brain_parts = [
        pair_stacks_3d(brain, f, axis, every=2, **phases(f)) for axis in range(3) for f in factors
    ]
    files = sorted(
        p for s in NATURAL_SETS for p in (args.natural / s).iterdir()
        if p.suffix.lower() in (".png", ".jpg", ".jpeg")
    )
    if not files:
        print(f"no natural images under {args.natural}", file=sys.stderr)
        return 2
    natural_factors = [factors[i % len(factors)] for i in range(len(files))]  # in turn
    natural_parts = [
        pair_stacks_2d(_grey(p), f, **phases(f))
        for p, f in zip(files, natural_factors, strict=True)
    ]
    if args.aligned:  # one sampler per factor, patches starting on its period
        def by_factor(parts: list, factor_of: list[float]) -> _Mixed:
            return _Mixed([
                PatchSampler(
                    _merge([p for p, g in zip(parts, factor_of, strict=True) if g == f]),
                    args.patch, rng, row_period=slice_period(f),
                )
                for f in factors
            ], rng)

        samplers: list = [
            by_factor(brain_parts, brain_factors),
            by_factor(natural_parts, natural_factors),
        ]
    else:
        samplers = [
            PatchSampler(_merge(brain_parts), args.patch, rng),
            PatchSampler(_merge(natural_parts), args.patch, rng),
        ]
    names = ["brain", "natural"]
    n_aniso = round(args.batch * args.aniso)
    if n_aniso:
        aniso_parts = [
            pair_stacks_anisotropic(
                brain, thick, k, restore, f, every=2,
                axes=None if args.aniso_pairs == "all" else [3 - thick - restore],
            )
            for thick in range(3) for k in thick_factors
            for restore in range(3) if restore != thick for f in factors
        ]
        samplers.append(PatchSampler(_merge(aniso_parts), args.patch, rng))
        names.append("aniso")
        if len({s.patch for s in samplers}) != 1:
            print(f"patch sizes differ: {[s.patch for s in samplers]}", file=sys.stderr)
            return 2
    val = [s.sample(32, split="val") for s in samplers]
    with torch_seed(args.seed):
        net = build_network("selfsr", **model_kwargs)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    net.train()
    rest = args.batch - n_aniso
    halves = (rest // 2, rest - rest // 2) + ((n_aniso,) if n_aniso else ())
    curve = []
    running = 0.0
    for step in range(args.steps):
        for group in opt.param_groups:
            group["lr"] = args.lr * _lr_factor(step / args.steps)
        batches = [s.sample(n) for s, n in zip(samplers, halves, strict=True)]
        x = torch.from_numpy(np.concatenate([b[0] for b in batches]))
        y = torch.from_numpy(np.concatenate([b[1] for b in batches]))
        loss = torch.nn.functional.l1_loss(net(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 0.5)
        opt.step()
        running += float(loss.detach())
        if (step + 1) % 250 == 0:
            curve.append([step + 1, round(running / 250, 6)])
            print(f"step {step + 1}: L1 {running / 250:.5f}", flush=True)
            running = 0.0
    net.eval()
    scores = {}
    with torch.inference_mode():
        for name, (vx, vy) in zip(names, val, strict=True):
            out = net(torch.from_numpy(vx)).numpy()
            scores[name] = {
                "psnr_interpolated": round(psnr(vy, vx, data_range=1.0), 3),
                "psnr_network": round(psnr(vy, out, data_range=1.0), 3),
            }
    usage = resource.getrusage(resource.RUSAGE_SELF)
    record = {
        "command": "OMP_NUM_THREADS=1 nice -n 5 .venv/bin/python benchmarks/pretrain_selfsr.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "steps": args.steps,
        "model_kwargs": model_kwargs,
        "aligned": bool(args.aligned),
        "factors": list(factors),
        "batch": args.batch,
        "patch": args.patch,
        "lr": args.lr,
        "seed": args.seed,
        "data": {
            "brain": "medsr.data.sample_path('brain') (MNI ICBM152, 1 mm): each axis as the thick "
            f"axis at {names_x}, every 2nd plane; half of each batch",
            "natural": [f"{s} ({len([p for p in files if p.parent.name == s])} images, grey)"
                        for s in NATURAL_SETS] + [f"factor {names_x} in turn; half of each batch"],
            "pairs": "medsr.selfsr.pairs.make_training_pairs, Gaussian profile FWHM = factor, "
            "bspline back, robust-range normalisation",
        },
        "aniso": {
            "fraction": args.aniso,
            "patches_per_batch": n_aniso,
            "thick_factors": list(thick_factors),
            "pair_axes": args.aniso_pairs,
            "data": "medsr.selfsr.prior.pair_stacks_anisotropic: the same brain given Gaussian "
            "thick slices along each axis (thick factors above), then self-SR pairs of that "
            f"volume for each other axis at {names_x} (every 2nd plane)",
        } if n_aniso else None,
        "validation_psnr": scores,
        "curve": curve,
        "wall_seconds": round(time.perf_counter() - t0, 1),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
        "torch_threads": torch.get_num_threads(),
        "load_average": [round(v, 2) for v in os.getloadavg()],
    }
    save_weights(
        copy.deepcopy(net).half(),
        args.out,
        name="selfsr",
        preset="paper",
        kwargs=model_kwargs,
        scale=1,
        dims=2,
        in_channels=1,
        extra={"pretraining": record, "dtype": "float16"},
    )
    print(json.dumps({k: v for k, v in record.items() if k != "curve"}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
