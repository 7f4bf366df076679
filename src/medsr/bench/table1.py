"""Run any SR method through the review's Table-1 protocol (Set5/Set14, x2/x3/x4).

A method is an ``upscale_fn(lr) -> sr``: it receives the LR image as an ``(h, w, C)`` array
(uint8 RGB/grey in "rgb" mode, float64 Y values 0..255 with ``C = 1`` in "y" mode, see
:mod:`medsr.metrics.protocol`) and returns the SR image ``(s h, s w, C)`` (or ``(s h, s w)``)
on the 0..255 scale. Bicubic interpolation (MATLAB ``imresize``) is the baseline row of Table 1.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from medsr.degrade.resize import imresize
from medsr.errors import MedsrError
from medsr.metrics.protocol import Table1Mode, table1_evaluate, table1_pair

__all__ = [
    "PUBLISHED_BICUBIC",
    "ImageScore",
    "Table1Result",
    "UpscaleFn",
    "bicubic_baseline",
    "bicubic_upscale",
    "evaluate_method",
    "list_images",
    "load_uint8",
    "network_upscale",
]

UpscaleFn = Callable[[np.ndarray], np.ndarray]

#: Bicubic row as published (Kim et al., VDSR, CVPR 2016, Table 3; copied by the review's
#: Table 1): {(dataset, scale): (PSNR, SSIM)}.
PUBLISHED_BICUBIC: dict[tuple[str, int], tuple[float, float]] = {
    ("Set5", 2): (33.66, 0.9299),
    ("Set5", 3): (30.39, 0.8682),
    ("Set5", 4): (28.42, 0.8104),
    ("Set14", 2): (30.24, 0.8688),
    ("Set14", 3): (27.55, 0.7742),
    ("Set14", 4): (26.00, 0.7027),
}

_EXTENSIONS = {".png", ".bmp", ".jpg", ".jpeg", ".tif", ".tiff"}


@dataclass(frozen=True)
class ImageScore:
    """Scores of one image."""

    name: str
    psnr: float
    ssim: float


@dataclass
class Table1Result:
    """Per-image scores and their means for one dataset and scale."""

    dataset: str
    scale: int
    mode: str
    images: list[ImageScore] = field(default_factory=list)

    @property
    def psnr(self) -> float:
        return float(np.mean([s.psnr for s in self.images]))

    @property
    def ssim(self) -> float:
        return float(np.mean([s.ssim for s in self.images]))

    def as_dict(self) -> dict:
        return {
            "dataset": self.dataset,
            "scale": self.scale,
            "mode": self.mode,
            "psnr": self.psnr,
            "ssim": self.ssim,
            "images": [{"name": s.name, "psnr": s.psnr, "ssim": s.ssim} for s in self.images],
        }


def list_images(dataset_dir: str | Path) -> list[Path]:
    """The image files of a benchmark folder, sorted by name
    (:func:`medsr.io.discover.find_scans`)."""
    from medsr.io.discover import find_scans

    folder = Path(dataset_dir)
    if not folder.is_dir():
        raise MedsrError(
            f"benchmark folder {folder} does not exist; give the folder holding the images"
        )
    try:
        found = find_scans(folder)
    except MedsrError:  # no scan at all: the message below names the image formats
        found = []
    files = [p for p in found if p.is_file() and p.suffix.lower() in _EXTENSIONS]
    if not files:
        raise MedsrError(f"no images ({', '.join(sorted(_EXTENSIONS))}) in {folder}")
    return files


def load_uint8(path: str | Path) -> np.ndarray:
    """An 8-bit image as stored: H x W for grey files, H x W x 3 for colour (alpha dropped)."""
    from PIL import Image

    with Image.open(path) as im:
        if im.mode == "L":
            return np.asarray(im).copy()
        if im.mode in ("RGB", "RGBA", "P", "LA", "CMYK", "YCbCr"):
            if im.mode == "LA":
                return np.asarray(im.convert("L")).copy()
            return np.asarray(im.convert("RGB")).copy()
        raise MedsrError(f"{path} is a {im.mode} image; Table 1 needs 8-bit grey or RGB images")


def _dataset_name(folder: Path) -> str:
    name = folder.name
    return name[1:] if name.startswith("C") and name[1:2].isupper() else name  # CSet5 -> Set5


def evaluate_method(
    dataset_dir: str | Path,
    scale: int,
    upscale_fn: UpscaleFn,
    *,
    mode: Table1Mode = "rgb",
) -> Table1Result:
    """Scores of ``upscale_fn`` on every image of ``dataset_dir`` with the Table-1 protocol.

    Args:
        dataset_dir: folder of HR images (e.g. ``shared/data/natural/CSet5``).
        scale: 2, 3 or 4.
        upscale_fn: LR ``(h, w, C)`` -> SR ``(s h, s w, C)`` on 0..255 (see module docstring).
        mode: "rgb" or "y" (:func:`medsr.metrics.protocol.table1_pair`).
    """
    folder = Path(dataset_dir)
    result = Table1Result(dataset=_dataset_name(folder), scale=int(scale), mode=mode)
    for path in list_images(folder):
        hr, lr = table1_pair(load_uint8(path), scale, mode=mode)
        lr_in = lr if lr.ndim == 3 else lr[..., None]
        sr = np.asarray(upscale_fn(lr_in))
        if sr.ndim == 3 and sr.shape[2] == 1 and hr.ndim == 2:
            sr = sr[..., 0]
        if sr.shape != hr.shape:
            raise MedsrError(
                f"{path.name}: the method returned shape {sr.shape}, expected {hr.shape} "
                f"(scale {scale} times the LR {lr.shape[:2]})"
            )
        p, s = table1_evaluate(hr, sr, scale)
        result.images.append(ImageScore(path.name, p, s))
    return result


def bicubic_upscale(scale: int) -> UpscaleFn:
    """The baseline method: MATLAB bicubic ``imresize(lr, s)`` (uint8 in -> uint8 out, as
    MATLAB)."""

    def upscale(lr: np.ndarray) -> np.ndarray:
        return imresize(lr, float(scale))

    return upscale


def bicubic_baseline(
    dataset_dir: str | Path, scale: int, *, mode: Table1Mode = "rgb"
) -> Table1Result:
    """The bicubic row of Table 1 for one dataset and scale."""
    return evaluate_method(dataset_dir, scale, bicubic_upscale(scale), mode=mode)


def network_upscale(
    weights: str | Path, scale: int, *, mode: Table1Mode = "rgb", device: str = "cpu"
) -> UpscaleFn:
    """A trained medsr network (``model.safetensors`` + ``model.json``) as an ``upscale_fn``.

    The network must be 2D, of the benchmark's scale, with 1 input channel (``mode="y"``, or grey
    images) or 3 (``mode="rgb"``; grey images are fed as three equal channels and the output
    channels averaged). Intensities go through the normalisation stored in ``model.json``
    (:class:`medsr.normalise.Normaliser`, e.g. ``minmax`` 0..255 -> 0..1) and back. The
    whole LR image is processed at once (Set5/Set14 images are small).
    """
    import torch

    from medsr.models.io import load_weights
    from medsr.normalise import Normaliser

    model, meta = load_weights(weights, device=device)
    if int(meta["dims"]) != 2:
        raise MedsrError(f"{weights} is a {meta['dims']}D network; Table 1 needs a 2D one")
    model_scale = meta["scale"] if isinstance(meta["scale"], list) else [meta["scale"]] * 2
    if any(float(s) != float(scale) for s in model_scale):
        raise MedsrError(
            f"{weights} upscales by {tuple(model_scale)}, the benchmark by {scale}; use weights of "
            "that scale"
        )
    channels = int(meta["in_channels"])
    if (
        channels not in (1, 3)
        or (mode == "rgb" and channels == 1)
        or (mode == "y" and channels == 3)
    ):
        want = "y" if channels == 1 else "rgb"
        raise MedsrError(f"{weights} takes {channels} channel(s); evaluate it in mode {want!r}")
    spec = meta.get("normalisation")

    def upscale(lr: np.ndarray) -> np.ndarray:
        x = lr.astype(np.float32)
        grey_in_rgb = channels == 3 and x.shape[2] == 1
        if grey_in_rgb:
            x = np.repeat(x, 3, axis=2)
        norm = Normaliser.from_dict(spec)  # fresh per image: per-image kinds are fitted to it
        xin = norm.forward(x)
        with torch.no_grad():
            t = torch.from_numpy(np.ascontiguousarray(np.moveaxis(xin, -1, 0)))[None].to(device)
            out = model(t)[0].detach().to("cpu").numpy()
        sr = norm.inverse(np.moveaxis(out, 0, -1)).astype(np.float64)
        return sr.mean(axis=2, keepdims=True) if grey_in_rgb else sr

    return upscale
