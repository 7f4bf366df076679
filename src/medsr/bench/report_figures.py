"""The figures of ``medsr benchmark``'s report, as PNG bytes for the self-contained HTML page.

* :func:`crops_figure`: one test image at one scale, as the review's figures compare methods
  (Li, Sixou & Peyrin, IRBM 2021, Figs. of section 3): the LR input (pixel replication, what a
  viewer shows), bicubic, each method and the truth, each with a magnified inset of the window
  where bicubic errs most (:func:`medsr.bench.figures.worst_window`), and below them the
  absolute error maps on one colour scale.
* :func:`cost_chart`: PSNR against cost: one bar per method (sorted by FLOPs, then latency),
  annotated with its FLOPs and latency, the published PSNR marked beside it.

matplotlib with the Agg backend (no display needed).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from medsr.bench.results import ResultRow

__all__ = ["cost_chart", "crops_figure", "png_bytes"]


def png_bytes(fig: Any, *, dpi: int = 100) -> bytes:
    """The figure as PNG bytes (the figure is closed)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    from medsr.plotting import agg_pyplot

    agg_pyplot().close(fig)
    return buffer.getvalue()


def crops_figure(
    hr: np.ndarray,
    lr: np.ndarray,
    outputs: dict[str, np.ndarray],
    scale: int,
    *,
    scores: dict[str, tuple[float, float]] | None = None,
    title: str = "",
    inset: int = 48,
    display_range: tuple[float, float] = (0.0, 255.0),
    error_max: float = 40.0,
    input_label: str = "LR input",
) -> bytes:
    """LR / methods / truth of one image (grey or Y, 0..255), insets and error maps, as PNG.

    Args:
        hr: the truth ``(H, W)``.
        lr: the LR input ``(H / scale, W / scale)``, or already on the HR grid (shown as is).
        outputs: ``{label: SR (H, W)}``, in column order (bicubic first, by convention); the
            first one chooses the magnified window (where it errs most).
        scale: the up-sampling factor (LR pixels are replicated ``scale`` times for display).
        scores: ``{label: (psnr, ssim)}`` shown in the titles.
        inset: side of the magnified window in HR pixels.
        display_range: grey levels shown black and white.
        error_max: the error shown brightest.
        input_label: the first column's title.
    """

    from medsr.bench.figures import far_corner, magnified_inset, worst_window
    from medsr.plotting import agg_pyplot

    plt = agg_pyplot()
    truth = np.asarray(hr, dtype=np.float64)
    shown_lr = np.asarray(lr, dtype=np.float64)
    if shown_lr.shape != truth.shape:
        shown_lr = np.kron(shown_lr, np.ones((scale, scale)))[: truth.shape[0], : truth.shape[1]]
    panels = [(input_label, shown_lr)] + [
        (k, np.asarray(v, np.float64)) for k, v in outputs.items()
    ]
    panels.append(("truth", truth))
    first = next(iter(outputs.values()), shown_lr)
    size = int(max(8, min(inset, min(truth.shape) // 3)))
    r0, c0 = worst_window(np.abs(np.asarray(first, np.float64) - truth), size)
    corner = far_corner((r0, c0, size), truth.shape, 0.45)
    low, high = (float(v) for v in display_range)
    n = len(panels)
    fig, axes = plt.subplots(2, n, figsize=(2.3 * n, 4.8), squeeze=False)
    for col, (label, img) in enumerate(panels):
        for row, (data, cmap, vmax) in enumerate(
            ((img - low, "gray", high - low), (np.abs(img - truth), "magma", error_max))
        ):
            ax = axes[row, col]
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 1 and label == "truth":
                ax.set_visible(False)
                continue
            ax.imshow(data, cmap=cmap, vmin=0.0, vmax=vmax, interpolation="nearest")
            magnified_inset(ax, data, (r0, c0, size), corner, cmap=cmap, vmin=0.0, vmax=vmax)
            if row == 0:
                text = label
                if scores and label in scores:
                    p, s = scores[label]
                    text += f"\n{p:.2f} dB / {s:.4f}"
                ax.set_title(text, fontsize=8)
            elif col == 0:
                ax.set_ylabel(f"|error| (0-{error_max:.3g})", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return png_bytes(fig)


def _cost_key(row: ResultRow) -> tuple[float, float]:
    """FLOPs, then latency (or, without one, the wall time of the whole set)."""
    time_ms = row.latency_ms if row.latency_ms is not None else 1000.0 * (row.seconds or 0.0)
    return (row.flops or 0.0, time_ms)


def _cost_text(row: ResultRow) -> str:
    from medsr.bench.results import flops_text

    if row.latency_ms is not None:
        timing = f"{row.latency_ms:.0f} ms"
    else:
        seconds = row.seconds
        timing = (
            ""
            if seconds is None
            else (f"{1000 * seconds:.0f} ms" if seconds < 1 else f"{seconds:.1f} s")
        )
    return " / ".join(t for t in (flops_text(row.flops), timing) if t)


def cost_chart(rows: Sequence[ResultRow], *, title: str = "") -> bytes:
    """PSNR of each method against its cost: one panel per set (rows) and scale (columns); in
    every panel the methods in one order, by their cost (FLOPs, then mean latency, or the set's
    wall time), each bar annotated with its cost, the published PSNR as a black tick."""
    from medsr.plotting import agg_pyplot

    plt = agg_pyplot()
    scored = [r for r in rows if r.psnr is not None]
    if not scored:
        raise ValueError("cost_chart needs rows with a PSNR")
    by_method: dict[str, list[ResultRow]] = {}
    for r in scored:
        by_method.setdefault(r.label, []).append(r)
    order = sorted(
        by_method,
        key=lambda m: (
            max(_cost_key(r)[0] for r in by_method[m]),
            float(np.mean([_cost_key(r)[1] for r in by_method[m]])),
        ),
    )
    datasets = list(dict.fromkeys(r.dataset for r in scored))
    scales = sorted({r.scale for r in scored})
    width = max(3.2, 0.7 * len(order) + 1.5)
    fig, axes = plt.subplots(
        len(datasets),
        len(scales),
        figsize=(width * len(scales), 3.6 * len(datasets)),
        squeeze=False,
    )
    for (i, dataset), (j, scale) in (
        (a, b) for a in enumerate(datasets) for b in enumerate(scales)
    ):
        ax = axes[i, j]
        found = {r.label: r for r in scored if r.dataset == dataset and r.scale == scale}
        group = [found[m] for m in order if m in found]
        if not group:
            ax.set_visible(False)
            continue
        x = np.arange(len(group))
        values = [float(r.psnr) for r in group]  # type: ignore[arg-type]
        colours = ["#9aa5b1" if r.kind == "interpolation" else "#1f77b4" for r in group]
        ax.bar(x, values, color=colours, width=0.65)
        marks = [float(r.published_psnr) for r in group if r.published_psnr is not None]
        low, high = min(values + marks) - 1.0, max(values + marks) + 0.8
        ax.set_ylim(low, high)
        for k, r in enumerate(group):
            ax.text(k, values[k] + 0.05, f"{values[k]:.2f}", ha="center", va="bottom", fontsize=7)
            ax.text(
                k,
                low + 0.1,
                _cost_text(r),
                ha="center",
                va="bottom",
                fontsize=6,
                rotation=90,
                color="white",
            )
            if r.published_psnr is not None:
                ax.plot([k - 0.38, k + 0.38], [r.published_psnr] * 2, color="black", lw=1.5)
        ax.set_xticks(x)
        ax.set_xticklabels([r.label for r in group], rotation=30, ha="right", fontsize=7)
        scale_text = f"x{int(scale)}" if float(scale).is_integer() else f"x{scale:g}"
        ax.set_title(f"{dataset} {scale_text}", fontsize=9)
        ax.set_ylabel("PSNR (dB)", fontsize=8)
    fig.suptitle(
        title
        or "PSNR against cost (methods ordered by FLOPs, then latency; black tick: published)",
        fontsize=9,
    )
    fig.tight_layout()
    return png_bytes(fig)
