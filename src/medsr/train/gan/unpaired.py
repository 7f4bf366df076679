"""Unpaired training data shared by the unsupervised GANs: CinCGAN (review ref. [52], Yuan et al.
2018) and unpaired GAN-CIRCLE (review ref. [72], You et al. 2020).

Both papers learn from an LR set and an HR set that share no image. :func:`split_domains` splits
the training images into the two domains (whole images/scans apart); :class:`UnpairedPatches`
draws, per item, an HR-domain patch and an independent LR-domain patch, and records which image
each came from (``lr_source`` / ``hr_source``, indices into :attr:`UnpairedPatches.all_sources`),
so tests and users can check that the domains never meet.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from medsr.errors import MedsrError
from medsr.train.datasets import PatchDataset
from medsr.train.sampling import SamplingSpec, to_model_axes
from medsr.train.sources import Source


def split_domains(sources: Sequence[Source], lr_share: float) -> tuple[list[Source], list[Source]]:
    """``(LR-domain, HR-domain)`` sources: whole images/scans, evenly spaced over the (sorted)
    list, ``round(n * lr_share)`` of them (at least one each) to the LR domain."""
    n = len(sources)
    if n < 2:
        raise MedsrError(
            f"config: data.train: CinCGAN needs unpaired LR and HR sets, i.e. at least 2 training "
            f"images to split, got {n}"
        )
    n_lr = min(n - 1, max(1, round(n * lr_share)))
    lr_idx = {round(v) for v in np.linspace(0, n - 1, n_lr)}
    return [s for i, s in enumerate(sources) if i in lr_idx], [
        s for i, s in enumerate(sources) if i not in lr_idx
    ]


class UnpairedPatches(PatchDataset):
    """Two domains that share no image: this data set cuts HR-domain patches (with ``hr_spec``),
    :attr:`lr_domain` cuts LR-domain patches (with ``lr_spec``), from independent random streams
    of ``(seed, epoch, index)``.

    Subclasses build their items from :meth:`draw_pair`.
    """

    def __init__(
        self,
        lr_sources: Sequence[Source],
        hr_sources: Sequence[Source],
        hr_spec: SamplingSpec,
        lr_spec: SamplingSpec,
        length: int,
        seed: int = 0,
    ) -> None:
        super().__init__(hr_sources, hr_spec, length, seed)
        self.lr_domain = PatchDataset(lr_sources, lr_spec, length, seed)
        self.all_sources = list(lr_sources) + list(hr_sources)

    def draw_pair(
        self, epoch: int, index: int
    ) -> tuple[dict[str, torch.Tensor], tuple[np.ndarray, Source]]:
        """``({"lr", "hr", "lr_source", "hr_source"}, (z, hr_src))``: an LR-domain patch (degraded
        by ``lr_spec``), an HR-domain patch, their source indices, and the HR patch's own
        degraded version ``z`` (by ``hr_spec``, in data axes) with its source."""
        src_y, y, z = self._draw(np.random.default_rng([self.seed, int(epoch), int(index), 0]))
        lr_set = self.lr_domain
        src_x, _, x = lr_set._draw(np.random.default_rng([self.seed, int(epoch), int(index), 1]))
        ids = {id(s): i for i, s in enumerate(self.all_sources)}
        item = {
            "lr": self.tensor(x, src_x, lr_set.spec),
            "hr": self.tensor(y, src_y, self.spec),
            "lr_source": torch.tensor(ids[id(src_x)]),
            "hr_source": torch.tensor(ids[id(src_y)]),
        }
        return item, (z, src_y)

    @staticmethod
    def tensor(a: np.ndarray, src: Source, spec: SamplingSpec) -> torch.Tensor:
        """A patch of ``src`` cut with ``spec`` as a float32 tensor in model axes."""
        arr = to_model_axes(a, spec.axes_for(src))
        return torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32))
