"""``medsr degrade IN OUT``: simulate a low-resolution acquisition ``g = A f (+ n)`` (review eq. 3).

Typical uses: make training pairs or benchmark inputs from a high-resolution scan, e.g. thick
slices from an isotropic MR volume (``--factors 1,1,4 --method thick``) or the Table-1 bicubic LR of
a picture (``--factors 2 --method bicubic``). The output grid has spacing = input spacing x factor
and the same world centre.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer

from medsr.cli.app import app, console
from medsr.errors import MedsrError

__all__ = ["build_degradation", "degrade"]

_METHOD_HELP = (
    "bicubic (MATLAB, 'BI') | bd (Gaussian blur + decimation, RDN 'BD') | kspace (central k-space, "
    "MR) | thick (thick slices), with options after a colon and noise after a '+': e.g. "
    "bd:sigma=1.6, kspace:window=hamming, thick:profile=rect,gap=1, bicubic+rician:0.02."
)


def build_degradation(
    method: str, factors: str, profile: str | None, gap: float | None, noise: str | None
):
    """The :class:`~medsr.degrade.Degradation` the options describe (CLI glue, no I/O)."""
    from medsr.degrade import parse_degradation

    spec = method.strip()
    name = spec.split(":", 1)[0].split("+", 1)[0].strip().lower()
    extras = []
    if profile is not None:
        extras.append(f"profile={profile}")
    if gap is not None:
        extras.append(f"gap={gap:g}")
    if extras:
        if name not in ("thick", "slice") or "+" in spec:
            raise MedsrError(
                "--profile and --gap only apply to --method thick; drop them or use thick"
            )
        spec = spec + (":" if ":" not in spec else ",") + ",".join(extras)
    if noise:
        spec = spec + "+" + noise.strip()
    return parse_degradation(spec, factors)


def _two_numbers(text: str) -> bool:
    """True for factors like ``2,3`` (two numbers), which only a 2-D picture accepts."""
    from medsr.volume import parse_numbers

    try:
        return len(parse_numbers(text, "factors")) == 2
    except MedsrError:
        return False


def _fmt(values: np.ndarray | tuple) -> str:
    return " x ".join(f"{float(v):.4g}" for v in values)


@app.command()
def degrade(
    input: Path = typer.Argument(
        ..., help="High-resolution scan or picture (NIfTI, DICOM folder, NRRD/MHA, PNG/TIFF)."
    ),
    output: Path = typer.Argument(
        ..., help="Where to write the degraded image (format from the extension)."
    ),
    factors: str = typer.Option(
        ...,
        "--factors",
        "-f",
        help=(
            "Down-sampling factor per axis, e.g. 1,1,4 or 2 (LR spacing = HR spacing x "
            "factor; any real >= 1)."
        ),
    ),
    method: str = typer.Option("bicubic", "--method", "-m", help=_METHOD_HELP),
    profile: str | None = typer.Option(
        None,
        "--profile",
        help=(
            "Thick-slice profile: gaussian (FWHM = thickness), rect, or FILE.txt "
            "(one weight per HR voxel)."
        ),
    ),
    gap: float | None = typer.Option(
        None, "--gap", help="Thick-slice gap in HR voxels (thickness = factor - gap)."
    ),
    noise: str | None = typer.Option(
        None,
        "--noise",
        help=(
            "Noise after the degradation: gaussian:SIGMA, rician:SIGMA (fraction of the "
            "intensity range) or poisson:COUNTS[,model=ct]."
        ),
    ),
    seed: int | None = typer.Option(
        None, "--seed", help="Random seed for the noise (same seed, same output)."
    ),
    dtype: str | None = typer.Option(
        None, "--dtype", help="Output storage dtype (default: the input's)."
    ),
    series: str | None = typer.Option(
        None, "--series", help="DICOM SeriesInstanceUID when the folder holds several."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace OUTPUT if it exists."),
) -> None:
    """Simulate a low-resolution acquisition (the operator A of g = A f + n) from an HR image.

    The output covers the input's field of view on a grid coarser by --factors, with its header
    updated to match; noise (--noise, reproducible with --seed) is added after the degradation.

    Examples:

      [bold]medsr degrade t1.nii.gz t1_thick.nii.gz --factors 1,1,4 --method thick[/]
      [bold]medsr degrade hr.png lr.png --factors 3 --method bd[/]
      [bold]medsr degrade t1.nii.gz lr.nii.gz -f 2 -m kspace:window=hamming --noise rician:0.02[/]
    """
    from medsr.io import read, write

    volume = None
    try:
        op = build_degradation(
            method, factors, profile, gap, noise
        )  # bad options fail before any I/O
    except MedsrError:
        # a 2-D picture also takes two factors (X,Y): only then is the input needed to decide
        if not _two_numbers(factors):
            raise
        volume = read(input, series=series)
        if not volume.meta.is_2d:
            raise
        op = build_degradation(method, factors + ",1", profile, gap, noise)
    if output.is_dir():
        raise MedsrError(f"{output} is a folder; give a file name such as {output / 'lr.nii.gz'}")
    if input.exists() and output.exists() and output.resolve() == input.resolve():
        raise MedsrError(f"refusing to overwrite the input {input}; choose another output name")
    if output.exists() and not overwrite:
        raise MedsrError(f"{output} already exists; pass --overwrite or choose another name")
    if volume is None:
        volume = read(input, series=series)
    volume.check_finite()
    result = op(volume, seed)
    report = write(result, output, dtype=dtype, overwrite=overwrite)
    console.print(f"{op!r}", highlight=False, soft_wrap=True, markup=False)
    console.print(
        f"{input.name}: {_fmt(volume.shape)} voxels of {_fmt(volume.spacing)} mm -> "
        f"{_fmt(result.shape)} voxels of {_fmt(result.spacing)} mm",
        highlight=False,
        soft_wrap=True,
        markup=False,
    )
    line = f"wrote {report.path} ({report.dtype})"
    if report.clipped:
        line += f"; {report.clipped} voxels clipped to the {report.dtype} range"
    console.print(line, highlight=False, soft_wrap=True, markup=False)
    for note in [*volume.meta.notes, *report.notes]:  # what reading/writing changed or assumed
        console.print(f"note: {note}", highlight=False, soft_wrap=True, markup=False)
