"""Extra training sources for small medical data sets (review section 5): natural-image patches
matched by SIFT (``data.transfer``, ref. [54], :mod:`medsr.train.patch_transfer`) and synthetic
pairs from a trained generator (``data.synthetic``, ref. [86], :mod:`medsr.train.synthetic`).

:func:`add_extra_sources` appends them to the configured sources;
:func:`apply_extra_shares` then gives each group the share of the sampling probability its
section asks for. The one hook of :func:`medsr.train.builders.build_datamodule`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from medsr.errors import MedsrError
from medsr.normalise import Normaliser
from medsr.train.sources import Source

__all__ = ["add_extra_sources", "apply_extra_shares"]


def add_extra_sources(
    cfg: Any, sources: Sequence[Source], normalisation: Normaliser
) -> tuple[list[Source], list[tuple[int, float | None]]]:
    """``(sources + extra ones, [(count, share) per group added])`` for a config."""
    out = list(sources)
    groups: list[tuple[int, float | None]] = []
    if getattr(cfg.data.train, "reference", None) is not None and (
        cfg.data.transfer is not None or cfg.data.synthetic is not None
    ):
        raise MedsrError(
            "config: data.transfer / data.synthetic: added images have no reference contrast; "
            "remove them or data.train.reference"
        )
    transfer = cfg.data.transfer
    if transfer is not None:
        from medsr.train.patch_transfer import sources_from_config

        more = sources_from_config(cfg, sources, normalisation)
        out += more
        groups.append((len(more), transfer.share))
    synthetic = cfg.data.synthetic
    if synthetic is not None:
        from medsr.train.synthetic import sources_from_config as synthetic_sources

        more = synthetic_sources(cfg, normalisation)
        out += more
        groups.append((len(more), synthetic.share))
    return out, groups


def apply_extra_shares(dataset: Any, groups: Sequence[tuple[int, float | None]]) -> None:
    """Set the sampling probabilities of a :class:`~medsr.train.datasets.PatchDataset` whose last
    sources are the ``groups`` of :func:`add_extra_sources`: a group with a share gets that total
    probability (equally split), the remaining sources keep their relative weights (crop
    positions)."""
    if not any(share is not None for _, share in groups):
        return
    p = np.asarray(dataset.probabilities, dtype=np.float64).copy()
    n_extra = sum(n for n, _ in groups)
    fixed = np.zeros(len(p), dtype=bool)
    start = len(p) - n_extra
    total = 0.0
    for n, share in groups:
        if share is not None and n:
            p[start : start + n] = share / n
            fixed[start : start + n] = True
            total += share
        start += n
    if total >= 1.0:
        raise MedsrError("config: data.transfer.share + data.synthetic.share must be below 1")
    free = ~fixed
    p[free] = p[free] / p[free].sum() * (1.0 - total)
    dataset.probabilities = p
