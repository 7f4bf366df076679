"""The evaluation protocol of the review's Table 1 (the standard single-image SR benchmark).

Li, Sixou & Peyrin (IRBM 2021), Table 1, collects PSNR/SSIM on Set5/Set14 at x2/x3/x4 from the
papers it reviews. Those numbers follow one protocol (Dong et al., SRCNN, TPAMI 2016; Kim et al.,
VDSR, CVPR 2016):

1. HR: the image cropped to a multiple of the scale (``modcrop``).
2. LR: MATLAB ``imresize(hr, 1/s, 'bicubic')`` (:func:`medsr.degrade.resize.imresize`).
3. SR: clamped to 0..255 and rounded to uint8.
4. Scores on the luma Y (ITU-R BT.601, :func:`rgb_to_y`) of colour images and on the grey values
   of grey images, ``s`` pixels cropped from each border; PSNR with ``R = 255``; SSIM of Wang et
   al. 2004 (Gaussian 11 / 1.5, population variances, mean over the valid region, ``R = 255``,
   see :func:`medsr.metrics.ssim.ssim`).

Two ways of making the LR image exist in the literature, both offered as ``mode``:

* ``"y"`` (SRCNN/VDSR, the source of the published bicubic row): the HR is first converted to
  Y and rounded to uint8 (MATLAB ``rgb2ycbcr`` on uint8), the LR is the bicubic downscale of that
  Y plane kept in floating point, networks see one channel. With it our bicubic baseline gives
  Set5 33.661/0.9299, 30.392/0.8682, 28.421/0.8104 (published 33.66/0.9299, 30.39/0.8682,
  28.42/0.8104) and Set14 30.232/0.8687, 27.541/0.7736, 26.000/0.7019 (published 30.24/0.8688,
  27.55/0.7742, 26.00/0.7027).
* ``"rgb"`` (EDSR/RCAN and later): the RGB image is downscaled in uint8 exactly as MATLAB
  does for uint8 input, networks see RGB; scores on Y of the rounded RGB output (Y in floating
  point, as ``rgb2ycbcr(im2double(...))``). Bicubic: Set5 33.673/0.9303, 30.403/0.8689,
  28.429/0.8111; Set14 30.230/0.8691, 27.537/0.7745, 25.994/0.7029 (all within 0.015 dB).

The SSIM variant was chosen by reproducing the published bicubic SSIM: the valid-region Gaussian
SSIM matches Set5 to 4 decimals in ``"y"`` mode; MATLAB's built-in ``ssim`` (replicate padding,
full-image mean) and Wang's later ``ssim.m`` (automatic down-sampling) do not.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from medsr.degrade.resize import imresize
from medsr.errors import MedsrError
from medsr.metrics.colour import rgb_to_y
from medsr.metrics.pixel import psnr
from medsr.metrics.ssim import ssim

__all__ = ["Table1Mode", "luma", "modcrop", "table1_evaluate", "table1_pair", "to_uint8"]

Table1Mode = Literal["y", "rgb"]


def to_uint8(x: np.ndarray) -> np.ndarray:
    """MATLAB ``uint8(x)``: saturate to 0..255 and round half away from zero."""
    a = np.asarray(x, dtype=np.float64)
    return np.floor(np.clip(a, 0.0, 255.0) + 0.5).astype(np.uint8)


def _check_image(img: np.ndarray, name: str) -> np.ndarray:
    a = np.asarray(img)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] == 3)):
        raise MedsrError(
            f"{name} must be an H x W grey or H x W x 3 RGB image, got shape {a.shape}"
        )
    return a


def modcrop(img: np.ndarray, scale: int) -> np.ndarray:
    """Crop the bottom/right so that height and width are multiples of ``scale`` (SRCNN)."""
    s = _check_scale(scale)
    h, w = img.shape[:2]
    if h < s or w < s:
        raise MedsrError(f"image of {h}x{w} pixels is smaller than the scale {s}")
    return img[: h - h % s, : w - w % s]


def _check_scale(scale: int) -> int:
    if int(scale) != scale or scale < 1:
        raise MedsrError(f"the Table-1 scale must be a positive integer (2, 3, 4), got {scale}")
    return int(scale)


def luma(img: np.ndarray) -> np.ndarray:
    """The channel scored by Table 1: Y (float64) of an RGB image, the values of a grey one."""
    a = _check_image(img, "image")
    return rgb_to_y(a) if a.ndim == 3 else a.astype(np.float64)


def table1_pair(
    hr_uint8: np.ndarray, scale: int, *, mode: Table1Mode = "rgb"
) -> tuple[np.ndarray, np.ndarray]:
    """HR (cropped) and LR images of the Table-1 protocol.

    Args:
        hr_uint8: H x W (grey) or H x W x 3 (RGB) uint8 image.
        scale: integer factor (2, 3, 4).
        mode: "rgb" -> HR cropped as given and LR = ``imresize(hr, 1/s)`` in uint8 (MATLAB,
            uint8 in and out); "y" -> HR = Y plane as uint8 (grey images kept) and LR = its bicubic
            downscale in float64 (0..255, not rounded), as SRCNN/VDSR.

    Returns:
        ``(hr_cropped, lr)``: ``hr_cropped`` uint8 (H x W x 3 or H x W); ``lr`` uint8 in "rgb"
        mode, float64 in "y" mode, ``scale`` times smaller.
    """
    hr = _check_image(hr_uint8, "HR image")
    if hr.dtype != np.uint8:
        raise MedsrError(
            f"Table-1 HR images are 8-bit; got dtype {hr.dtype} (convert to uint8 first)"
        )
    s = _check_scale(scale)
    hr = modcrop(hr, s)
    out_shape = (hr.shape[0] // s, hr.shape[1] // s)
    if mode == "rgb":
        lr = imresize(hr, 1.0 / s)  # uint8 in, uint8 out, rounded after each pass (MATLAB)
        hr_out = hr.copy()
    elif mode == "y":
        hr_out = to_uint8(rgb_to_y(hr)) if hr.ndim == 3 else hr.copy()
        lr = imresize(hr_out.astype(np.float64), 1.0 / s)
    else:
        raise MedsrError(f"unknown Table-1 mode {mode!r}; use 'rgb' or 'y'")
    if lr.shape[:2] != out_shape:  # ceil(n / s) == n / s after modcrop; guard float surprises
        raise MedsrError(f"internal: LR shape {lr.shape[:2]} != {out_shape}; please report")
    return hr_out, lr


def table1_evaluate(hr_uint8: np.ndarray, sr: np.ndarray, scale: int) -> tuple[float, float]:
    """PSNR (dB) and SSIM of an SR image against its HR, the Table-1 way.

    Args:
        hr_uint8: the cropped HR from :func:`table1_pair` (RGB, grey, or a Y plane).
        sr: the SR result, same shape, values on the 0..255 scale (any float); clamped and
            rounded to uint8 first.
        scale: pixels cropped from each border (= the SR factor).

    Returns:
        ``(psnr, ssim)`` on Y (colour) or grey values, data range 255.
    """
    hr = _check_image(hr_uint8, "HR image")
    out = _check_image(sr, "SR image")
    if hr.shape != out.shape:
        raise MedsrError(
            f"SR image shape {out.shape} differs from the HR shape {hr.shape}; the SR must be "
            "scale times the LR (crop the HR with table1_pair)"
        )
    s = _check_scale(scale)
    if min(hr.shape[:2]) <= 2 * s + 10:
        raise MedsrError(f"image {hr.shape[:2]} too small for the border crop of {s} and SSIM")
    ref = luma(hr)[s:-s, s:-s]
    test = luma(to_uint8(out))[s:-s, s:-s]
    return psnr(ref, test, data_range=255.0), ssim(ref, test, data_range=255.0)
