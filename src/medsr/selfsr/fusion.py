"""Fusion of several restorations of the same volume (self-SR's orientations, review section 4.2.2).

SMORE (Zhao et al., *IEEE TMI* 40(3):805-817, 2021, ref. [84]) restores the through-plane planes
of two orthogonal orientations and fuses the two volumes with **Fourier burst accumulation**
(FBA; Delbracio & Sapiro, "Removing camera shake via weighted Fourier burst accumulation",
*IEEE TIP* 24(11):3293-3307, 2015): each frequency of the result is a weighted mean of the
estimates' Fourier coefficients, with weights

    w_i(k) = |G_sigma * |U_i|| (k)^p / sum_j |G_sigma * |U_j|| (k)^p           (FBA, eq. 6)

where U_i is the Fourier transform of estimate i, G_sigma a Gaussian smoothing of the spectrum
magnitude and p >= 0 the power: p = 0 is the plain average, p -> infinity keeps, per frequency,
the estimate with the largest magnitude (the sharpest: a blur only attenuates). Each orientation
restores the detail its planes show best, so FBA keeps the better one per frequency instead of
halving it by the mean.

Written here rather than taken from a library: no maintained package (scikit-image, SciPy,
SimpleITK) provides FBA; it is a few lines over :mod:`scipy.fft`, in single precision.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import fft as sfft
from scipy import ndimage

from medsr.errors import MedsrError

__all__ = ["FUSIONS", "fourier_burst_accumulation", "fuse"]

#: the fusions of :func:`fuse`
FUSIONS: tuple[str, ...] = ("mean", "fba")


def fourier_burst_accumulation(
    estimates: Sequence[np.ndarray], power: float = 8.0, smoothing: float = 1.0
) -> np.ndarray:
    """Fuse same-shape estimates with Fourier burst accumulation (Delbracio & Sapiro 2015, eq. 6).

    Args:
        estimates: two or more arrays of one shape (any number of dimensions, all transformed).
        power: ``p`` of the weights ``|U_i|^p / sum_j |U_j|^p`` (0: the plain mean).
        smoothing: standard deviation, in frequency samples, of the Gaussian applied to each
            spectrum magnitude before the weights are formed (0: none), as Delbracio & Sapiro do
            to make the weights robust to noise.

    Returns:
        The fused array (float32). Equal estimates are returned unchanged (the weights sum to 1).
    """
    if len(estimates) < 2:
        raise MedsrError("Fourier burst accumulation needs at least two estimates")
    shape = np.shape(estimates[0])
    if any(np.shape(e) != shape for e in estimates):
        raise MedsrError("Fourier burst accumulation needs estimates of one shape")
    if not power >= 0 or not smoothing >= 0:
        raise MedsrError(f"FBA power and smoothing must be >= 0, got {power}, {smoothing}")
    spectra = [sfft.rfftn(np.asarray(e, dtype=np.float32)) for e in estimates]
    # the last axis of a real FFT is a half spectrum: no wrap-around there
    modes = ["wrap"] * (len(shape) - 1) + ["nearest"]
    logs = []
    for s in spectra:
        mag = np.abs(s)
        if smoothing > 0:
            mag = ndimage.gaussian_filter(mag, smoothing, mode=modes)
        logs.append(np.log(mag.astype(np.float32, copy=False) + np.float32(1e-20)))
    # weights through log-magnitudes (a softmax of p log|U_i|): |U|^p overflows for large p
    top = np.maximum.reduce(logs)
    raw = [np.exp(power * (lg - top)) for lg in logs]
    total = np.add.reduce(raw)
    fused = np.add.reduce([(r / total) * s for r, s in zip(raw, spectra, strict=True)])
    return np.asarray(sfft.irfftn(fused, s=shape), dtype=np.float32)


def fuse(
    estimates: Sequence[np.ndarray], method: str = "fba", power: float = 8.0
) -> np.ndarray:
    """``"mean"`` of the estimates or their :func:`fourier_burst_accumulation` (``"fba"``) of
    ``power``; one estimate is returned as it is."""
    if method not in FUSIONS:
        raise MedsrError(f"fusion must be one of {', '.join(FUSIONS)}, got {method!r}")
    if len(estimates) == 1:
        return np.asarray(estimates[0], dtype=np.float32)
    if method == "mean":
        return np.mean(np.stack(estimates), axis=0, dtype=np.float32)
    return fourier_burst_accumulation(estimates, power)
