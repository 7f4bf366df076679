"""Super-resolution of one scan without external training data (review section 4.2.2 and ref. [91]).

* :func:`self_super_resolve` — SMORE-style self-supervised SR of a thick-slice scan (Zhao et al.,
  *IEEE TMI* 2021, ref. [84]) with the optional SAA anti-aliasing stage (Zhao et al., MICCAI
  2018, ref. [83]; ``saa_order="papers"`` applies it as the papers do): a 2D network
  learns, on the scan's own high-resolution planes, to undo the slice profile, then restores the
  through-plane planes. medsr's default ``upscale`` method (``--method self``).
* :func:`deep_image_prior` — Deep Image Prior (Ulyanov et al., CVPR 2018, ref. [91]):
  ``--method dip``.

Both are methods of the inference engine (registered in :mod:`medsr.infer.methods`).
"""

from __future__ import annotations

from medsr.selfsr.config import Budget, SelfSRConfig, parse_budget
from medsr.selfsr.dip import DIPConfig, SkipNet, deep_image_prior
from medsr.selfsr.plan import SelfSRPlan, default_target_spacing, find_slice_axis, plan_self_sr
from medsr.selfsr.smore import self_super_resolve

__all__ = [
    "Budget",
    "DIPConfig",
    "SelfSRConfig",
    "SelfSRPlan",
    "SkipNet",
    "deep_image_prior",
    "default_target_spacing",
    "find_slice_axis",
    "parse_budget",
    "plan_self_sr",
    "self_super_resolve",
]
