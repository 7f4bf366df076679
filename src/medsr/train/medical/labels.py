"""Training patches with their segmentation labels, for the T-L network (review ref. [80]).

Oktay et al., "Anatomically constrained neural networks (ACNNs)", IEEE TMI 37(2):384-395 (2018)
train the T-L network's label auto-encoder on segmentation maps and its predictor on the matching
intensity images. :class:`LabelledPatchDataset` cuts the HR patch and the label patch at the same
place (same flips/rotations), makes LR from the HR patch with the recipe's operator, and returns
``{"lr", "hr", "labels"}`` with the labels one-hot, ``(classes, *patch)``.
:func:`load_label_maps` reads the maps (``tl.labels``) and pairs them with the training images.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from medsr.errors import MedsrError
from medsr.train.augment import geometric, intensity, warps_enabled
from medsr.train.datasets import PatchDataset
from medsr.train.sampling import SamplingSpec, crop_start, interpolate_to, to_model_axes
from medsr.train.sources import Source, _key, list_files

__all__ = ["LabelledPatchDataset", "load_label_maps"]


def load_label_maps(
    spec: str, sources: Sequence[Source], classes: int, *, where: str = "tl.labels"
) -> dict[str, np.ndarray]:
    """``{source name: (1, X, Y, Z) int64 labels}`` for every training source.

    One label file pairs with a single training image; otherwise files pair by name without
    extension. Labels must be whole numbers in ``0 .. classes - 1`` on the image's grid.
    """
    from medsr.io import read
    from medsr.io.atomic import full_suffix

    files = list_files(spec)
    by_key = {_key(p): p for p in files}
    out: dict[str, np.ndarray] = {}
    for src in sources:
        if len(files) == 1 and len(sources) == 1:
            path = files[0]
        else:
            suffix = full_suffix(src.name)
            path = by_key.get(src.name[: len(src.name) - len(suffix)] if suffix else src.name)
            if path is None:
                raise MedsrError(
                    f"config: {where}: no label map for {src.name} in {spec} (maps pair with "
                    "the training images by file name without extension)"
                )
        data = read(path).data
        if tuple(data.shape[1:]) != src.shape:
            # a map of the whole file, the image cut (data.*.slices, a held-out slab): cut alike
            box = tuple(slice(o, o + n) for o, n in zip(src.origin, src.shape))
            if all(b.stop <= n for b, n in zip(box, data.shape[1:])):
                data = data[(slice(None), *box)]
        if data.shape[0] != 1 or tuple(data.shape[1:]) != src.shape:
            raise MedsrError(
                f"config: {where}: {path.name} has shape {tuple(data.shape)}, but {src.name} needs "
                f"one channel on its grid {src.shape}"
            )
        if not np.array_equal(data, np.round(data)) or data.min() < 0 or data.max() >= classes:
            raise MedsrError(
                f"config: {where}: {path.name} must hold whole labels 0..{classes - 1} (the "
                f"network's classes), found {float(data.min()):g}..{float(data.max()):g}"
            )
        out[src.name] = data.astype(np.int64)
    return out


class LabelledPatchDataset(PatchDataset):
    """:class:`~medsr.train.datasets.PatchDataset` whose samples also carry one-hot labels.

    ``dataset[(epoch, index)] -> {"lr", "hr", "labels"}``, a pure function of ``(seed, epoch,
    index)``. Geometric augmentation (flips, rotations, transposes) moves image and labels
    together; warps and the bias field are refused (they would resample the labels), intensity
    augmentation touches the images only.
    """

    def __init__(
        self,
        sources: Sequence[Source],
        spec: SamplingSpec,
        length: int,
        labels: dict[str, np.ndarray],
        classes: int,
        seed: int = 0,
    ) -> None:
        super().__init__(sources, spec, length, seed)
        aug = spec.augment
        if warps_enabled(aug) or (aug is not None and aug.bias_field > 0):
            raise MedsrError(
                "config: data.augment: labelled training (task tl_net) takes flips, rotations "
                "and intensity changes only; set rotate/scale/elastic/bias_field to 0"
            )
        missing = [s.name for s in self.sources if s.name not in labels]
        if missing:
            raise MedsrError(f"config: tl.labels: no label map for {missing[0]}")
        self.labels = labels
        self.classes = int(classes)

    def item(self, epoch: int, index: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng([self.seed, int(epoch), int(index)])
        src = self.sources[int(rng.choice(len(self.sources), p=self.probabilities))]
        axes = self.spec.axes_for(src)
        factors = self.spec.factors3(src)
        patch = self.spec.patch3(src)
        start = crop_start(src, patch, self.spec.foreground_probability, rng)
        sl = (slice(None),) + tuple(slice(s, s + p) for s, p in zip(start, patch))
        hr, lab = geometric(
            [src.hr[sl], self.labels[src.name][sl]], axes, factors, self.spec.augment, rng
        )
        hr = np.ascontiguousarray(hr)
        lr = self.degrade(hr, src, rng)
        hr_n, lr_n = intensity(src.norm.forward(hr), src.norm.forward(lr), self.spec.augment, rng)
        if self.spec.interpolate_lr:
            lr_n = interpolate_to(lr_n, hr_n.shape[1:])
        onehot = np.eye(self.classes, dtype=np.float32)[np.ascontiguousarray(lab[0])]
        onehot = np.moveaxis(onehot, -1, 0)  # (classes, X, Y, Z)

        def tensor(x: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(np.ascontiguousarray(to_model_axes(x, axes), dtype=np.float32))

        return {"lr": tensor(lr_n), "hr": tensor(hr_n), "labels": tensor(onehot)}
