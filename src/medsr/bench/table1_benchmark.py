"""``medsr benchmark table1``: the review's Table 1 as one command, with costs and a report.

Li, Sixou & Peyrin (IRBM 2021), Table 1, compares SR networks by PSNR / SSIM on Set5 and Set14
at x2 / x3 / x4, as their papers published them. :func:`run_table1_benchmark` measures, with the
Table-1 protocol of :mod:`medsr.bench.table1` (LR by MATLAB bicubic, scores on Y with a
``scale``-pixel border removed; ``mode="y"`` for one-channel methods, which reproduces the
published bicubic row), every method asked for:

* the interpolation baselines (review section 2.1): ``bicubic`` (MATLAB ``imresize``, the
  published baseline row), ``nearest``, ``linear``, ``bspline`` (cubic B-spline), ``lanczos``
  (:func:`medsr.interpolate.zoom_array`);
* every network shipped in the package (:mod:`medsr.models.shipped`) at the scales it is shipped;
* any ``model.safetensors`` given (at its own scale).

Each row holds the mean PSNR / SSIM of the set (per-image scores in :attr:`BenchmarkReport.images`),
the published number of the method (:mod:`medsr.bench.published`) and the difference, and the
cost on one 256 x 256 LR input (:mod:`medsr.bench.cost`: parameters, FLOPs, median CPU latency,
peak memory). The report (:mod:`medsr.bench.results`) adds a PSNR-against-cost chart and, per
scale, the crops of the first set's hardest image (:mod:`medsr.bench.report_figures`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from medsr.bench.cost import Cost
from medsr.bench.results import BenchmarkReport, Figure, ImageScoreRow, ResultRow
from medsr.bench.table1 import UpscaleFn, bicubic_upscale, evaluate_method, list_images
from medsr.errors import MedsrError, OptionError
from medsr.progress import ProgressSink, Quiet

__all__ = [
    "INTERPOLATIONS",
    "Table1Method",
    "default_datasets",
    "interpolation_upscale",
    "resolve_methods",
    "run_table1_benchmark",
]

#: the interpolation rows, in table order (``bicubic`` is MATLAB's, the published baseline)
INTERPOLATIONS: dict[str, str] = {
    "nearest": "nearest",
    "linear": "linear",
    "bicubic": "bicubic (MATLAB imresize)",
    "bspline": "cubic B-spline",
    "lanczos": "Lanczos-3",
}
_ALIASES = {"cubic": "bicubic", "bilinear": "linear", "lanczos3": "lanczos"}

#: the repository's test images (``<repo>/../shared/data/natural``) when medsr runs from a checkout
_NATURAL = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "natural"
DEFAULT_SETS = ("CSet5", "CSet14")


@dataclass(frozen=True)
class Table1Method:
    """One row source: an interpolation, or a network (shipped: ``weights`` per scale)."""

    key: str
    label: str
    kind: str
    weights: dict[int, Path] | None = None

    def weights_for(self, scale: int) -> Path | None:
        return None if self.weights is None else self.weights.get(int(scale))


def default_datasets() -> list[Path]:
    """Set5 and Set14 of the repository's data folder (``../shared/data/natural``).

    Raises:
        OptionError: naming ``data`` when the folder is not there (an installed medsr).
    """
    found = [_NATURAL / d for d in DEFAULT_SETS if (_NATURAL / d).is_dir()]
    if not found:
        raise OptionError(
            f"no Set5 / Set14 in {_NATURAL}; give {{data}} FOLDER (a folder of test images, "
            "repeatable)"
        )
    return found


def interpolation_upscale(method: str, scale: int) -> UpscaleFn:
    """An interpolation as a Table-1 ``upscale_fn``: ``bicubic`` is MATLAB's ``imresize``; the
    others are :func:`medsr.interpolate.zoom_array` on each channel."""
    if method == "bicubic":
        return bicubic_upscale(scale)
    from medsr.interpolate import zoom_array

    def upscale(lr: np.ndarray) -> np.ndarray:
        x = np.moveaxis(np.asarray(lr, dtype=np.float64), -1, 0)[..., None]
        y = zoom_array(x, (scale, scale, 1), method)
        return np.moveaxis(y[..., 0], 0, -1)

    return upscale


def _weights_method(path: Path, label: str | None = None) -> Table1Method:
    from medsr.models.io import read_meta, weights_paths

    meta = read_meta(path)
    scale = meta["scale"]
    scales = set(scale) if isinstance(scale, list) else {scale}
    if len(scales) != 1 or not float(next(iter(scales))).is_integer():
        raise MedsrError(f"{path} upscales by {scale}; Table 1 needs one whole factor (2, 3, 4)")
    arch = str(meta["architecture"])
    folder = weights_paths(path)[0].parent
    return Table1Method(
        arch, label or f"{arch} ({folder.name})", "network", {int(next(iter(scales))): Path(path)}
    )


def resolve_methods(
    methods: Sequence[str] | None,
    weights: Sequence[str | Path] = (),
    *,
    names: Sequence[str] = (),
    quick: bool = False,
) -> list[Table1Method]:
    """The rows asked for: ``methods`` (interpolation or shipped network names; default: the
    interpolations, only ``bicubic`` with ``quick``, then every shipped network) and ``weights``
    (labelled by ``names`` in order, else "architecture (folder)").

    Raises:
        OptionError: naming ``methods`` for a name that is neither.
    """
    from medsr.models.shipped import list_shipped, shipped_weights

    shipped = list_shipped()
    if methods is None:
        wanted = (["bicubic"] if quick else list(INTERPOLATIONS)) + sorted(shipped)
    else:
        wanted = [_ALIASES.get(m.strip().lower(), m.strip().lower()) for m in methods if m.strip()]
    out: list[Table1Method] = []
    for name in dict.fromkeys(wanted):
        if name in INTERPOLATIONS:
            out.append(Table1Method(name, INTERPOLATIONS[name], "interpolation"))
        elif name in shipped:
            paths = {s: shipped_weights(name, s) for s in shipped[name]}
            out.append(
                Table1Method(
                    name,
                    f"{name} (shipped)",
                    "network",
                    {s: p for s, p in paths.items() if p is not None},
                )
            )
        else:
            ships = ", ".join(sorted(shipped)) or "none yet"
            raise OptionError(
                f"{{methods}}: unknown method {name!r}; choose interpolations "
                f"({', '.join(INTERPOLATIONS)}) or shipped networks ({ships}), or give "
                "{weights} FILE"
            )
    if len(names) > len(weights):
        raise OptionError("{name} was given more often than {weights}; one name per weights file")
    out += [
        _weights_method(Path(w), names[i] if i < len(names) else None)
        for i, w in enumerate(weights)
    ]
    if not out:
        raise OptionError("{methods} is empty; name at least one method")
    return out


def _mode_for(method: Table1Method, scale: int) -> str:
    if method.kind != "network":
        return "y"
    from medsr.models.io import read_meta

    return "y" if int(read_meta(method.weights_for(scale))["in_channels"]) == 1 else "rgb"


def _upscale_fn(method: Table1Method, scale: int, mode: str) -> UpscaleFn:
    if method.kind == "interpolation":
        return interpolation_upscale(method.key, scale)
    from medsr.bench.table1 import network_upscale

    return network_upscale(method.weights_for(scale), scale, mode=mode)  # type: ignore[arg-type]


def _cost(method: Table1Method, scale: int, repeats: int) -> Cost:
    """The cost of ``method`` at ``scale`` on one 256 x 256 LR image."""
    from medsr.bench.cost import COST_SIZE, measure_call, network_cost

    if method.kind == "network":
        from medsr.models.io import load_weights

        model, meta = load_weights(method.weights_for(scale))  # type: ignore[arg-type]
        return network_cost(model, int(meta["in_channels"]), repeats=repeats)
    rng = np.random.default_rng(0)
    lr = rng.uniform(0, 255, (COST_SIZE, COST_SIZE, 1))
    fn = interpolation_upscale(method.key, scale)
    latency, memory = measure_call(lambda: fn(lr), repeats=repeats)
    return Cost(0, None, latency, memory)


def _hardest(images: list[ImageScoreRow], dataset: str, scale: int) -> str | None:
    """The image of ``dataset`` at ``scale`` where bicubic (or the first method) scores lowest."""
    rows = [i for i in images if i.dataset == dataset and i.scale == scale]
    if not rows:
        return None
    base = [i for i in rows if i.method == "bicubic"] or rows
    return min(base, key=lambda i: i.psnr).image


def _crops(
    report: BenchmarkReport,
    methods: Sequence[Table1Method],
    folder: Path,
    dataset: str,
    scale: int,
) -> Figure | None:
    from medsr.bench.report_figures import crops_figure
    from medsr.bench.table1 import load_uint8
    from medsr.metrics.protocol import table1_pair, to_uint8

    name = _hardest(report.images, dataset, scale)
    if name is None:
        return None
    hr, lr = table1_pair(load_uint8(folder / name), scale, mode="y")
    order = [Table1Method("bicubic", INTERPOLATIONS["bicubic"], "interpolation")]
    order += [m for m in methods if m.key != "bicubic"]
    outputs: dict[str, np.ndarray] = {}
    for m in order:
        if m.kind == "network" and (m.weights_for(scale) is None or _mode_for(m, scale) != "y"):
            continue
        sr = np.asarray(_upscale_fn(m, scale, "y")(lr[..., None]))
        outputs[m.label] = to_uint8(sr[..., 0] if sr.ndim == 3 else sr).astype(np.float64)
    scores = {
        label: (i.psnr, i.ssim)
        for m in order
        for label in [m.label]
        for i in report.images
        if i.method == m.key and i.dataset == dataset and i.scale == scale and i.image == name
    }
    png = crops_figure(
        hr,
        lr,
        outputs,
        scale,
        scores=scores,
        title=f"{dataset} {name} x{scale} (Y channel): LR, methods, truth; |error| below",
    )
    return Figure(
        f"crops-{dataset}-x{scale}",
        f"Crops: {dataset} {name}, x{scale}",
        f"{name}, the {dataset} image where bicubic scores lowest at x{scale}. Top: the LR input "
        "(pixel replication), each method and the truth, with the window where bicubic errs most "
        "magnified; bottom: absolute error against the truth (0-40 grey levels). Titles: this "
        "image's PSNR / SSIM (Y, border of the scale removed).",
        png,
    )


def run_table1_benchmark(
    datasets: Sequence[str | Path] | None = None,
    scales: Sequence[int] = (2, 3, 4),
    methods: Sequence[str] | None = None,
    weights: Sequence[str | Path] = (),
    *,
    names: Sequence[str] = (),
    quick: bool = False,
    repeats: int | None = None,
    figures: bool = True,
    progress: ProgressSink | None = None,
    command: str = "",
) -> BenchmarkReport:
    """Run Table 1 for ``methods`` x ``datasets`` x ``scales`` (see the module docstring).

    Args:
        datasets: folders of test images (default :func:`default_datasets`).
        scales: whole up-sampling factors.
        methods: interpolation / shipped network names (default: see :func:`resolve_methods`).
        weights: extra trained networks (``model.safetensors`` with ``model.json``).
        names: row labels of ``weights``, in order.
        quick: CI-sized: only ``bicubic`` by default, 2 timed calls for the latency.
        repeats: timed calls of the latency measurement (default 2 with ``quick``, else 5).
        figures: add the cost chart and the crops.
        progress: where progress goes (default: nowhere).
    """
    from medsr.bench.published import published
    from medsr.bench.report import environment, finish_environment

    sink = progress or Quiet()
    folders = [Path(d) for d in datasets] if datasets else default_datasets()
    for folder in folders:
        list_images(folder)  # a folder without images fails before any work
    scales = [int(s) for s in scales]
    if not scales or any(s < 2 for s in scales):
        raise OptionError("{scales} must be whole factors >= 2 (e.g. 2,3,4)")
    chosen = resolve_methods(methods, weights, names=names, quick=quick)
    repeats = int(repeats if repeats is not None else (2 if quick else 5))
    report = BenchmarkReport(
        kind="table1",
        title="medsr benchmark table1: Set5 / Set14 (review Table 1 protocol)",
        command=command,
        settings={
            "datasets": [str(f) for f in folders],
            "scales": scales,
            "methods": [m.key for m in chosen],
            "quick": quick,
            "latency_repeats": repeats,
            "cost_input": "one 256 x 256 LR image (1 channel, or 3 for RGB networks); FLOPs by "
            "torch.utils.flop_counter (2 per multiply-add); latency: median CPU wall time of "
            f"{repeats} calls after a warm-up; peak memory: growth of the peak resident memory "
            "during one call",
            "protocol": "medsr.bench.table1: MATLAB-bicubic LR, scores on Y (BT.601), border of "
            "the scale removed; mode y for one-channel methods",
        },
    )
    t_start = time.perf_counter()
    env = environment()
    jobs = [(m, f, s) for m in chosen for s in scales for f in folders]
    sink.stage("Table 1", float(len(jobs)))
    costs: dict[tuple[str, int], Cost] = {}
    set_folders: dict[str, Path] = {}
    skipped: list[str] = []
    for method, folder, scale in jobs:
        sink.note(f"{method.label}, {folder.name} x{scale}")
        if method.kind == "network" and method.weights_for(scale) is None:
            skipped.append(f"{method.label} x{scale}")
            sink.advance(1)
            continue
        mode = _mode_for(method, scale)
        t0 = time.perf_counter()
        result = evaluate_method(folder, scale, _upscale_fn(method, scale, mode), mode=mode)
        seconds = time.perf_counter() - t0
        set_folders.setdefault(result.dataset, folder)
        key = (method.label, scale)
        if key not in costs:
            costs[key] = _cost(method, scale, repeats)
        cost = costs[key]
        pub = published(method.key, result.dataset, scale)
        note = ""
        if pub is not None and method.kind == "network":
            note = "published: the paper's full model trained on its data (" + pub.source + ")"
        report.rows.append(
            ResultRow(
                method=method.key,
                label=method.label,
                kind=method.kind,
                dataset=result.dataset,
                scale=scale,
                psnr=result.psnr,
                ssim=result.ssim,
                published_psnr=None if pub is None else pub.psnr,
                published_ssim=None if pub is None else pub.ssim,
                published_source="" if pub is None else pub.source,
                params=cost.params,
                flops=cost.flops,
                latency_ms=cost.latency_ms,
                peak_memory_mib=cost.peak_memory_mib,
                seconds=seconds,
                mode=mode,
                note=note,
            )
        )
        report.images += [
            ImageScoreRow(method.key, result.dataset, scale, i.name, i.psnr, i.ssim)
            for i in result.images
        ]
        sink.advance(1)
    from medsr.models.shipped import list_shipped

    shipped = list_shipped()
    report.notes.append(
        "shipped networks: "
        + (
            ", ".join(f"{n} (x{', x'.join(map(str, s))})" for n, s in shipped.items())
            if shipped
            else "none in this installation (medsr/weights/ holds no model yet)"
        )
    )
    if skipped:
        # once per method and scale, not once per image set
        unique = ", ".join(dict.fromkeys(skipped))
        report.notes.append("not run (no weights at that scale): " + unique)
    if figures and report.rows:
        from medsr.bench.report_figures import cost_chart

        sink.stage("figures", float(1 + len(scales)))
        first = report.datasets()[0]
        report.figures.append(
            Figure(
                "cost",
                "PSNR against cost",
                "Mean Y-PSNR of each method per set and scale (bars, ordered by FLOPs then "
                "latency on one 256 x 256 LR input; grey: interpolation, blue: network), the "
                "published PSNR as a black tick.",
                cost_chart(report.rows),
            )
        )
        sink.advance(1)
        folder = set_folders[first]
        for scale in scales:
            fig = _crops(report, chosen, folder, first, scale)
            if fig is not None:
                report.figures.append(fig)
            sink.advance(1)
    finish_environment(env, t_start)
    report.environment = env
    return report
