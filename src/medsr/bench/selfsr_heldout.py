"""Held-out benchmark of self-supervised SR (issue 13): real scans the method was never tuned on.

Protocol. Each scan's own high-resolution plane is the truth: thick slices (x4, Gaussian profile of
FWHM 4 voxels, review eq. 3 along one axis) are simulated along an *in-plane* axis of the real
acquisition (:func:`medsr.bench.selfsr.simulate_thick_slices`), and every method goes back onto
the truth's grid through the engine of ``medsr upscale``; PSNR is measured inside the head (or the
body, for CT) with :func:`medsr.bench.selfsr.head_mask`, data range = the truth's range.

Held-out scans (``../shared/data/medical``), none of them used to choose any default of self-SR:

* ``chris_PD.nii.gz`` -- proton-density MRI, 0.86 mm in-plane, 2.4 mm slices. The *same subject*
  as ``chris_t1`` (a development scan), another contrast;
* ``CT_pitch.nii.gz`` -- CT of the head, 0.81 mm in-plane, 2.4 mm slices (mask: the body);
* ``mr_t1_series_dicom`` -- a T1 MRI DICOM series, 0.41 mm in-plane, 24 slices of 1.5 mm
  (another subject).

Development scans (what defaults were tuned on): the built-in MNI brain and ``chris_t1`` only.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medsr.errors import MedsrError

__all__ = ["HELDOUT_SCANS", "HeldoutScan", "run_case", "run_heldout", "run_scan"]


@dataclass(frozen=True)
class HeldoutScan:
    """One held-out scan: a name, its path under the data folder and the simulated slice axis
    (an in-plane axis of the real acquisition)."""

    name: str
    path: str
    axis: int
    note: str


HELDOUT_SCANS: tuple[HeldoutScan, ...] = (
    HeldoutScan("chris_PD", "chris_PD.nii.gz", 0, "MRI PD, same subject as chris_t1 (dev)"),
    HeldoutScan("CT_pitch", "CT_pitch.nii.gz", 0, "CT of the head; mask = body"),
    HeldoutScan("mr_t1_dicom", "mr_t1_series_dicom", 0, "MRI T1 DICOM, another subject"),
)


def _cpu_seconds() -> float:
    """User + system seconds of this process and of its ended children (self-SR's members)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += float(usage.ru_utime + usage.ru_stime)
    return total


def run_scan(
    scan: HeldoutScan,
    data_dir: Path,
    *,
    factor: float = 4.0,
    extra: dict[str, Any] | None = None,
    seed: int = 0,
    reapply_ensemble: bool = False,
    figure: Path | None = None,
) -> dict[str, Any]:
    """B-spline and self-SR on one held-out scan: PSNR inside the mask, gain, seconds (wall and
    CPU of the self-SR call), iterations and the machine's load average.

    With ``reapply_ensemble`` the trained network is applied a second time with the self-ensemble
    switched the other way (``self_psnr_other_ensemble``). Training is deterministic (same scan,
    seed and machine give the same weights), so this equals a second run with the ``ensemble``
    option flipped, for the cost of its inference only.
    """
    from medsr.bench.selfsr import simulate_thick_slices
    from medsr.io import read

    truth = read(data_dir / scan.path)
    case = simulate_thick_slices(truth, scan.axis, factor, profile="gaussian")
    row = run_case(case, extra=extra, seed=seed, reapply_ensemble=reapply_ensemble, figure=figure)
    return {"scan": scan.name, "note": scan.note, **row}


def run_case(
    case: Any,
    *,
    extra: dict[str, Any] | None = None,
    seed: int = 0,
    reapply_ensemble: bool = False,
    figure: Path | None = None,
) -> dict[str, Any]:
    """B-spline and self-SR on one simulated acquisition (a
    :class:`medsr.bench.selfsr.ThickSliceCase`): the record of :func:`run_scan` without the
    scan's name. With ``figure``, also the demo's PNG there
    (:func:`medsr.bench.figures.comparison_figure`: thick-slice input, B-spline, self-SR, truth
    and both error maps, with a magnified inset where B-spline errs most) in the orientations
    that show the restoration (:func:`medsr.bench.figures.restoring_views`)."""
    from medsr.bench.selfsr import run_method, score
    from medsr.infer import MethodOptions

    bspline_volume = run_method(case, "bspline").volume
    bspline = score(case, bspline_volume)
    options = MethodOptions(seed=seed, extra=dict(extra or {}))
    load_before = os.getloadavg()[0]
    t0, c0 = time.perf_counter(), _cpu_seconds()
    with _capture_restoration(reapply_ensemble) as captured:
        result = run_method(case, "self", options)
    wall, cpu = time.perf_counter() - t0, _cpu_seconds() - c0
    own = score(case, result.volume)
    if figure is not None:
        from medsr.bench.figures import comparison_figure, restoring_views

        volumes = {
            "nearest": run_method(case, "nearest").volume,
            "bspline": bspline_volume,
            "self": result.volume,
        }
        comparison_figure(
            case, volumes, figure, metrics={"bspline": bspline, "self": own},
            views=restoring_views(case),
        )
    info = result.details.get("method_info") or {}
    stages = info.get("stages", [])
    other: dict[str, Any] = {}
    if captured:
        if any(s.get("members") for s in stages):
            raise MedsrError(
                "re-applying the network with the ensemble switched needs one network per scan: "
                "add --option members=1"
            )
        other = _reapply(captured[-1], info, case, result.volume, bspline["psnr"])
    return {
        **other,
        "truth_shape": list(case.truth.shape),
        "lr_shape": list(case.lr.shape),
        "axis": case.axis,
        "factor": case.factor,
        "mask_voxels": int(case.mask.sum()),
        "bspline_psnr": round(bspline["psnr"], 3),
        "self_psnr": round(own["psnr"], 3),
        "gain_db": round(own["psnr"] - bspline["psnr"], 3),
        "bspline_ssim": round(bspline["ssim"], 4),
        "self_ssim": round(own["ssim"], 4),
        "seconds": round(wall, 1),
        "cpu_seconds": round(cpu, 1),
        "iterations": sum(int(s.get("iterations", 0)) for s in stages),
        "train_seconds": round(sum(float(s.get("seconds", 0)) for s in stages), 1),
        "apply_seconds": round(sum(float(s.get("apply_seconds", 0)) for s in stages), 1),
        "budget": info.get("budget"),
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


@contextmanager
def _capture_restoration(active: bool) -> Iterator[list[tuple[Any, ...]]]:
    """Record the arguments of self-SR's last :func:`medsr.selfsr.apply.restore_views` call
    in this process (member 0's: :mod:`medsr.selfsr.members`)."""
    from medsr.selfsr import members

    captured: list[tuple[Any, ...]] = []
    if not active:
        yield captured
        return
    original = members.restore_views

    def capture(net: Any, volume: Any, slice_axis: int, **kw: Any) -> Any:
        captured[:] = [(net, volume.copy(), slice_axis, kw)]
        return original(net, volume, slice_axis, **kw)

    members.restore_views = capture
    try:
        yield captured
    finally:
        members.restore_views = original


def _reapply(
    captured: tuple[Any, ...], info: dict[str, Any], case: Any, like: Any, bspline: float
) -> dict[str, Any]:
    """The captured network applied with the ensemble switched: PSNR, gain over ``bspline`` (the
    B-spline PSNR of the same case) and seconds."""
    import numpy as np

    from medsr.bench.selfsr import score
    from medsr.selfsr.apply import restore_through_plane

    net, volume, slice_axis, kw = captured
    kw = {k: v for k, v in kw.items() if k != "progress"}
    kw["ensemble"] = not kw.get("ensemble", False)
    t0 = time.perf_counter()
    out = restore_through_plane(
        net, volume, slice_axis, fusion=info["fusion"], fusion_power=info["fusion_power"], **kw
    )
    seconds = time.perf_counter() - t0
    norm = info["intensity_normalisation"]
    data = (out * norm["span"] + norm["low"]).astype(np.float32)
    psnr = score(case, like.with_data(data))["psnr"]
    return {
        "other_ensemble": kw["ensemble"],
        "self_psnr_other_ensemble": round(psnr, 3),
        "gain_db_other_ensemble": round(psnr - bspline, 3),
        "apply_seconds_other_ensemble": round(seconds, 1),
    }


def run_heldout(
    data_dir: Path,
    *,
    scans: tuple[HeldoutScan, ...] = HELDOUT_SCANS,
    factor: float = 4.0,
    extra: dict[str, Any] | None = None,
    seed: int = 0,
    reapply_ensemble: bool = False,
    figures: Path | None = None,
) -> dict[str, Any]:
    """:func:`run_scan` on every held-out scan; one JSON-ready record with the mean gain. With
    ``figures`` (a folder), each scan's figure is written there as ``NAME.png``."""
    rows = [
        run_scan(
            s,
            data_dir,
            factor=factor,
            extra=extra,
            seed=seed,
            reapply_ensemble=reapply_ensemble,
            figure=None if figures is None else figures / f"{s.name}.png",
        )
        for s in scans
    ]
    return {
        "protocol": f"x{factor:g} Gaussian thick slices (FWHM {factor:g} voxels) simulated along "
        "an in-plane axis of real scans; PSNR inside the head/body vs the scan itself",
        "tuned_on": ["built-in MNI brain (medsr.data 'brain')", "chris_t1.nii.gz"],
        "options": dict(extra or {}),
        "seed": seed,
        "cpus": os.cpu_count(),
        "scans": rows,
        "mean_gain_db": round(sum(r["gain_db"] for r in rows) / max(1, len(rows)), 3),
    }
