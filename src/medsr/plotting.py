"""matplotlib without a display, and figures written atomically: the one home of both.

Every PNG medsr draws (the demo, the benchmark reports, ``medsr upscale --figure``) goes through
:func:`agg_pyplot` (the Agg backend: no display or GUI toolkit needed) and :func:`save_figure`
(tight layout, written by :func:`medsr.io.atomic.atomic_path`, the figure closed).
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["agg_pyplot", "save_figure"]


def agg_pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: str | os.PathLike[str], *, atomic: bool = True) -> None:
    """Write ``fig`` as a PNG at ``path`` (tight layout) and close it. ``atomic=False`` writes
    ``path`` directly: for a path that is already a staged temporary of an atomic group."""
    from medsr.io.atomic import atomic_path

    try:
        fig.tight_layout()
        if atomic:
            with atomic_path(path) as tmp:
                fig.savefig(tmp, format="png")
        else:
            fig.savefig(path, format="png")
    finally:
        agg_pyplot().close(fig)
