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
:func:`acquisition_operator` the one ``A`` between a scan and a finer target grid
                        (:class:`AcquisitionOperator`: numpy and torch, adjoint, back-projection)
:class:`SliceProfile`   a slice profile in mm (kind, thickness, gap, samples)
:func:`parse_degradation` the text grammar of ``medsr degrade --method``
:func:`imresize`        MATLAB ``imresize`` itself
=====================  =======================================================================
"""

from medsr.degrade.base import Degradation, as_generator, resolve_factors
from medsr.degrade.bicubic import BicubicDown
from medsr.degrade.blur import BlurDown
from medsr.degrade.kspace import KSpaceTruncation
from medsr.degrade.noise import GaussianNoise, PoissonNoise, RicianNoise
from medsr.degrade.operator import (
    AcquisitionOperator,
    TorchOperator,
    acquisition_operator,
    thick_slice_operator,
)
from medsr.degrade.parse import SPEC_HELP, parse_degradation
from medsr.degrade.pipeline import Pipeline
from medsr.degrade.resize import imresize, imresize_adjoint
from medsr.degrade.separable import SeparableLinear
from medsr.degrade.slice_profile import SliceProfile, ThickSlice, load_profile_file

__all__ = [
    "SPEC_HELP",
    "AcquisitionOperator",
    "BicubicDown",
    "BlurDown",
    "Degradation",
    "GaussianNoise",
    "KSpaceTruncation",
    "Pipeline",
    "PoissonNoise",
    "RicianNoise",
    "SeparableLinear",
    "SliceProfile",
    "ThickSlice",
    "TorchOperator",
    "acquisition_operator",
    "as_generator",
    "imresize",
    "imresize_adjoint",
    "load_profile_file",
    "parse_degradation",
    "resolve_factors",
    "thick_slice_operator",
]
