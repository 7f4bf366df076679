"""What ``medsr upscale`` is asked to do, checked in one place.

A :class:`Job` is the parsed request (target grid, method or network, output options and the
engine's :class:`~medsr.infer.pipeline.UpscaleConfig`). :meth:`Job.validate` is the one function
that checks every option, before any scan is read: the CLI calls it, and so do
:func:`medsr.infer.files.upscale_file` / :func:`~medsr.infer.files.run_many` for library users.
Errors about a single option are :class:`~medsr.errors.OptionError` (named by parameter; the CLI
shows the flag).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from medsr.errors import OptionError
from medsr.infer.methods import INTERPOLATION_METHODS, get_method
from medsr.infer.pipeline import UpscaleConfig
from medsr.volume import MAX_FACTOR, parse_numbers

__all__ = ["Job", "check_device"]

_DEVICE = re.compile(r"^(cpu|cuda(:\d+)?)$")


def check_device(device: str) -> str:
    """``cpu``, ``cuda`` or ``cuda:N`` (available on this machine); OptionError otherwise."""
    text = str(device).strip().lower()
    if not _DEVICE.match(text):
        raise OptionError(f"{{device}} must be cpu, cuda or cuda:N, got {device!r}")
    if text.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise OptionError(
                f"{{device}} {device} asks for a GPU, but CUDA is not available here; use cpu"
            )
        index = int(text.split(":")[1]) if ":" in text else 0
        if index >= torch.cuda.device_count():
            raise OptionError(
                f"{{device}} {device}: this machine has {torch.cuda.device_count()} GPU(s)"
            )
    return text


def _positive_ints(name: str, value: int | Sequence[int] | None, minimum: int) -> None:
    if value is None:
        return
    values = [value] if isinstance(value, int) else list(value)
    for v in values:
        if not isinstance(v, int) or isinstance(v, bool) or v < minimum:
            raise OptionError(f"{{{name}}} must be a whole number >= {minimum}, got {value}")


@dataclass
class Job:
    """What to do to each scan (the parsed command line).

    At most one of ``factors``/``spacing`` (neither: isotropic at the finest spacing); at most one
    of ``method``, ``weights``, ``onnx`` (none: :func:`medsr.infer.methods.default_method`). The
    device lives once, in ``config.method_options.device`` (:attr:`device` reads it). ``model``
    without ``weights`` means the weights shipped in the package for the scale of ``factors``
    (:func:`medsr.models.shipped.shipped_for`): :meth:`validate` fills ``weights`` with them.
    """

    factors: str | Sequence[float] | float | None = None
    spacing: str | Sequence[float] | float | None = None
    method: str | None = None
    model: str | None = None
    weights: str | Path | None = None
    onnx: str | Path | None = None
    ensemble: bool = False
    dtype: str | None = None
    overwrite: bool = False
    series: str | None = None
    config: UpscaleConfig = field(default_factory=UpscaleConfig)
    spacing_override: str | Sequence[float] | float | None = None
    format: str | None = None  # "dicom" (series folder) / "dicom-enhanced" (one .dcm file)
    anonymise: bool = False  # DICOM output: remove patient and study identity
    stack: str | None = None  # DICOM multi-frame input: which stack of frames to read
    reference: str | Path | None = None  # registered second contrast (multi-contrast networks)
    figure: bool = False  # also write OUT.png: input beside result (medsr.infer.preview)

    @property
    def device(self) -> str:
        """The device networks and methods run on."""
        return self.config.method_options.device

    def validate(self) -> Job:
        """Check every option once; normalise ``dtype`` and the device name. Returns ``self``.

        Raises:
            OptionError: one option has a bad value (``tile`` 0, ``device`` tpu9, ...).
            MedsrError: options that contradict each other.
        """
        chosen = [
            n
            for n, v in (("method", self.method), ("weights", self.weights), ("onnx", self.onnx))
            if v
        ]
        if len(chosen) > 1:
            names = " and ".join("{" + n + "}" for n in chosen)
            raise OptionError(
                "give only one of {method}, {weights} (with {model}) and {onnx}; "
                f"got {names}"
            )
        if self.model and not self.weights:
            if self.method or self.onnx:
                raise OptionError(
                    f"{{model}} {self.model} names a network: drop {{{chosen[0]}}}, or {{model}}"
                )
            from medsr.models.shipped import shipped_for

            # the weights shipped in the package for the requested scale (or an error naming them)
            self.weights = shipped_for(self.model, self.factors)
        if self.reference is not None:
            if not self.weights:
                raise OptionError("{reference} needs a multi-contrast network given by {weights}")
            if not Path(self.reference).exists():
                raise OptionError(f"{{reference}} {self.reference} does not exist")
            if self.ensemble:
                raise OptionError("{ensemble} does not apply with {reference}; drop one")
        if self.ensemble and not self.weights:
            raise OptionError(
                "{ensemble} applies to PyTorch networks given by their weights; drop it"
            )
        if self.factors is not None and self.spacing is not None:
            raise OptionError(
                "give only one of {spacing} (e.g. 1 or 1,1,1) and {factors} (e.g. 1,1,4)"
            )
        # the numbers themselves (their count per axis needs the scan: resolve_target checks it)
        if self.factors is not None:
            parse_numbers(self.factors, "factors", maximum=MAX_FACTOR)
        if self.spacing is not None:
            parse_numbers(self.spacing, "spacing")
        if self.method is not None:
            get_method(self.method)  # unknown method: fail before reading anything
        if self.spacing_override is not None:
            parse_numbers(self.spacing_override, "spacing_override")
        if self.dtype is not None:
            from medsr.io import check_dtype

            self.dtype = check_dtype(self.dtype)
        if self.format is not None:
            self.format = str(self.format).strip().lower()
            if self.format in ("", "auto"):
                self.format = None
            elif self.format not in ("dicom", "dicom-enhanced"):
                raise OptionError(
                    "{format} must be dicom (a derived DICOM series folder) or dicom-enhanced "
                    f"(one multi-frame .dcm), got {self.format!r}; other formats follow the "
                    "output name (.nii.gz, .nrrd, .mha)"
                )
        if self.anonymise and self.format is None:
            raise OptionError(
                "{anonymise} applies to DICOM output ({format} dicom): NIfTI, NRRD and MetaImage "
                "outputs carry no patient identity"
            )
        cfg = self.config
        _positive_ints("tile", cfg.tile, 1)
        _positive_ints("overlap", cfg.overlap, 0)
        _positive_ints("halo", cfg.halo, 0)
        _positive_ints("batch_size", cfg.batch_size, 1)
        _positive_ints("ibp_iterations", cfg.ibp_iterations, 1)
        if cfg.axis is not None and cfg.axis not in (0, 1, 2):
            raise OptionError(f"{{axis}} must be 0, 1 or 2 (x, y, z), got {cfg.axis}")
        if cfg.blend not in ("hann", "gaussian"):
            raise OptionError(f"{{blend}} must be hann or gaussian, got {cfg.blend!r}")
        from medsr.interpolate import canonical_method

        cfg.finish = canonical_method(cfg.finish)  # "bicubic" -> "cubic"
        if cfg.finish not in INTERPOLATION_METHODS:
            raise OptionError(
                f"{{finish}} must be one of {', '.join(INTERPOLATION_METHODS)}, got {cfg.finish!r}"
            )
        if cfg.consistency_profile not in ("gaussian", "rect"):
            raise OptionError(
                f"{{consistency_profile}} must be gaussian or rect, got {cfg.consistency_profile!r}"
            )
        if not (math.isfinite(cfg.consistency_fwhm) and cfg.consistency_fwhm > 0):
            raise OptionError(
                f"{{consistency_fwhm}} must be a positive number, got {cfg.consistency_fwhm}"
            )
        if not cfg.max_memory > 0:
            raise OptionError(f"{{max_memory}} must be positive, got {cfg.max_memory}")
        opts = cfg.method_options
        opts.device = check_device(opts.device)
        if opts.budget is not None and not (math.isfinite(opts.budget) and opts.budget > 0):
            raise OptionError(f"{{budget}} must be a positive number of seconds, got {opts.budget}")
        if opts.seed is not None and opts.seed < 0:
            raise OptionError(f"{{seed}} must be >= 0, got {opts.seed}")
        return self
