"""The forward model ``g = A f (+ n)`` of the review (Li, Sixou & Peyrin, IRBM 2021, eq. 3).

Each piece is a small :class:`Degradation` acting on a :class:`~medsr.volume.Volume` (the grid is
updated through :func:`medsr.volume.zoom_grid`, so the affine stays exact) or on a
``(C, X, Y, Z)`` array; the linear ones have an exact adjoint.

=====================  =======================================================================
:class:`BicubicDown`    MATLAB bicubic down-sampling, the "BI" model (Table 1 of the review)
:class:`BlurDown`       Gaussian blur + decimation, the "BD" model (RDN, Zhang et al. 2018)
:class:`KSpaceTruncation` central k-space (MR), optional Hamming/Tukey window
:class:`ThickSlice`     thick slices: Gaussian/rect/array profile, gap (SMORE, Zhao et al.)
:class:`GaussianNoise`, :class:`RicianNoise`, :class:`PoissonNoise`   noise models
:class:`Pipeline`       composition, seeded
:func:`parse_degradation` the text grammar of ``medsr degrade --method``
:func:`imresize`        MATLAB ``imresize`` itself
=====================  =======================================================================
"""

from medsr.degrade.base import Degradation, as_generator, resolve_factors
from medsr.degrade.bicubic import BicubicDown
from medsr.degrade.blur import BlurDown
from medsr.degrade.kspace import KSpaceTruncation
from medsr.degrade.noise import GaussianNoise, PoissonNoise, RicianNoise
from medsr.degrade.parse import SPEC_HELP, parse_degradation
from medsr.degrade.pipeline import Pipeline
from medsr.degrade.resize import imresize, imresize_adjoint
from medsr.degrade.separable import SeparableLinear
from medsr.degrade.slice_profile import ThickSlice

__all__ = [
    "Degradation",
    "SeparableLinear",
    "BicubicDown",
    "BlurDown",
    "KSpaceTruncation",
    "ThickSlice",
    "GaussianNoise",
    "RicianNoise",
    "PoissonNoise",
    "Pipeline",
    "parse_degradation",
    "SPEC_HELP",
    "imresize",
    "imresize_adjoint",
    "as_generator",
    "resolve_factors",
]
