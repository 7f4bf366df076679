"""Up-scale one volume: a method or a network onto the grid of ``zoom_grid``, then check it.

Flow of :func:`upscale` (the body of ``medsr upscale`` without the files):

1. the target grid comes from :func:`medsr.volume.zoom_grid` (:class:`TargetGrid`), nowhere else;
2. either a registered method (interpolation, ``self``, ``dip``; :mod:`medsr.infer.methods`) fills
   it, or a network does:

   * networks run at integer factors. For a requested factor ``f`` along an axis the network must
     up-sample by ``S = ceil(f)`` there (else: "model scale mismatch"); when ``f`` is not an integer
     the network's output on the exact grid ``zoom_grid(shape, affine, S)`` is resampled by
     ``f / S`` with ``finish`` interpolation (default cubic) using the same grid rule, which lands
     exactly on ``zoom_grid(shape, affine, f)``. (Pre-upsampling networks are treated the same
     way: simple, and it keeps one code path.)
   * 3D networks: sliding windows with blended overlaps (:mod:`medsr.infer.sliding`);
   * 2D networks: slice by slice along ``axis``, or averaged over ``planes``
     (:mod:`medsr.infer.slicewise`);
3. optional iterative back-projection onto the acquired data, and always a data-consistency
   report (:mod:`medsr.infer.consistency`).

The output array is allocated once (:func:`medsr.infer.buffers.allocate`), memory-mapped when
larger than ``max_memory``. Intensities stay in the input's physical units: a network's
normalisation is inverted exactly (:mod:`medsr.normalise`).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from medsr.errors import MedsrError, OptionError
from medsr.infer.buffers import DEFAULT_MAX_MEMORY, allocate
from medsr.infer.consistency import (
    Profile,
    consistency_operator,
    consistency_report,
    enforce_consistency,
)
from medsr.infer.methods import MethodOptions, TargetGrid, get_method
from medsr.infer.predictor import Predictor
from medsr.infer.slicewise import (
    check_axis,
    matching_axes,
    plane_axes,
    slicewise_predict,
    windows_per_plane,
)
from medsr.infer.sliding import Blend, plan_tiles, tiled_predict
from medsr.progress import ProgressSink, Quiet
from medsr.volume import (
    MAX_FACTOR,
    SNAP_TOLERANCE,
    Volume,
    count_nonfinite,
    factors_for_spacing,
    parse_numbers,
    parse_triple,
    snap_factors,
    spacing_of,
    zoom_grid,
)

__all__ = [
    "DEFAULT_TILE_3D",
    "ProgressSink",
    "UpscaleConfig",
    "UpscaleResult",
    "network_plan",
    "resolve_target",
    "upscale",
    "upscale_volume",
]

#: Default 3D window (input voxels per axis).
DEFAULT_TILE_3D = 64
# Largest output grid (voxels x channels) a factor may ask for: 2**36 float32 voxels are 256 GiB,
# far past any memory-mapped output medsr writes; larger requests are typing mistakes (e.g. 1e9).
_MAX_VOXELS = 2**36


@dataclass
class UpscaleConfig:
    """How to run: tiling, 2D handling, memory, consistency (CLI options map 1:1 onto these).

    Attributes:
        tile: window size in input voxels (int or per-axis); default 64 for 3D networks and whole
            slices for 2D networks.
        overlap: overlap of neighbouring windows in input voxels.
        halo: zero-weight margin at window edges (default ``overlap // 4``).
        blend: "hann" or "gaussian" window profiles.
        batch_size: windows (3D) or slices (2D) per forward pass; default 1 (3D) / 8 (2D).
        axis: 2D networks: the slicing axis (default: the first that fits the factors).
        planes: 2D networks: slicing axes whose results are averaged, or "all" (every axis that
            fits).
        finish: interpolation for the non-integer remainder of a factor.
        max_memory: bytes above which the output is memory-mapped.
        scratch: folder for that file.
        enforce_consistency: iterative back-projection after the network/method.
        ibp_iterations: its iterations.
        consistency_profile, consistency_fwhm: the operator of the report (and of the projection).
        method_options: passed to registered methods (seed, budget, device, extra options).
        reference: a registered image of another contrast (a Volume) for networks with a second
            input (multi-contrast SR, :mod:`medsr.infer.reference`).
    """

    tile: int | Sequence[int] | None = None
    overlap: int = 8
    halo: int | None = None
    blend: Blend = "hann"
    batch_size: int | None = None
    axis: int | None = None
    planes: Sequence[int] | str | None = None
    finish: str = "cubic"
    max_memory: int = DEFAULT_MAX_MEMORY
    scratch: str | Path | None = None
    enforce_consistency: bool = False
    ibp_iterations: int = 3
    consistency_profile: Profile = "gaussian"
    consistency_fwhm: float = 1.0
    method_options: MethodOptions = field(default_factory=MethodOptions)
    reference: Any = None


@dataclass
class UpscaleResult:
    """The up-scaled volume (on the target grid) and what the sidecar records about the run.

    Attributes:
        volume: the result on ``target``'s grid, float32, in the input's physical units.
        method: the registered method's name, or ``"network"``.
        method_kind: "interpolation", "self-supervised" or "network".
        factors: per-axis factors of the target grid.
        consistency: the data-consistency report
            (:func:`medsr.infer.consistency.consistency_report`).
        timings: seconds per stage ("upscale", "consistency", "reduction" where it ran).
        model: the network's ``model.json`` summary (networks only).
        description: one line about the method (registered methods only).
        details: what is particular to the run (``method_info`` of a method; ``network_factors``,
            ``tiling``/``slicing``, ``normalisation``, ``output_buffer`` of a network;
            ``enforce_consistency``; ``reduction``).
    """

    volume: Volume
    method: str
    method_kind: str
    factors: tuple[float, ...]
    consistency: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)
    model: dict[str, Any] | None = None
    description: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Everything but the volume, as one flat JSON-ready mapping (the sidecar's core)."""
        out: dict[str, Any] = {
            "method": self.method,
            "method_kind": self.method_kind,
            "model": self.model,
            "factors": list(self.factors),
            "consistency": self.consistency,
            "timings_s": dict(self.timings),
        }
        if self.description is not None:
            out["description"] = self.description
        out.update(self.details)
        return out

    @property
    def info(self) -> dict[str, Any]:
        """:meth:`as_dict` (read-only view for scripts)."""
        return self.as_dict()


# ---------------------------------------------------------------------- target grid
def resolve_target(
    volume: Volume,
    *,
    factors: float | Sequence[float] | str | None = None,
    spacing: float | Sequence[float] | str | None = None,
) -> TargetGrid:
    """The output grid for ``--factors`` or ``--spacing`` (exactly one of them).

    Factors within a relative 1e-4 of an integer are snapped to it: headers store spacings as
    float32 and users type rounded values (2.4 for 2.3999972), which should not turn x2 into
    x2.000001 (a network would then run at x3). Factors derived from spacings (``spacing`` or the
    default target) are snapped within 1 % (:data:`SPACING_TOLERANCE`): spacings that close count
    as equal (0.8594 next to 0.8579 mm gives factor 1, not 1.0017). A factor below 1 on some axes
    (``--spacing 1`` on a 0.86 x 0.86 x 2.4 mm scan) is allowed: :func:`upscale` super-resolves
    the other axes, then reduces those axes with MATLAB's antialiased bicubic. Factors all <= 1
    are refused: down-sampling alone is not super-resolution.

    With neither ``factors`` nor ``spacing``, the target is isotropic at the finest spacing (the
    default of self-supervised SR, review section 4.2.2: thick slices -> in-plane resolution).
    """
    if factors is not None and spacing is not None:
        raise OptionError("give only one of {spacing} (e.g. 1 or 1,1,1) and {factors} (e.g. 1,1,4)")
    default_target = factors is None and spacing is None
    if default_target:
        sp = spacing_of(volume.affine)
        axes = [a for a in range(3) if int(volume.shape[a]) > 1]
        spacing = float(min(sp[a] for a in axes)) if axes else float(sp.min())
    if spacing is not None:
        wanted = _per_axis(volume, spacing, "spacing", spacing_of(volume.affine)[2], None)
        f = _equal_spacings(factors_for_spacing(spacing_of(volume.affine), wanted))
        what = "{spacing} " + ",".join(f"{s:g}" for s in wanted)
        if default_target:  # name what the user did not type as the default it is
            what = (
                f"the default target (isotropic at the finest spacing, {spacing:g} mm, as "
                "neither {factors} nor {spacing} was given)"
            )
        if max(f) > MAX_FACTOR:
            a = int(np.argmax(f))
            raise OptionError(
                f"{what} asks for factor {f[a]:.4g} along axis {a}, above {MAX_FACTOR:g}, "
                "the largest medsr accepts (the grid would hold too many voxels); "
                "ask for a coarser spacing"
            )
    else:
        f = snap_factors(_per_axis(volume, factors, "factors", 1.0, MAX_FACTOR))  # type: ignore[arg-type]
        what = "{factors}"
    if volume.meta.is_2d and f[2] != 1.0:
        given = factors if spacing is None else spacing
        # a Z asked for explicitly is refused, not dropped (X,Y of 1: "unchanged" is said below)
        if len(parse_numbers(given)) != 1 and (f[0], f[1]) != (1.0, 1.0):
            raise OptionError(
                f"{what} asks for factor {f[2]:g} along Z, "
                "but this is a 2-D image (one slice): only "
                f"X and Y can be zoomed; give X,Y only, e.g. {{factors}} {f[0]:g},{f[1]:g}"
            )
        f = (f[0], f[1], 1.0)  # one number for all axes: it applies to X and Y of a 2-D image
    asked = f
    f = _single_voxel_axes(volume, f, factors if spacing is None else spacing, what)
    if all(v == 1.0 for v in f) and any(a != 1.0 for a in asked):
        raise OptionError(_nothing_to_zoom(volume, what))
    if all(v == 1.0 for v in f):
        if volume.meta.is_2d:
            raise OptionError(
                f"{what} leaves this 2-D image unchanged "
                "(it has one slice, so only X and Y are zoomed, "
                "here by 1,1); ask for X,Y factors above 1, e.g. {factors} 2"
            )
        raise OptionError(
            f"{what} leaves the grid unchanged (factors 1,1,1); ask for a finer spacing"
        )
    if all(v <= 1.0 for v in f):
        a = int(np.argmin(f))
        raise OptionError(
            f"{what} gives factor {f[a]:.4g} < 1 along axis {a} (spacing "
            f"{spacing_of(volume.affine)[a]:.4g} mm) and no axis above 1: "
            "that is down-sampling, not super-resolution; "
            "ask for a finer spacing on at least one axis, or use `medsr degrade`"
        )
    target = TargetGrid.from_factors(volume, f)
    voxels = math.prod(int(n) for n in target.shape) * volume.channels
    if voxels > _MAX_VOXELS:
        raise OptionError(
            f"{what} asks for a {' x '.join(str(int(n)) for n in target.shape)} grid "
            f"({voxels:.3g} voxels), beyond the {_MAX_VOXELS:.3g} medsr can hold; "
            "ask for smaller factors or a coarser spacing"
        )
    return target


#: Spacings within this relative difference count as equal (headers store 0.8594 next to 0.8579
#: for one in-plane resolution): a spacing-derived factor that close to a whole number is set to it.
SPACING_TOLERANCE = 0.01


def _equal_spacings(values: Sequence[float]) -> tuple[float, ...]:
    """Factors from ``--spacing`` (or the default isotropic target) within
    :data:`SPACING_TOLERANCE` of a whole number, set to it (1.0017 -> 1: no x2 network run, no
    resampling for a 0.2 % spacing difference)."""
    return tuple(
        float(round(v)) if round(v) >= 1 and abs(v - round(v)) <= SPACING_TOLERANCE * v else v
        for v in snap_factors(values)
    )


def _single_voxel_axes(
    volume: Volume, f: tuple[float, float, float], given: Any, what: str
) -> tuple[float, float, float]:
    """Factor 1 on axes one voxel thick: kept silently for one number (it acts on the other axes,
    as in :mod:`medsr.degrade`), refused when asked for explicitly (nothing to interpolate)."""
    thin = [a for a in range(3) if int(volume.shape[a]) == 1 and f[a] != 1.0]
    if not thin:
        return f
    single = len(parse_numbers(given)) == 1
    if not single and all(f[a] == 1.0 or a in thin for a in range(3)):
        raise OptionError(_nothing_to_zoom(volume, what))
    if not single:
        a = thin[0]
        example = ",".join("1" if i in thin else f"{f[i]:g}" for i in range(3))
        raise OptionError(
            f"{what} asks for factor {f[a]:g} along axis {a}, "
            "but the input is one voxel thick there "
            f"(shape {tuple(int(n) for n in volume.shape)}) and cannot be super-resolved along it; "
            f"give factor 1 there, e.g. {{factors}} {example}"
        )
    return tuple(1.0 if a in thin else f[a] for a in range(3))  # type: ignore[return-value]


def _nothing_to_zoom(volume: Volume, what: str) -> str:
    """The message for an image one voxel wide along every axis a request would zoom."""
    n = volume.shape[:2] if volume.meta.is_2d else volume.shape
    unit = "pixels" if volume.meta.is_2d else "voxels"
    return (
        f"this image is {' x '.join(str(int(v)) for v in n)} {unit}: one {unit[:-1]} along "
        f"every axis {what} would zoom, so there is nothing to super-resolve; give an image at "
        f"least 2 {unit} wide"
    )


def _per_axis(
    volume: Volume, value: Any, name: str, z_value: float, maximum: float | None
) -> tuple[float, float, float]:
    """Three numbers from :func:`parse_triple`; a 2-D image also takes two (X, Y), Z gets
    ``z_value``."""
    fill = float(z_value) if volume.meta.is_2d else None
    return parse_triple(value, 3, name, fill=fill, maximum=maximum)  # type: ignore[return-value]


# ---------------------------------------------------------------------- networks
def _orientations(predictor: Predictor) -> list[tuple[int | None, tuple[int, int, int]]]:
    """Every way the network can zoom a volume: (slicing axis, or None for a 3D network; the
    per-axis whole factors it then applies)."""
    scale = tuple(round(float(s)) for s in predictor.scale)
    if predictor.dims == 3:
        return [(None, scale)]  # type: ignore[list-item]
    out: list[tuple[int | None, tuple[int, int, int]]] = []
    for k in range(3):
        p, q = plane_axes(k)
        for a, b in dict.fromkeys([(scale[0], scale[1]), (scale[1], scale[0])]):
            s = [1, 1, 1]
            s[p], s[q] = a, b
            out.append((k, (s[0], s[1], s[2])))
    return out


def _best_fit(
    options: list[tuple[int | None, tuple[int, int, int]]],
    need: tuple[int, ...],
    factors: Sequence[float],
) -> tuple[int, int, int] | None:
    """The largest network factors that fit ``need`` (never more than ``need`` on any axis, more
    than 1 on some): exact first, then the most up-sampling, then the smallest factor left to
    interpolation; None when nothing fits."""
    fits = [s for _, s in options if all(a <= n for a, n in zip(s, need)) and max(s) > 1]
    if not fits:
        return None
    return max(
        fits,
        key=lambda s: (
            s == tuple(need),
            math.prod(s),
            -max(f / a for f, a in zip(factors, s)),
        ),
    )


def _no_fit_error(predictor: Predictor, factors: Sequence[float], need: tuple[int, ...]) -> str:
    """The "model scale mismatch" message: what the network does, what would fit, how to train."""
    scale = tuple(round(float(s)) for s in predictor.scale)
    asked = ",".join(f"{f:.4g}" for f in factors)
    own = sorted({s for _, s in _orientations(predictor)})
    can = " or ".join(",".join(map(str, s)) for s in own)
    ways = []
    for k in range(3):
        p, q = plane_axes(k)
        if need[p] * need[q] > 1:
            rest = "" if need[k] == 1 else f", then cubic x{factors[k]:.4g} along axis {k}"
            ways.append(f"a 2D model.scale [{need[p]},{need[q]}] sliced along axis {k}{rest}")
    ways.append(f"a 3D model.scale [{','.join(map(str, need))}]")
    return (
        f"model scale mismatch: this {predictor.dims}D network up-samples by x{scale}, which does "
        f"not fit factors {asked} (whole factors {','.join(map(str, need))}) on any axis it can "
        f"serve without over-shooting; it fits {{factors}} {can}. Networks that would fit: "
        + "; ".join(ways)
        + ". Train one with `medsr train configs/through_plane.yaml --profile cpu "
        "model.scale=[1,N]` (thick slices, N = the whole slice factor; the patch a multiple of "
        "N) or any recipe with `model.scale=...`, or use {method} self (no training)"
    )


def network_plan(
    predictor: Predictor, factors: Sequence[float], config: UpscaleConfig
) -> tuple[tuple[int, int, int], list[int] | None]:
    """The network's 3D integer factors ``S`` and, for 2D networks, the slicing axes to run.

    ``S`` is ``ceil(factors)`` when the network realises it; otherwise the largest whole factors
    the network does realise without exceeding ``ceil(factors)`` on any axis (an x2 network on an
    x2.8 request runs at x2): the engine then finishes the rest (``factors / S``) with ``finish``
    interpolation (cubic), and records it in the sidecar (``network_fit``).

    Raises:
        MedsrError: when the network fits no axis of the request; the message lists the factors
            and slicing axes that would work and how to train for them.
    """
    need = tuple(max(1, math.ceil(f - SNAP_TOLERANCE)) for f in factors)
    options = _orientations(predictor)
    if predictor.dims == 3:
        if config.axis is not None or config.planes is not None:
            raise OptionError("{axis}/{planes} apply to 2D networks; this network is 3D: drop them")
        best = _best_fit(options, need, factors)
        if best is None:
            raise OptionError(_no_fit_error(predictor, factors, need))
        return best, None
    if config.planes is not None and config.axis is not None:
        raise OptionError("give {axis} (one orientation) or {planes} (several, averaged), not both")
    if config.planes is not None:
        if isinstance(config.planes, str):
            if config.planes.lower() not in ("all", "auto"):
                raise OptionError(f"{{planes}} takes 'all' or axes like 0,1; got {config.planes!r}")
            best = _best_fit(options, need, factors)
            axes = matching_axes(predictor.scale, best) if best is not None else []
        else:
            axes = sorted({int(a) for a in config.planes})
            for a in axes:
                plane_axes(a)  # refuses axes other than 0, 1, 2
            best = _best_fit([o for o in options if o[0] in axes], need, factors)
        if best is None or not axes:
            raise OptionError(_no_fit_error(predictor, factors, need))
    elif config.axis is not None:
        axes = [int(config.axis)]
        plane_axes(axes[0])
        best = _best_fit([o for o in options if o[0] == axes[0]], need, factors)
        if best is None:
            check_axis(axes[0], predictor.scale, need)  # says why this orientation cannot work
            raise OptionError(_no_fit_error(predictor, factors, need))
    else:
        best = _best_fit(options, need, factors)
        if best is None:
            raise OptionError(_no_fit_error(predictor, factors, need))
        axes = matching_axes(predictor.scale, best)[:1]
    for a in axes:
        check_axis(a, predictor.scale, best)
    return best, axes


def _run_network(
    volume: Volume,
    target: TargetGrid,
    predictor: Predictor,
    config: UpscaleConfig,
    progress: ProgressSink,
) -> tuple[np.ndarray, dict[str, Any]]:
    if config.reference is not None:  # a second input on the output grid (ref. [78])
        from medsr.infer.reference import run_with_reference

        return run_with_reference(volume, target, predictor, config, progress)
    net_factors, axes = network_plan(predictor, target.factors, config)
    net_shape, _ = zoom_grid(volume.shape, volume.affine, net_factors)
    data = volume.data
    norm = predictor.normalisation.fit(data)
    predict = predictor.batch_fn(norm, volume.channels)
    buffer = allocate(
        (volume.channels,) + tuple(net_shape), max_memory=config.max_memory, scratch=config.scratch
    )
    info: dict[str, Any] = {
        "network_factors": list(net_factors),
        "normalisation": norm.to_dict(include_fit=True),
        "output_buffer": "memmap" if isinstance(buffer, np.memmap) else "memory",
    }
    need = [max(1, math.ceil(f - SNAP_TOLERANCE)) for f in target.factors]
    if list(net_factors) != need:
        info["network_fit"] = {
            "requested": list(target.factors),
            "network": list(net_factors),
            "finished_by": config.finish,
            "note": (
                f"the network's scale {tuple(predictor.scale)} does not fit factors "
                f"{','.join(f'{f:.4g}' for f in target.factors)}: it ran at "
                f"x{','.join(map(str, net_factors))} and {config.finish} interpolation "
                "did the rest"
            ),
        }
    if predictor.dims == 3:
        tile = config.tile if config.tile is not None else DEFAULT_TILE_3D
        plan = plan_tiles(
            volume.shape, net_factors, tile, config.overlap, halo=config.halo, blend=config.blend
        )
        progress.stage("network (3D windows)", len(plan))
        tiled_predict(
            [(data, buffer)],
            predict,
            plan,
            batch_size=config.batch_size or 1,
            progress=progress.advance,
        )
        info["tiling"] = {
            "tile": list(plan.tile),
            "overlap": [a.overlap for a in plan.axes],
            "halo": [a.halo for a in plan.axes],
            "blend": config.blend,
            "windows": len(plan),
            "batch_size": config.batch_size or 1,
        }
    else:
        assert axes is not None
        total = sum(
            windows_per_plane(
                volume.shape,
                a,
                predictor.scale,
                net_factors,
                config.tile,
                config.overlap,
                config.blend,
            )
            for a in axes
        )
        progress.stage(f"network (2D slices along axis {','.join(map(str, axes))})", total)
        for a in axes:
            slicewise_predict(
                data,
                buffer,
                predict,
                predictor.scale,
                net_factors,
                a,
                tile=config.tile,
                overlap=config.overlap,
                blend=config.blend,
                batch_size=config.batch_size or 8,
                weight=1.0 / len(axes),
                progress=progress.advance,
            )
        info["slicing"] = {
            "axes": axes,
            "fused": len(axes) > 1,
            "tile": config.tile,
            "overlap": config.overlap,
            "batch_size": config.batch_size or 8,
        }
    if tuple(net_shape) != tuple(target.shape) or any(
        abs(s - f) > 1e-12 for s, f in zip(net_factors, target.factors)
    ):
        from medsr.interpolate import zoom_array

        progress.stage(
            f"resample x{net_factors} -> x{tuple(round(f, 4) for f in target.factors)}", None
        )
        ratio = tuple(f / s for f, s in zip(target.factors, net_factors))
        finished = np.asarray(zoom_array(buffer, ratio, config.finish), dtype=np.float32)
        del buffer
        if tuple(finished.shape[1:]) != tuple(target.shape):
            raise RuntimeError(
                f"finishing resample gave {finished.shape[1:]}, expected {target.shape}"
            )
        buffer = finished
        info["finish_resample"] = {"method": config.finish, "factors": list(ratio)}
    return buffer, info


# ---------------------------------------------------------------------- entry points
def upscale(
    volume: Volume,
    target: TargetGrid,
    *,
    predictor: Predictor | None = None,
    method: str | None = None,
    config: UpscaleConfig | None = None,
    progress: ProgressSink | None = None,
    dtype: str | None = None,
) -> UpscaleResult:
    """Up-scale ``volume`` onto ``target`` with a network (``predictor``) or a registered
    ``method``.

    Args:
        dtype: the storage dtype the result will be written in; the consistency report then also
            scores the rounded/clipped values (keys ``*_stored``).

    Returns:
        :class:`UpscaleResult`: the volume, the method, timings and the data-consistency report.
    """
    config = config or UpscaleConfig()
    progress = progress or Quiet()
    if any(f < 1.0 for f in target.factors):
        return _upscale_then_reduce(
            volume,
            target,
            predictor=predictor,
            method=method,
            config=config,
            progress=progress,
            dtype=dtype,
        )
    if (predictor is None) == (method is None):
        raise OptionError(
            "give either a method ({method}) or a network ({model}/{weights} or {onnx})"
        )
    volume.check_finite()  # the one NaN/Inf check of the input
    t0 = time.perf_counter()
    description: str | None = None
    if predictor is not None:
        data, details = _run_network(volume, target, predictor, config, progress)
        name, kind, model = "network", "network", predictor.info
    else:
        entry = get_method(str(method))
        options = config.method_options
        if options.progress is None:  # the method reports to the engine's sink
            options = dataclasses.replace(options, progress=progress, extra=dict(options.extra))
        result, method_info = entry.fn(volume, target, options)
        if tuple(result.shape) != tuple(target.shape) or not np.allclose(
            result.affine, target.affine, atol=1e-6
        ):
            raise RuntimeError(
                f"method {entry.name} returned grid {result.shape} "
                f"that is not the target {target.shape}"
            )
        if result.channels != volume.channels:
            raise RuntimeError(f"method {entry.name} changed the channel count")
        data = np.asarray(result.data, dtype=np.float32)
        if not data.flags.writeable:
            data = data.copy()
        name, kind, model, description = entry.name, entry.kind, None, entry.description
        details = {"method_info": method_info}
    _check_output_finite(data, volume, predictor, name)
    timings = {"upscale": time.perf_counter() - t0}

    t1 = time.perf_counter()
    acq = consistency_operator(
        volume, target, profile=config.consistency_profile, fwhm=config.consistency_fwhm
    )
    if config.enforce_consistency:
        progress.stage("back-projection", config.ibp_iterations)
        history = enforce_consistency(
            volume.data, data, acq, iterations=config.ibp_iterations, progress=progress.advance
        )
        details["enforce_consistency"] = {
            "iterations": config.ibp_iterations,
            "psnr_db_history": history,
            "method": "iterative back-projection (Irani & Peleg 1991), kernel A^T (A A^T)^-1",
        }
    integer = dtype is not None and np.dtype(dtype).kind in "iu"
    report = consistency_report(
        volume.data,
        data,
        acq,
        dtype=dtype,
        slope=volume.meta.slope if integer else 1.0,
        intercept=volume.meta.intercept if integer else 0.0,
    )
    timings["consistency"] = time.perf_counter() - t1
    out = volume.with_data(data, target.affine.copy())
    return UpscaleResult(
        out, name, kind, tuple(target.factors), report, timings, model, description, details
    )


def _check_output_finite(
    data: np.ndarray, volume: Volume, predictor: Predictor | None, method: str
) -> None:
    """Refuse a result holding NaN/Inf, blaming what made it: the input was checked finite, so
    a network's NaN comes from its weights or its intensity normalisation."""
    bad = count_nonfinite(data)  # in blocks: the output may be memory-mapped
    if not bad:
        return
    source = volume.meta.source or "the input"
    if predictor is not None:
        info = predictor.info
        where = info.get("weights") or info.get("onnx")
        model = f"{info.get('architecture', 'network')}" + (f" ({where})" if where else "")
        raise MedsrError(
            f"the network {model} produced {bad} NaN/Inf voxels from {source}, whose voxels are "
            "all finite: its weights are damaged or diverged, or its intensity normalisation "
            "(model.json) does not suit this scan; check the weights and the normalisation"
        )
    raise MedsrError(
        f"method {method} produced {bad} NaN/Inf voxels from {source}, whose voxels are all "
        "finite; try another method (e.g. --method bspline) and please report it"
    )


def _upscale_then_reduce(volume: Volume, target: TargetGrid, **kwargs: Any) -> UpscaleResult:
    """Targets finer on some axes and coarser on others (``--spacing 1`` on 0.86 x 0.86 x 2.4 mm).

    Super-resolution runs on the axes whose factor is above 1 (the intermediate grid keeps the
    others), the data-consistency report is computed there, against the acquired data; then the
    axes with factor below 1 are reduced by MATLAB's antialiased bicubic
    (:class:`medsr.degrade.BicubicDown`), whose output grid is ``zoom_grid`` with factor ``f``: the
    composition lands exactly on ``target``.
    """
    from medsr.degrade import BicubicDown

    up = tuple(max(1.0, f) for f in target.factors)
    intermediate = TargetGrid.from_factors(volume, up)
    result = upscale(volume, intermediate, **kwargs)
    reduction = tuple(u / f for u, f in zip(up, target.factors))
    t0 = time.perf_counter()
    reduced = BicubicDown(reduction).apply_array(result.volume.data)
    if tuple(reduced.shape[1:]) != tuple(target.shape):
        raise RuntimeError(f"reduction gave {reduced.shape[1:]}, expected {target.shape}")
    details = dict(result.details)
    details["reduction"] = {
        "axes": [a for a in range(3) if target.factors[a] < 1.0],
        "factors": list(reduction),
        "operator": "MATLAB antialiased bicubic",
        "consistency_measured_on": "the intermediate grid, before the reduction",
    }
    timings = {**result.timings, "reduction": time.perf_counter() - t0}
    volume_out = result.volume.with_data(
        reduced.astype(np.float32, copy=False), target.affine.copy()
    )
    return dataclasses.replace(
        result, volume=volume_out, factors=tuple(target.factors), timings=timings, details=details
    )


def upscale_volume(
    volume: Volume,
    predictor: Any,
    factors: float | Sequence[float] | str | None = None,
    *,
    spacing: float | Sequence[float] | str | None = None,
    tile: int | Sequence[int] | None = None,
    overlap: int = 8,
    batch_size: int | None = None,
    device: str = "cpu",
    planes: Sequence[int] | str | None = None,
    axis: int | None = None,
    ensemble: bool = False,
    **config: Any,
) -> Volume:
    """Up-scale ``volume`` by ``factors`` (or to ``spacing``); the result is on ``zoom_grid``.

    Args:
        predictor: a :class:`Predictor`, a ``torch.nn.Module`` with ``dims``/``scale`` attributes
            (see :mod:`medsr.models`), or a registered method name ("bspline", "self", ...).
        config: further :class:`UpscaleConfig` fields (blend, finish, max_memory, ...).
    """
    target = resolve_target(volume, factors=factors, spacing=spacing)
    cfg = UpscaleConfig(
        tile=tile, overlap=overlap, batch_size=batch_size, planes=planes, axis=axis, **config
    )
    if isinstance(predictor, str):
        cfg.method_options.device = device
        return upscale(volume, target, method=predictor, config=cfg).volume
    if not isinstance(predictor, Predictor):
        predictor = Predictor.from_module(predictor, device=device, ensemble=ensemble)
    return upscale(volume, target, predictor=predictor, config=cfg).volume
