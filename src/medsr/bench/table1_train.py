"""Table 1 with networks trained by medsr: train with :func:`medsr.train.train`, score with the
Table-1 protocol.

Li, Sixou & Peyrin (IRBM 2021), Table 1, compares SR networks on Set5 / Set14 (x2, x3, x4) with
the numbers their papers published. :func:`run_table1_train` re-does the comparison with networks
*trained by medsr*: each network's recipe in ``configs/`` is run through :func:`medsr.train.train`
with a short budget (``key=value`` overrides, :func:`short_budget_overrides`, listed in the
output), on the Y channel of CBSD68 + Sun-Hays80 (never Set5 / Set14, the test sets), then
evaluated with the Table-1 protocol (:func:`medsr.bench.table1.evaluate_method`, ``mode="y"``:
the SRCNN / VDSR protocol that reproduces the published bicubic row). The Markdown table lists,
per network: parameters, training steps and wall time, measured PSNR / SSIM on Set5 and Set14,
and the numbers the papers published (with their source).

Short-budget deviations from the papers, the same for every network (budgets are minutes on a
CPU, far below the papers'): Adam (rate per network, see :data:`RECIPES`, or one rate for all)
with a cosine decay to lr/100 over the step budget, instead of each paper's SGD / Adam schedule
(a wall-time cap may stop a run before its budget); no per-layer LR multipliers, no gradient
clipping, no weight decay; random patches of the recipe's size (made a multiple of the scale)
with flips / 90-degree rotations; no validation split (the final weights are scored; nothing is
selected on the test sets). Everything else (architecture, preset, loss, Y channel,
MATLAB-bicubic degradation, 0..255 -> 0..1 scaling) is the recipe's.

Each network writes ``OUT/<net>_x<scale>/`` (the ``medsr train`` run folder: ``model.safetensors``
+ ``model.json``, config, logs); after each one, ``OUT/results.json`` and ``OUT/table1.md`` are
rewritten (rows of earlier runs into the same ``OUT`` are kept, the same network and scale
replaced), so stopping a run loses nothing finished. A network whose run folder already holds
``model.safetensors`` is not retrained (its recorded steps / time are reused): running the same
command again resumes a stopped benchmark. ``benchmarks/table1_train.py`` is the command line.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from medsr.bench.published import PUBLISHED as _ALL_PUBLISHED
from medsr.bench.table1 import (
    PUBLISHED_BICUBIC,
    bicubic_baseline,
    evaluate_method,
    list_images,
    network_upscale,
)
from medsr.errors import MedsrError

__all__ = [
    "PUBLISHED",
    "RECIPES",
    "TABLE_DATASETS",
    "TEST_SETS",
    "TRAIN_SETS",
    "NetRecipe",
    "Row",
    "Table1TrainResult",
    "load_bicubic",
    "load_rows",
    "markdown_table",
    "parse_step_budgets",
    "run_table1_train",
    "short_budget_overrides",
    "stage_training_images",
    "train_and_evaluate",
]

#: Training images (natural/ sub-folders); Set5 / Set14 are the test sets and never trained on.
TRAIN_SETS = ("CBSD68", "CSun_Hays80")
TEST_SETS = ("CSet5", "CSet14")
TABLE_DATASETS = ("Set5", "Set14")

#: Published (PSNR, SSIM) on the Y channel, {(network, dataset, scale): (psnr, ssim, source)}, for
#: the networks of :data:`RECIPES`: a view of :data:`medsr.bench.published.PUBLISHED` (the one
#: table of published numbers, with its sources: VDSR / SRCNN from Kim et al. CVPR 2016, Table 3;
#: FSRCNN's PSNR from Dong et al. ECCV 2016 and its SSIM as re-reported). ESPCN is not listed: its
#: paper reports PSNR only, for models trained on ImageNet, at x3 / x4.
PUBLISHED: dict[tuple[str, str, int], tuple[float, float, str]] = {
    key: (entry.psnr, entry.ssim, entry.source)
    for key, entry in _ALL_PUBLISHED.items()
    if key[0] in ("srcnn", "vdsr", "fsrcnn") and entry.ssim is not None
}


@dataclass(frozen=True)
class NetRecipe:
    """One network of the table: its ``configs/`` recipe and the short-budget settings.

    Attributes:
        key: registry / recipe name (``<configs>/<key>.yaml``), also the key of :data:`PUBLISHED`.
        label: the row name.
        lr_patch: LR patch side; the HR patch is ``lr_patch * scale`` (recipes give HR sizes for
            one scale only).
        batch_size: patches per step (smaller than most papers', for CPU).
        steps: default step budget.
        lr: Adam learning rate (start of the cosine decay).
        overrides: extra ``key=value`` overrides for this network.
    """

    key: str
    label: str
    lr_patch: int
    batch_size: int
    steps: int
    lr: float = 1e-3
    overrides: tuple[str, ...] = ()

    def config(self, configs: Path) -> Path:
        """The recipe file in the folder of recipes ``configs`` (the repository's ``configs/``)."""
        return Path(configs) / f"{self.key}.yaml"


#: The cheap networks of Table 1 (review section 3.4.1-3.4.2), at their papers' presets.
RECIPES: dict[str, NetRecipe] = {
    r.key: r
    for r in (
        # ESPCN: 17x17 LR patches as the paper (Shi et al. 2016, section 3.2), which starts at
        # lr 0.01
        NetRecipe(
            "espcn", "ESPCN (Shi et al. 2016)", lr_patch=17, batch_size=16, steps=8000, lr=3e-3
        ),
        # FSRCNN: the paper's LR sub-images are 10 / 7 / 6 pixels; 12 keeps the 9x9 deconv busy
        NetRecipe("fsrcnn", "FSRCNN (Dong et al. 2016)", lr_patch=12, batch_size=16, steps=6000),
        # SRCNN 9-5-5: 33x33 HR sub-images in the paper -> 16 / 11 / 8 LR pixels
        NetRecipe(
            "srcnn", "SRCNN 9-5-5 (Dong et al. 2014/16)", lr_patch=16, batch_size=16, steps=3000
        ),
        # VDSR: 41x41 HR patches in the paper; 20 layers of 64 maps are slow on a CPU; a lower
        # Adam rate keeps the 20-layer plain stack stable without the paper's gradient clipping
        NetRecipe("vdsr", "VDSR (Kim et al. 2016)", lr_patch=16, batch_size=8, steps=600, lr=3e-4),
    )
}


@dataclass
class Row:
    """The measured result of one network at one scale."""

    key: str
    label: str
    scale: int
    params: int
    steps: int
    train_seconds: float
    scores: dict[str, tuple[float, float]] = field(default_factory=dict)  # dataset -> (psnr, ssim)
    overrides: list[str] = field(default_factory=list)
    run_dir: str = ""


# ---------------------------------------------------------------------- training data
def stage_training_images(
    sources: Sequence[Path], dest: Path, *, test_dirs: Sequence[Path] = ()
) -> Path:
    """Link the images of several folders into one (``medsr train`` reads one folder).

    Refuses any file that is also in a test folder (same name), so Set5 / Set14 can never leak in.
    """
    test_names = {p.name for d in test_dirs if Path(d).is_dir() for p in list_images(d)}
    dest.mkdir(parents=True, exist_ok=True)
    for src in sources:
        src = Path(src).resolve()
        if src.name in TEST_SETS:
            raise MedsrError(
                f"{src} is a Table-1 test set; train on other images (e.g. {', '.join(TRAIN_SETS)})"
            )
        for img in list_images(src):
            if img.name in test_names:
                raise MedsrError(
                    f"{img} has the name of a test image; remove it from the training folders"
                )
            link = dest / img.name
            if link.is_symlink() or link.exists():
                if link.resolve() != img.resolve():
                    raise MedsrError(f"two training images are named {img.name}; rename one")
                continue
            link.symlink_to(img)
    return dest


# ---------------------------------------------------------------------- one network
def short_budget_overrides(
    recipe: NetRecipe, scale: int, *, steps: int, lr: float, threads: int
) -> list[str]:
    """The ``key=value`` overrides turning a paper recipe into the short CPU run (see the module
    docstring)."""
    return [
        f"model.scale={scale}",
        f"data.patch_size={recipe.lr_patch * scale}",
        f"data.batch_size={recipe.batch_size}",
        "data.augment.flip=true",
        "data.augment.rot90=true",
        "data.val=null",
        "optim.name=adam",
        f"optim.lr={lr:g}",
        "optim.lr_mult={}",
        "optim.weight_decay=0",
        "optim.clip.kind=none",
        "optim.schedule.kind=cosine",
        f"optim.schedule.min_lr={lr / 100:g}",
        f"train.max_steps={steps}",
        f"train.checkpoint_every={steps}",
        f"train.log_every={max(1, min(100, steps // 10))}",
        "train.progress=none",
        "train.accelerator=cpu",
        f"train.threads={threads}",
        *recipe.overrides,
    ]


def _time_limit(max_minutes: float | None) -> list[Any]:
    if not max_minutes:
        return []
    from lightning.pytorch.callbacks import Timer

    return [Timer(duration={"seconds": max(1.0, 60.0 * max_minutes)}, interval="step")]


def train_and_evaluate(
    recipe: NetRecipe,
    scale: int,
    *,
    train_dir: Path,
    test_dirs: Sequence[Path],
    out_dir: Path,
    configs: Path,
    steps: int | None = None,
    max_minutes: float | None = None,
    lr: float | None = None,
    threads: int = 1,
    extra_overrides: Sequence[str] = (),
) -> Row:
    """Train ``recipe`` (its file in the folder ``configs``) at ``scale`` (or reuse a finished run
    in ``out_dir``) and score it.

    Returns the :class:`Row` with PSNR / SSIM per test folder (Table-1 protocol, ``mode="y"``).
    """
    from medsr.jsonutil import write_json
    from medsr.models.io import load_weights

    run_dir = out_dir / f"{recipe.key}_x{scale}"
    weights = run_dir / "model.safetensors"
    n_steps = int(steps or recipe.steps)
    overrides = short_budget_overrides(
        recipe, scale, steps=n_steps, lr=lr or recipe.lr, threads=threads
    )
    overrides += [f"data.train.hr_dir={train_dir}", f"output_dir={run_dir}", *extra_overrides]
    record = run_dir / "table1_train.json"
    if weights.is_file() and record.is_file():
        done = json.loads(record.read_text())
        global_step, seconds = int(done["steps"]), float(done["train_seconds"])
    else:
        from medsr.train import train

        t0 = time.perf_counter()
        result = train(recipe.config(configs), overrides, callbacks=_time_limit(max_minutes))
        seconds = time.perf_counter() - t0
        global_step = int(result.global_step)
        write_json(record, {"steps": global_step, "train_seconds": seconds, "overrides": overrides})
    model, _ = load_weights(weights)
    params = sum(p.numel() for p in model.parameters())
    row = Row(
        recipe.key,
        recipe.label,
        scale,
        params,
        global_step,
        seconds,
        overrides=overrides,
        run_dir=str(run_dir),
    )
    for d in test_dirs:
        r = evaluate_method(d, scale, network_upscale(weights, scale, mode="y"), mode="y")
        row.scores[r.dataset] = (r.psnr, r.ssim)
    return row


# ---------------------------------------------------------------------- table
def _cell(v: tuple[float, float] | None) -> str:
    return "" if v is None else f"{v[0]:.2f} / {v[1]:.4f}"


def markdown_table(rows: Sequence[Row], bicubic: dict[tuple[str, int], tuple[float, float]]) -> str:
    """Markdown table: one line per (scale, method): measured scores, then the published ones."""
    head = ["Scale", "Method", "Params", "Train steps", "Train time"]
    head += [f"{d} PSNR / SSIM (ours)" for d in TABLE_DATASETS]
    head += [f"{d} published" for d in TABLE_DATASETS] + ["Published in"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for s in sorted({r.scale for r in rows} | {k[1] for k in bicubic}):
        cells = [f"x{s}", "Bicubic (MATLAB imresize)", "0", "-", "-"]
        cells += [_cell(bicubic.get((d, s))) for d in TABLE_DATASETS]
        cells += [_cell(PUBLISHED_BICUBIC.get((d, s))) for d in TABLE_DATASETS] + [
            getattr(_ALL_PUBLISHED.get(("bicubic", "Set5", s)), "source", "")
        ]
        lines.append("| " + " | ".join(cells) + " |")
        for r in (r for r in rows if r.scale == s):
            pub = [PUBLISHED.get((r.key, d, s)) for d in TABLE_DATASETS]
            srcs = sorted({p[2] for p in pub if p is not None})
            cells = [
                f"x{s}",
                r.label,
                f"{r.params:,}",
                str(r.steps),
                f"{r.train_seconds / 60:.1f} min",
            ]
            cells += [_cell(r.scores.get(d)) for d in TABLE_DATASETS]
            cells += [_cell(p[:2] if p else None) or "n/a" for p in pub] + ["; ".join(srcs) or "-"]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.is_file() else {}


def load_rows(path: Path) -> list[Row]:
    """The rows saved in a ``results.json`` (empty when there is none)."""
    rows = []
    for r in _load(path).get("rows", []):
        r["scores"] = {d: tuple(v) for d, v in r["scores"].items()}
        rows.append(Row(**r))
    return rows


def load_bicubic(path: Path) -> dict[tuple[str, int], tuple[float, float]]:
    """The bicubic scores saved in a ``results.json``."""
    return {(d, int(s)): (p, q) for d, s, p, q in _load(path).get("bicubic", [])}


def parse_step_budgets(items: Sequence[str]) -> dict[str, int]:
    """Step budgets given as ``NET=N`` strings: ``{net: N}``."""
    out: dict[str, int] = {}
    for item in items:
        name, _, n = item.partition("=")
        if name not in RECIPES or not n.isdigit() or int(n) < 1:
            raise MedsrError(
                f"step budget {item!r} is not valid; give NET=N with NET one of "
                f"{', '.join(RECIPES)} and N >= 1"
            )
        out[name] = int(n)
    return out


# ---------------------------------------------------------------------- the whole benchmark
@dataclass
class Table1TrainResult:
    """What :func:`run_table1_train` measured (also in ``OUT/results.json`` / ``OUT/table1.md``)."""

    rows: list[Row]
    bicubic: dict[tuple[str, int], tuple[float, float]]
    commands: list[str]

    @property
    def table(self) -> str:
        """The Markdown table of the rows and the bicubic scores at their scales."""
        scales = {r.scale for r in self.rows}
        return markdown_table(self.rows, {k: v for k, v in self.bicubic.items() if k[1] in scales})


def run_table1_train(
    nets: Sequence[str],
    scales: Sequence[int],
    *,
    data: Path,
    out: Path,
    configs: Path,
    steps: dict[str, int] | None = None,
    max_minutes: float | None = 6.0,
    lr: float | None = None,
    threads: int = 1,
    command: str = "",
    log: Callable[[str], None] | None = None,
) -> Table1TrainResult:
    """Train and score ``nets`` at ``scales``; ``OUT/results.json`` and ``OUT/table1.md`` are
    rewritten after each network (rows of earlier runs into ``out`` are kept).

    Args:
        nets: keys of :data:`RECIPES`.
        data: folder holding the :data:`TRAIN_SETS` and :data:`TEST_SETS` sub-folders.
        out: output folder (run folders, staged training images, results).
        configs: folder of the training recipes (the repository's ``configs/``).
        steps: step budget per network (default: the recipe's).
        max_minutes: wall-time cap per network (None: none).
        lr: one Adam rate for every network (default: per recipe).
        threads: torch threads of training (1 is fastest on a shared CPU).
        command: the command line, recorded in ``results.json``.
        log: optional ``callable(str)`` for one line per finished network.
    """
    from medsr.io.atomic import atomic_path
    from medsr.jsonutil import write_json

    unknown = [n for n in nets if n not in RECIPES]
    if unknown:
        raise MedsrError(f"unknown network {unknown[0]!r}; choose from {', '.join(RECIPES)}")
    say = log or (lambda message: None)
    steps = steps or {}
    test_dirs = [data / t for t in TEST_SETS]
    train_dir = stage_training_images(
        [data / t for t in TRAIN_SETS], out / "train_images", test_dirs=test_dirs
    )
    bicubic = {}
    for s in scales:
        for d in test_dirs:
            r = bicubic_baseline(d, s, mode="y")
            bicubic[(r.dataset, s)] = (r.psnr, r.ssim)
    results = out / "results.json"
    saved = load_bicubic(results)
    bicubic.update({k: v for k, v in saved.items() if k not in bicubic})
    result = Table1TrainResult(load_rows(results), bicubic, _load(results).get("commands", []))
    result.commands.append(command)
    for s in scales:
        for n in nets:
            t0 = time.perf_counter()
            row = train_and_evaluate(
                RECIPES[n],
                s,
                train_dir=train_dir,
                test_dirs=test_dirs,
                out_dir=out,
                configs=configs,
                steps=steps.get(n),
                max_minutes=max_minutes,
                lr=lr,
                threads=threads,
            )
            result.rows = [r for r in result.rows if (r.key, r.scale) != (row.key, row.scale)]
            result.rows.append(row)
            write_json(
                results,
                {
                    "commands": result.commands,
                    "bicubic": [[d, sc, p, q] for (d, sc), (p, q) in sorted(bicubic.items())],
                    "rows": [asdict(r) for r in result.rows],
                },
            )
            with atomic_path(out / "table1.md") as tmp:
                Path(tmp).write_text(result.table, encoding="utf-8")
            scores = ", ".join(f"{d} {p:.2f}/{q:.4f}" for d, (p, q) in row.scores.items())
            say(
                f"[{n} x{s}] {row.steps} steps, {row.train_seconds / 60:.1f} min train, "
                f"{time.perf_counter() - t0:.0f} s total: {scores}"
            )
    return result
