"""Development cases of self-SR on held-out-like geometry, made from ``chris_t1`` only.

The held-out benchmark (:mod:`medsr.bench.selfsr_heldout`) simulates x4 thick slices along an
*in-plane* axis of real 2D acquisitions, so the planes self-SR learns from are themselves
anisotropic. These cases copy that geometry from the isotropic development scan ``chris_t1``
(0.88 mm): the scan is first given x3 Gaussian slices along z (0.88 x 0.88 x 2.64 mm,
188 x 256 x 63, :func:`medsr.bench.selfsr.simulate_thick_slices`) -- that volume is the truth --
then the same protocol as the held-out scans runs on it (x4 Gaussian slices along x, PSNR inside
the head, gain over cubic B-spline).

* ``t1-aniso`` -- the whole 63-slice volume (like chris_PD, 54 slices of 2.4 mm);
* ``t1-aniso-24`` / ``24b`` / ``24c`` -- windows of 24 slices along z (like the T1 DICOM series,
  24 slices of 1.5 mm): the central one, and the ones 16 slices below and above it;
* ``t1-fine-24`` -- chris_t1 first zoomed x1.5 in-plane (B-spline, 0.59 mm pixels finer than its
  detail, as a scanner's interpolated 512 matrix; the T1 DICOM's spectrum falls as steeply), then
  x2.5 slices along z (2.2 mm: 3.75 times the in-plane spacing, the DICOM's 1.5 / 0.41 = 3.66)
  and the central window of 24 slices;
* ``remap-24`` -- t1-aniso-24 in another contrast (:func:`remap_contrast`: CSF bright, white
  matter darker than grey matter, as in proton density);
* ``rect-24`` -- t1-aniso-24 with rectangular slices along z (a real MR slice profile is closer
  to a rectangle than to the Gaussian the cross-scale pairs assume);
* ``noisy-24`` -- t1-aniso-24 from chris_t1 with Rician noise added first (3 % of the robust
  range; a real 2D acquisition's noise is independent from pixel to pixel in-plane);
* ``kspace-24`` -- t1-aniso-24 from chris_t1 with two thirds of its in-plane k-space, zero-filled
  back onto its grid (a 2D Fourier acquisition's sinc point-spread function, with ringing);
* ``scanner-24`` / ``24b`` / ``24c`` -- the T1 DICOM series' acquisition copied as a whole
  (:func:`scanner_volume`): a 3D acquisition whose partitions along z are 4 in-plane pixels thick
  (chris_t1 given x2 Gaussian slices along z), with thermal noise at the series' level (complex
  Gaussian; 2.6 % of the robust range in the truth, as measured in the series' air) in the truth
  itself, shown on the scanner's interpolated matrix (k-space zero-filled x2 in-plane,
  magnitude); windows of 24 slices as t1-aniso-24 / 24b / 24c.

Defaults of self-SR are chosen on these cases (and the built-in brain), never on a held-out scan.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from medsr.errors import MedsrError
from medsr.volume import Volume

__all__ = [
    "DEV_CASES",
    "T1_FILE",
    "DevCase",
    "cases_figure",
    "dev_case",
    "read_t1",
    "remap_contrast",
    "run_dev",
    "scanner_volume",
    "zero_filled",
]

#: the x3 slices along z that make chris_t1's planes anisotropic, as a 2D acquisition's are
Z_FACTOR = 3.0
#: the slices of the windowed cases (the T1 DICOM series has 24)
WINDOW = 24
#: the development scan, in the data folder of the held-out scans
T1_FILE = "chris_t1.nii.gz"


@dataclass(frozen=True)
class DevCase:
    """One development case: a name, its window along z (None: every slice) as an offset of the
    window's start from the centred window's start, the in-plane zoom of chris_t1 before the
    slices along z (B-spline; > 1: pixels finer than the detail, as a scanner's interpolated
    matrix), the factor and profile of those slices, the contrast (``"t1"``, or
    ``"remapped"``: :func:`remap_contrast`) and the Rician noise added to chris_t1 first
    (:class:`medsr.degrade.noise.RicianNoise`, seed 0; the standard deviation of each of its
    real and imaginary parts as a fraction of the robust range), and the
    in-plane k-space kept before that (:func:`zero_filled`; 1: all of it). With ``zip`` > 1 the
    case is a scanner's 3D acquisition instead (:func:`scanner_volume`): the slices along z come
    first, then ``noise`` as complex Gaussian noise, then the in-plane matrix interpolated ``zip``
    times by zero-filling."""

    name: str
    offset: int | None
    zoom: float = 1.0
    z_factor: float = Z_FACTOR
    contrast: str = "t1"
    z_profile: str = "gaussian"
    noise: float = 0.0
    kspace: float = 1.0
    zip: int = 1


#: the scanner cases' noise, as a fraction of the robust range before the noise: it gives the truth
#: the T1 DICOM series' noise, sigma / robust range = 0.026 (sigma 22 from a Rayleigh fit to the
#: series' air, 40 x 40 corners of every slice, over its robust range of 840)
SCANNER_NOISE = 0.0235

DEV_CASES: tuple[DevCase, ...] = (
    DevCase("t1-aniso-24", 0),
    DevCase("t1-aniso-24b", -16),
    DevCase("t1-aniso-24c", 16),
    DevCase("t1-aniso", None),
    DevCase("t1-fine-24", 0, zoom=1.5, z_factor=2.5),
    DevCase("remap-24", 0, contrast="remapped"),
    DevCase("rect-24", 0, z_profile="rect"),
    DevCase("noisy-24", 0, noise=0.03),
    DevCase("kspace-24", 0, kspace=1.5),
    DevCase("scanner-24", 0, z_factor=2.0, noise=SCANNER_NOISE, zip=2),
    DevCase("scanner-24b", -16, z_factor=2.0, noise=SCANNER_NOISE, zip=2),
    DevCase("scanner-24c", 16, z_factor=2.0, noise=SCANNER_NOISE, zip=2),
)

#: :func:`remap_contrast`'s lookup table, in units of the robust range: T1's background, CSF,
#: grey matter, white matter and the brightest tissue (fat) map to a proton-density-like order
REMAP_IN = (0.0, 0.04, 0.15, 0.30, 0.50, 0.72, 0.90, 1.20)
REMAP_OUT = (0.0, 0.30, 0.90, 0.85, 0.75, 0.60, 0.50, 0.50)


def zero_filled(data: np.ndarray, factor: float) -> np.ndarray:
    """A 2D Fourier acquisition's in-plane point-spread function (development only): the central
    ``1 / factor`` of k-space along x and y kept (:class:`medsr.degrade.KSpaceTruncation`, no
    window), reconstructed by zero-filling on the same grid (the scanner's interpolated matrix:
    a sinc, with its Gibbs ringing), as a magnitude image."""
    from medsr.degrade.kspace import KSpaceTruncation

    op = KSpaceTruncation((factor, factor, 1.0))
    low = op.apply_array(np.asarray(data, dtype=np.float32))
    return np.abs(op.pseudo_inverse_array(low, np.shape(data)[1:])).astype(np.float32)


def scanner_volume(
    volume: Volume, z_factor: float, noise: float, zip_factor: int, seed: int = 0
) -> Volume:
    """A scanner's 3D acquisition of ``volume`` (development only), in the order a scanner makes
    it: partitions along z (:func:`medsr.bench.selfsr.simulate_thick_slices`, Gaussian, factor
    ``z_factor``), thermal noise (complex Gaussian of standard deviation ``noise`` x the robust
    range, white in k-space, drawn from ``seed``), then the interpolated in-plane matrix: k-space
    zero-filled ``zip_factor`` times along x and y (:meth:`KSpaceTruncation.pseudo_inverse_array`,
    exact band-limited interpolation, as Siemens' "interpolation" or GE's "ZIP 512" show a 256
    matrix at 512) and the magnitude. The noise is in the truth, correlated over ``zip_factor``
    pixels in-plane and white along z, as in the T1 DICOM series."""
    from medsr.bench.selfsr import simulate_thick_slices
    from medsr.degrade.kspace import KSpaceTruncation
    from medsr.normalise import robust_range
    from medsr.volume import TargetGrid

    thick = simulate_thick_slices(volume, 2, z_factor, profile="gaussian").lr
    real = np.asarray(thick.data, dtype=np.float32)
    _, span = robust_range(real)
    rng = np.random.default_rng(seed)
    sigma = np.float32(noise * span)
    parts = [real + sigma * rng.standard_normal(real.shape, dtype=np.float32),
             sigma * rng.standard_normal(real.shape, dtype=np.float32)]
    grid = TargetGrid.from_factors(thick, (zip_factor, zip_factor, 1.0))
    op = KSpaceTruncation((zip_factor, zip_factor, 1.0))
    re, im = (op.pseudo_inverse_array(p, grid.shape) for p in parts)
    return thick.with_data(np.hypot(re, im).astype(np.float32), grid.affine)


def remap_contrast(data: np.ndarray) -> np.ndarray:
    """Another contrast from a T1 scan (development only): the intensities through a fixed
    piecewise-linear lookup table (:data:`REMAP_IN` -> :data:`REMAP_OUT`, robust-range units)
    that makes CSF bright and white matter darker than grey matter, as in proton density. The
    synthetic contrasts of domain randomisation (Billot et al., SynthSeg, Medical Image Analysis
    2023) in one fixed draw; a development scan of another contrast than T1, so that levers fitted
    to T1 (a prior trained on T1) show their cost before a held-out scan does."""
    from medsr.normalise import robust_range

    low, span = robust_range(data)
    u = (np.asarray(data, dtype=np.float32) - low) / span
    return (np.interp(u, REMAP_IN, REMAP_OUT) * span + low).astype(np.float32)


def read_t1(data_dir: Path) -> Volume:
    """The development scan, ``data_dir / T1_FILE``."""
    from medsr.io import read

    return read(data_dir / T1_FILE)


def dev_case(t1: Volume, case: DevCase, factor: float = 4.0) -> Any:
    """The :class:`medsr.bench.selfsr.ThickSliceCase` of ``case`` from ``t1`` (chris_t1, read by
    :func:`read_t1`; not modified): truth = the z-thick volume (cropped to the window), LR = its
    x4 thick slices along x."""
    from medsr.bench.selfsr import simulate_thick_slices
    from medsr.degrade.noise import RicianNoise
    from medsr.infer import upscale
    from medsr.normalise import robust_range
    from medsr.volume import TargetGrid, crop_affine

    if case.kspace != 1.0:
        t1 = t1.with_data(zero_filled(np.asarray(t1.data), case.kspace))
    if case.noise > 0 and case.zip == 1:
        _, span = robust_range(np.asarray(t1.data))
        noise = RicianNoise(case.noise, relative=True, intensity_range=span)
        t1 = t1.with_data(noise.apply_array(np.asarray(t1.data), rng=0))
    if case.contrast == "remapped":
        t1 = t1.with_data(remap_contrast(np.asarray(t1.data)))
    elif case.contrast != "t1":
        raise MedsrError(f"case {case.name}: contrast must be t1 or remapped, got {case.contrast}")
    if case.zoom != 1.0:
        grid = TargetGrid.from_factors(t1, (case.zoom, case.zoom, 1.0))
        t1 = upscale(t1, grid, method="bspline").volume
    if case.zip > 1:
        if case.z_profile != "gaussian":
            raise MedsrError(f"case {case.name}: a scanner case has Gaussian partitions along z")
        thick = scanner_volume(t1, case.z_factor, case.noise, case.zip)
    else:
        thick = simulate_thick_slices(t1, 2, case.z_factor, profile=case.z_profile).lr
    if case.offset is not None:
        n = thick.shape[2]
        start = (n - WINDOW) // 2 + case.offset
        if start < 0 or start + WINDOW > n:
            raise MedsrError(f"case {case.name}: window {start}..{start + WINDOW} outside 0..{n}")
        data = np.ascontiguousarray(np.asarray(thick.data)[..., start : start + WINDOW])
        thick = thick.with_data(data, crop_affine(thick.affine, [0, 0, start]))
    return simulate_thick_slices(thick, 0, factor, profile="gaussian")


def run_dev(
    data_dir: Path,
    *,
    cases: tuple[DevCase, ...] = DEV_CASES,
    factor: float = 4.0,
    extra: dict[str, Any] | None = None,
    seed: int = 0,
    reapply_ensemble: bool = False,
    figures: Path | None = None,
) -> dict[str, Any]:
    """Self-SR against B-spline on each development case made from ``data_dir / T1_FILE``
    (:func:`medsr.bench.selfsr_heldout.run_case`); one JSON-ready record with the mean gain.
    With ``figures`` (a folder), each case's figure is written there as ``NAME.png``."""
    from medsr.bench.selfsr_heldout import run_case

    t1 = read_t1(data_dir)
    rows = [
        {
            "case": c.name,
            **run_case(
                dev_case(t1, c, factor),
                extra=extra,
                seed=seed,
                reapply_ensemble=reapply_ensemble,
                figure=None if figures is None else figures / f"{c.name}.png",
            ),
        }
        for c in cases
    ]
    return {
        "protocol": "chris_t1 given thick slices along z (each case's factor and profile), then "
        f"x{factor:g} Gaussian thick slices along x; PSNR inside the head vs the z-thick volume",
        "options": dict(extra or {}),
        "seed": seed,
        "cases": rows,
        "mean_gain_db": round(sum(r["gain_db"] for r in rows) / max(1, len(rows)), 3),
    }


def cases_figure(data_dir: Path, path: Path, cases: tuple[DevCase, ...] = DEV_CASES) -> Path:
    """A PNG of the development cases: for each, the truth's x-y plane at the central slice and the
    thick-slice input's, at their physical aspect (what self-SR restores, and from what)."""
    from medsr.plotting import agg_pyplot, save_figure
    from medsr.volume import spacing_of

    t1 = read_t1(data_dir)
    plt = agg_pyplot()
    fig, axes = plt.subplots(2, len(cases), figsize=(2.2 * len(cases), 5.2), squeeze=False)
    for k, case in enumerate(cases):
        made = dev_case(t1, case)
        for row, (vol, label) in enumerate(((made.truth, "truth"), (made.lr, "x4 slices"))):
            data = np.asarray(vol.data)[0]
            sx, sy, _ = spacing_of(vol.affine)
            ax = axes[row, k]
            ax.imshow(data[:, :, data.shape[2] // 2].T, cmap="gray", origin="lower",
                      aspect=float(sy / sx), interpolation="nearest")
            ax.set_title(f"{case.name}\n{label}" if row == 0 else label, fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
    save_figure(fig, path)
    return path
