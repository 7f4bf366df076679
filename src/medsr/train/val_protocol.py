"""Validation scored with the benchmarks' protocols, so that validation and benchmark agree.

Training validation used to score the normalised network output against the normalised HR
(PSNR with range 1 or the item's range, no rounding, no border crop). The benchmarks score
differently, and the two disagreed by up to half a dB (ESPCN: 0.05 dB below interpolation in
validation, 0.5 dB above in Table 1). Each validation item now carries what its protocol needs
(:func:`protocol_item`) and :func:`protocol_metrics` scores SR and the interpolation baseline
with it, in physical intensities (the item's normaliser inverted):

* pictures (2D images, one luma/grey channel or RGB, whole scale factors): the Table-1 protocol
  of the review (Li, Sixou & Peyrin, IRBM 2021, Table 1; Dong et al. 2016, Kim et al. 2016) --
  HR rounded to uint8, SR clamped to 0..255 and rounded, ``s`` border pixels cropped, PSNR and
  SSIM on Y with ``R = 255`` (:func:`medsr.metrics.protocol.table1_evaluate`). Simplified: the
  validation LR is made from the unrounded luma (Table 1's "y" mode rounds the Y plane first).
* scans (slices or blocks of volumes, one channel): PSNR and SSIM inside the head mask of the
  HR (:func:`medsr.bench.selfsr.head_mask`, the medical benchmarks' mask) with the HR's
  intensity range as ``R`` (review section 5.2, eq. of PSNR; SSIM of Wang et al. 2004).

``val/psnr``, ``val/ssim`` and ``val/psnr_interp`` are these values when an item has a
protocol (``best.ckpt`` and ``model.json`` follow them); other items keep the normalised scores.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from medsr.errors import MedsrError

__all__ = ["NONE", "SCAN", "TABLE1", "protocol_item", "protocol_metrics"]

NONE, TABLE1, SCAN = 0, 1, 2


def protocol_item(
    hr: np.ndarray, offset: float, scale: float, *, is_2d: bool, factors: tuple[float, ...]
) -> dict[str, torch.Tensor] | None:
    """What a validation item needs for its protocol, or None (no protocol applies).

    Args:
        hr: the HR item in physical units, model axes ``(C, *spatial)``.
        offset, scale: the item's normaliser (``n = (x - offset) / scale``).
        is_2d: the item comes from a picture (Table 1) rather than a volume (head mask).
        factors: the model's scale per model axis.
    """
    channels = hr.shape[0]
    spatial = hr.shape[1:]
    if is_2d:
        whole = all(float(f).is_integer() for f in factors) and len(set(factors)) == 1
        border = int(factors[0]) if whole else 0
        if not whole or channels not in (1, 3) or min(spatial) <= 2 * border + 10:
            return None
        kind, mask = TABLE1, np.ones(spatial, dtype=bool)
    else:
        if channels != 1:
            return None
        from medsr.bench.selfsr import head_mask

        kind, border, mask = SCAN, 0, head_mask(hr[0])
        if not mask.any():
            return None
    return {
        "kind": torch.tensor(kind),
        "offset": torch.tensor(float(offset), dtype=torch.float64),
        "scale": torch.tensor(float(scale), dtype=torch.float64),
        "border": torch.tensor(border),
        "mask": torch.from_numpy(np.ascontiguousarray(mask)),
    }


def _scores(kind: int, hr: np.ndarray, out: np.ndarray, border: int, mask: np.ndarray):
    from medsr.metrics import psnr, ssim

    if kind == TABLE1:
        from medsr.metrics.protocol import table1_evaluate, to_uint8

        ref = to_uint8(np.moveaxis(hr, 0, -1) if hr.shape[0] == 3 else hr[0])
        test = np.moveaxis(out, 0, -1) if out.shape[0] == 3 else out[0]
        return table1_evaluate(ref, test, border)
    ref, test = hr[0], out[0]
    r = float(ref.max() - ref.min()) or 1.0
    p = psnr(ref, test, data_range=r, mask=mask)
    try:
        s = ssim(ref, test, data_range=r, mask=mask)
    except MedsrError:  # an axis thinner than the SSIM window
        s = float("nan")
    return p, s


def protocol_metrics(
    protocol: dict[str, Any], hr: torch.Tensor, sr: torch.Tensor, base: torch.Tensor | None
) -> dict[str, float]:
    """``val/psnr``, ``val/ssim`` (and ``val/psnr_interp`` of ``base``) of a validation batch with
    its protocol (means over the batch); empty when the batch has none."""
    kinds = protocol["kind"].reshape(-1).tolist()
    if not kinds or any(k == NONE for k in kinds):
        return {}
    psnrs, ssims, bases = [], [], []
    for i, kind in enumerate(kinds):
        off, sc = float(protocol["offset"][i]), float(protocol["scale"][i])
        border, mask = int(protocol["border"][i]), protocol["mask"][i].cpu().numpy()

        def phys(x: torch.Tensor, *, i: int = i, sc: float = sc, off: float = off) -> np.ndarray:
            return x[i].detach().double().cpu().numpy() * sc + off

        ref = phys(hr)
        p, s = _scores(kind, ref, phys(sr), border, mask)
        psnrs.append(p)
        ssims.append(s)
        if base is not None:
            bases.append(_scores(kind, ref, phys(base), border, mask)[0])
    out = {"val/psnr": float(np.mean(psnrs)), "val/ssim": float(np.mean(ssims))}
    if bases:
        out["val/psnr_interp"] = float(np.mean(bases))
    return out
