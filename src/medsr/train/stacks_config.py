"""The ``data.stacks`` recipe section (multi-input SR, Oktay et al. 2016; review ref. [81]).

Kept apart from :mod:`medsr.train.config` (which imports it) so that the schema stays free of
torch; the data path is :mod:`medsr.train.stacks`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["StacksSection"]


class StacksSection(BaseModel):
    """Several thick-slice LR stacks simulated from each isotropic HR volume, one per axis in
    ``axes`` (e.g. sagittal, coronal, axial: ``[0, 1, 2]``), each with slice spacing ``factor``
    (the model's scale) and a ``profile`` slice profile of thickness ``fwhm`` HR voxels (default
    ``factor``). Example: ``data: {stacks: {axes: [0, 1, 2], profile: gaussian}}``."""

    model_config = ConfigDict(extra="forbid", validate_default=True)

    axes: list[int] = Field(default_factory=lambda: [0, 1, 2])
    profile: Literal["gaussian", "rect"] = "gaussian"
    fwhm: float | None = Field(None, gt=0)

    @field_validator("axes")
    @classmethod
    def _axes(cls, v: list[int]) -> list[int]:
        if not v or len(set(v)) != len(v) or any(a not in (0, 1, 2) for a in v):
            raise ValueError("give distinct axes among 0, 1, 2")
        return v
