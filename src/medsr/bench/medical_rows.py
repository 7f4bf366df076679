"""The rows of the section-4 table that are not one thick-slice stack of chris_t1 through a network
trained on the MNI brain (:mod:`medsr.bench.networks`); same row keys, same record.

Li, Sixou & Peyrin (IRBM 2021), section 4, also present methods that need other inputs or other
data; each gets rows here, named by :data:`EXTRA_ROWS`:

* ``self_sr`` -- self-supervised SR (SMORE / SAA, refs. [83], [84]; the ``self`` method of
  :func:`medsr.infer.upscale` with its default iteration budget, from a random initialisation as
  the papers: ``init=none``, not the package's default warm start) on exactly the case of the
  network rows (:func:`medsr.bench.networks.test_case`): it trains on the thick-slice input itself.
* ``oktay_misr`` -- Oktay et al.'s multi-input network (MICCAI 2016, ref. [81]): three orthogonal
  thick-slice stacks (thick along x, y and z, Gaussian profile) as joint input. Trained with
  ``configs/oktay_misr.yaml`` (its ``data.stacks`` path, :mod:`medsr.train.stacks`) on the MNI
  brain; scored on the chris_t1 crop with the three stacks simulated the same way
  (:func:`medsr.train.stacks.make_stacks`), beside B-spline of the single z stack (the other rows'
  input): the multi-stack row sees three times the data of the others.
* ``multicontrast_single`` / ``multicontrast_t1`` -- Zeng et al. (Comput. Biol. Med. 2018, ref.
  [78]): the same ``multicontrast_sr`` cascade trained without and with the T1 reference
  (translated onto the PD training slices by mutual information,
  :func:`medsr.bench.multicontrast.register_translation`). Data differ from the other rows: the
  scored contrast is **PD** (``chris_PD``, in-plane MATLAB-bicubic x2, held-out slices 38-53,
  trained on slices 0-33 of the same scan), as in :mod:`medsr.bench.multicontrast`.
* ``umehara_srcnn_ct`` / ``park_unet_ct`` -- the CT recipes (Umehara et al. 2018, ref. [69]; Park
  et al. 2018, ref. [70]) on CT. The only CT medsr has, ``CT_pitch`` (0.81 mm in plane, 2.4 mm
  slices), has no thin-slice truth along z, so thick slices are simulated **in plane**, along y
  (0.81 mm), with Park et al.'s rectangular profile (the LR slice is the mean of ``s`` thin
  slices): trained on axial slices 0-43, scored on the held-out axial slices 46-57 (never seen in
  training; nothing is tuned on them), B-spline beside. Umehara et al. degrade by bicubic
  in-plane down-sampling; here both networks learn the same thick-slice degradation (simplified:
  one degradation for both rows so that they are comparable).
* ``srcnn3d_residual`` / ``umehara_srcnn_ct_residual`` -- labelled VARIANTS, not the papers'
  methods: the rows ``srcnn3d`` (Pham et al., ISBI 2017) and ``umehara_srcnn_ct`` (ref. [69])
  with one change, a global residual (the output is added to the cubic-interpolated input, as
  VDSR; neither paper has it). A plain SRCNN must reproduce the identity to the precision of the
  interpolation it competes with, which a few CPU-minutes of training do not reach; the variants
  show what the residual alone changes, beside the faithful rows.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from medsr.bench.networks import SCORE_CROP, TimedRun, test_case, train_recipe
from medsr.errors import MedsrError
from medsr.volume import Volume

__all__ = ["EXTRA_ROWS", "ExtraRow", "find_extra", "run_extra_row"]

#: CT: training and held-out axial slices of CT_pitch ([start, stop)), as configs/umehara_ct.yaml
CT_TRAIN: tuple[int, int] = (0, 44)
CT_TEST: tuple[int, int] = (46, 58)
#: PD: training slices [0, split) and test slices [split + gap, end), as medsr.bench.multicontrast
PD_SPLIT, PD_GAP = 34, 4


@dataclass(frozen=True)
class ExtraRow:
    """One method of :data:`EXTRA_ROWS`.

    Attributes:
        method: row name (``--method``).
        review_ref: the review's reference number(s).
        paper: short citation.
        scored_on: the scored case, for the table's "scored on" column.
        scales: the scales the row can be run at.
        steps: default training steps (self-SR: iterations; None: the method's default).
        runner: ``runner(spec, scale, steps, work_dir, overrides, crop, truth) -> row fields``.
    """

    method: str
    review_ref: str
    paper: str
    scored_on: str
    scales: tuple[int, ...]
    steps: int | None
    runner: Callable[..., dict[str, Any]]


def _shared_medical(name: str) -> Path:
    from medsr.bench.networks import _chris_t1

    path = _chris_t1().parent / name
    if not path.is_file():
        raise MedsrError(f"{path} is missing; put {name} there")
    return path


def _cost(run: TimedRun) -> dict[str, Any]:
    """The row fields of a training: steps, wall-clock and CPU seconds."""
    return {"train_steps": run.steps, "train_seconds": run.seconds,
            "train_cpu_seconds": run.cpu_seconds}


def _fixed(steps: int, out: Path) -> list[str]:
    """Overrides every extra row's training gets: fixed steps (no time limit), seed 0, one
    thread, no validation, the run folder."""
    return [
        "seed=0",
        f"train.max_steps={int(steps)}",
        "train.max_time=null",
        f"train.checkpoint_every={int(steps)}",
        "train.threads=1",
        "train.accelerator=cpu",
        "train.progress=none",
        "data.val=null",
        f"output_dir={json.dumps(str(out / 'run'))}",
    ]


def _run_dir(work_dir: str | os.PathLike[str], method: str, scale: int) -> Path:
    root = Path(work_dir)
    root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{method}_x{scale}_", dir=root))


# ---------------------------------------------------------------------- self-SR (refs. [83], [84])
def _self_row(spec: ExtraRow, scale: int, steps: int | None, work_dir: Any, overrides: Any,
              crop: Sequence[int] | None, truth: Volume | None) -> dict[str, Any]:
    from medsr.bench.selfsr import run_method, score
    from medsr.infer import MethodOptions

    if overrides:
        raise MedsrError("self_sr takes no recipe overrides (--set); give --steps for iterations")
    case = test_case(scale, crop, truth)
    # random initialisation, as SMORE / SAA (not the package's warm start from a prior)
    extra: dict[str, Any] = {"threads": 1, "init": "none"}
    if steps is not None:
        extra["iterations"] = int(steps)
    t0, c0 = time.perf_counter(), time.process_time()
    result = run_method(case, "self", MethodOptions(seed=0, extra=extra))
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    info = result.details.get("method_info") or {}
    stages = info.get("stages") or []
    net = score(case, result.volume)
    spline = score(case, run_method(case, "bspline").volume)
    return {
        "scores": (net, spline),
        "train_steps": int(sum(int(s.get("iterations", 0)) for s in stages)),
        "train_seconds": seconds,
        "train_cpu_seconds": cpu,
        "recipe": f"upscale method 'self', budget {info.get('budget')}, init "
        f"{info.get('init')} (random, as the papers), seed 0, one thread",
        "notes": "trains on the thick-slice input itself; seconds include inference",
    }


# ---------------------------------------------------------------------- Oktay et al. (ref. [81])
def _oktay_row(spec: ExtraRow, scale: int, steps: int | None, work_dir: Any,
               overrides: Sequence[str], crop: Sequence[int] | None,
               truth: Volume | None) -> dict[str, Any]:
    import torch

    from medsr.bench.selfsr import run_method, score
    from medsr.data import sample_path
    from medsr.models.io import load_weights
    from medsr.normalise import Normaliser
    from medsr.train.stacks import make_stacks
    from medsr.train.stacks_config import StacksSection

    out = _run_dir(work_dir, spec.method, scale)
    n = int(steps if steps is not None else spec.steps or 1)
    row = [
        "profile=cpu",
        *_fixed(n, out),
        f"model.scale={int(scale)}",
        f"data.train={json.dumps({'hr_dir': str(sample_path('brain'))})}",
        "data.stacks={axes: [0, 1, 2], profile: gaussian}",
        "model.kwargs={layers: 5, channels: 16}",
        "data.patch_size=24",
        "data.batch_size=4",
        "optim.schedule={kind: cosine, min_lr: 1.0e-5}",
    ]
    run = train_recipe("oktay_misr", [*row, *overrides], name=spec.method)
    case = test_case(scale, crop, truth)
    section = StacksSection(axes=[0, 1, 2], profile="gaussian")
    stacks = make_stacks(case.truth.data.astype(np.float32), section, int(scale))
    if not np.allclose(stacks[2], case.lr.data, atol=1e-3 * case.data_range):
        raise MedsrError("the z stack of oktay_misr differs from the other rows' thick slices")
    model, meta = load_weights(run.weights)
    norm = Normaliser.from_dict(meta.get("normalisation")).fit(case.lr.data)
    with torch.inference_mode():
        inputs = [torch.from_numpy(norm.forward(s)[None]) for s in stacks]
        sr = model.eval()(inputs)[0].numpy()
    output = case.truth.with_data(norm.inverse(sr).astype(np.float32))
    net = score(case, output)
    spline = score(case, run_method(case, "bspline").volume)
    return {
        "scores": (net, spline),
        **_cost(run),
        "recipe": "configs/oktay_misr.yaml --profile cpu (MNI brain, 16 x 5 layers, fixed steps)",
        "notes": "input: three orthogonal stacks (x, y, z); B-spline of the z stack alone",
    }


# ---------------------------------------------------------------------- Zeng et al. (ref. [78])
def _multicontrast_row(spec: ExtraRow, scale: int, steps: int | None, work_dir: Any,
                       overrides: Sequence[str], crop: Any, truth: Any) -> dict[str, Any]:
    from medsr.bench.multicontrast import held_out_case, register_translation
    from medsr.infer import UpscaleConfig, upscale
    from medsr.infer.predictor import Predictor
    from medsr.io import read, write
    from medsr.metrics import psnr, ssim

    if scale != 2:
        raise MedsrError(f"{spec.method} is measured at x2 (in-plane), not x{scale}")
    out = _run_dir(work_dir, spec.method, scale)
    pd, t1 = read(_shared_medical("chris_PD.nii.gz")), read(_shared_medical("chris_t1.nii.gz"))
    train_pd = pd.with_data(np.ascontiguousarray(pd.data[..., :PD_SPLIT], dtype=np.float32))
    write(train_pd, out / "pd_train.nii.gz", dtype="float32", overwrite=True)
    n = int(steps if steps is not None else spec.steps or 1)
    row = ["profile=cpu", *_fixed(n, out), "data.train.hr_dir=" + str(out / "pd_train.nii.gz")]
    reference, meta = None, {}
    if spec.method == "multicontrast_t1":  # aligned on the training slices only
        shift, _ = register_translation(t1, train_pd)
        meta["t1_shift_mm"] = [round(float(v), 2) for v in shift]
        affine = np.array(t1.affine, dtype=np.float64)
        affine[:3, 3] += shift
        t1 = t1.with_data(t1.data, affine=affine)
        write(t1, out / "t1_registered.nii.gz", dtype="float32", overwrite=True)
        row.append(f"data.train.reference={out / 't1_registered.nii.gz'}")
    else:
        row.append("data.train.reference=null")
    run = train_recipe("multicontrast", [*row, *overrides], name=spec.method)
    case = held_out_case(pd, t1, PD_SPLIT + PD_GAP, pd.shape[2], "bicubic")
    if spec.method == "multicontrast_t1":
        reference = case.reference
    predictor = Predictor.from_weights(run.weights)
    sr = upscale(case.lr, case.target, predictor=predictor,
                 config=UpscaleConfig(reference=reference)).volume
    spline_vol = upscale(case.lr, case.target, method="bspline").volume
    t = case.truth.data[0]
    r = float(t.max() - t.min())

    def _s(v: Volume) -> dict[str, float]:
        o = v.data[0]
        return {"psnr": float(psnr(t, o, data_range=r, mask=case.mask)),
                "ssim": float(ssim(t, o, data_range=r, mask=case.mask))}

    return {
        "scores": (_s(sr), _s(spline_vol)),
        **_cost(run),
        "recipe": "configs/multicontrast.yaml --profile cpu (fixed steps)",
        "notes": "PD target, in-plane bicubic x2" + (", T1 reference" if reference is not None
                                                     else ", no reference"),
        "crop": None,  # the whole held-out PD slab
        **meta,
    }


# ---------------------------------------------------------------------- CT (refs. [69], [70])
def ct_case(scale: int) -> Any:
    """The CT case: held-out axial slices :data:`CT_TEST` of CT_pitch, thick slices along y
    (in plane, 0.81 mm) at ``scale`` with a rectangular profile (Park et al.'s averaging)."""
    from medsr.bench.selfsr import simulate_thick_slices
    from medsr.io import read
    from medsr.volume import crop_affine

    ct = read(_shared_medical("CT_pitch.nii.gz"))
    z0, z1 = CT_TEST
    slab = ct.with_data(np.ascontiguousarray(ct.data[..., z0:z1], dtype=np.float32),
                        affine=crop_affine(ct.affine, (0, 0, z0)))
    return simulate_thick_slices(slab, 1, float(scale), profile="rect")


def _ct_row(spec: ExtraRow, scale: int, steps: int | None, work_dir: Any,
            overrides: Sequence[str], crop: Any, truth: Any) -> dict[str, Any]:
    from medsr.bench.selfsr import run_method, score
    from medsr.infer import UpscaleConfig, upscale
    from medsr.infer.predictor import Predictor

    recipe = {"umehara_srcnn_ct": "umehara_ct", "umehara_srcnn_ct_residual": "umehara_ct",
              "park_unet_ct": "unet_sr_ct"}[spec.method]
    # the variant: the same SRCNN 9-5-5 64/32 on the cubic input (srcnn3d with dims 2 is plain
    # SRCNN) plus a global residual, which Umehara et al. do not have
    variant = (["model.name=srcnn3d", "model.preset=paper", "model.kwargs={residual: true}"]
               if spec.method == "umehara_srcnn_ct_residual" else [])
    out = _run_dir(work_dir, spec.method, scale)
    n = int(steps if steps is not None else spec.steps or 1)
    train = {"hr_dir": str(_shared_medical("CT_pitch.nii.gz")), "slices": list(CT_TRAIN)}
    row = [
        "profile=cpu",
        *_fixed(n, out),
        f"model.scale={json.dumps([1, int(scale)])}",
        f"data.train={json.dumps(train)}",
        "data.slice_axis=2",
        "data.degradation=thick:profile=rect",
        "data.augment={flip: true, rot90: false, transpose: false}",
        # the cpu profiles' patch / batch when these rows were measured (pinned since)
        *{"umehara_ct": ["data.patch_size=32", "data.batch_size=16"],
          "unet_sr_ct": ["data.batch_size=16"]}[recipe],
        *variant,
    ]
    run = train_recipe(recipe, [*row, *overrides], name=spec.method)
    case = ct_case(scale)
    predictor = Predictor.from_weights(run.weights)
    target = _target(case)
    sr = upscale(case.lr, target, predictor=predictor, config=UpscaleConfig(axis=2)).volume
    return {
        "scores": (score(case, sr), score(case, run_method(case, "bspline").volume)),
        **_cost(run),
        "recipe": f"configs/{recipe}.yaml --profile cpu (thick:profile=rect along y, fixed steps)"
        + (" + global residual (model srcnn3d, dims 2, residual: true)" if variant else ""),
        "notes": "CT_pitch axial slices 46-57 held out; thick slices along y in plane"
        + ("; VARIANT, not the paper's method: SRCNN plus a global residual on the cubic "
           "input (not in Umehara et al. 2018)" if variant else ""),
        "crop": None,  # the whole held-out CT slab
    }


# ------------------------------------------------- 3D SRCNN with a global residual (a variant)
def _srcnn3d_residual_row(spec: ExtraRow, scale: int, steps: int | None, work_dir: Any,
                          overrides: Sequence[str], crop: Sequence[int] | None,
                          truth: Volume | None) -> dict[str, Any]:
    """``srcnn3d`` (Pham et al., ISBI 2017) exactly as its row (the ``bench`` profile: 9-5-5
    kernels, 32/16 filters, same data, steps and optimiser) plus changes that are not in the
    paper: the output is added to the interpolated input (VDSR's global residual, as the recipe's
    ``cpu`` profile), and that interpolation is cubic B-spline instead of Keys cubic (Keys scores
    0.4 dB below B-spline on this case, so a residual on it starts below the baseline). Scored on
    the case of the network rows."""
    from medsr.bench.networks import find_network, score_network, train_network

    n = int(steps if steps is not None else spec.steps or 1)
    row = [
        "model.kwargs={channels: [32, 16], residual: true, interp: bspline}",
        f"train.max_steps={n}",
        f"train.checkpoint_every={n}",
    ]
    trained = train_network(find_network("srcnn3d"), scale, work_dir,
                            overrides=[*row, *overrides])
    scores = score_network(trained, test_case(scale, crop, truth))
    return {
        "scores": ({"psnr": scores["psnr"], "ssim": scores["ssim"]},
                   {"psnr": scores["bspline_psnr"], "ssim": scores["bspline_ssim"]}),
        "train_steps": trained.steps,
        "train_seconds": trained.seconds,
        "train_cpu_seconds": trained.cpu_seconds,
        "infer_seconds": round(scores["infer_seconds"], 1),
        "recipe": "configs/srcnn3d.yaml --profile bench + model.kwargs residual=true, "
        "interp=bspline",
        "dims": 3,
        "notes": "VARIANT, not the paper's method: srcnn3d's bench row plus a global residual on "
        "a cubic B-spline up-sampling of the input (neither in Pham et al. 2017)",
    }


def _target(case: Any) -> Any:
    from medsr.volume import TargetGrid

    return TargetGrid.from_factors(case.lr, case.factors)


#: the extra rows, in the order of the table (after :data:`medsr.bench.networks.NETWORKS`)
EXTRA_ROWS: tuple[ExtraRow, ...] = (
    ExtraRow("self_sr", "[83], [84]", "Zhao et al., SMORE (IEEE TMI 2021) / SAA (MICCAI 2018)",
             "chris_t1 z", (2, 4), None, _self_row),
    ExtraRow("oktay_misr", "[81]", "Oktay et al., MICCAI 2016",
             "chris_t1 x+y+z stacks", (2, 4), 400, _oktay_row),
    ExtraRow("multicontrast_single", "[78]", "Zeng et al., Comput. Biol. Med. 2018",
             "chris_PD in-plane", (2,), 1000, _multicontrast_row),
    ExtraRow("multicontrast_t1", "[78]", "Zeng et al., Comput. Biol. Med. 2018",
             "chris_PD in-plane + T1", (2,), 1000, _multicontrast_row),
    ExtraRow("umehara_srcnn_ct", "[69]", "Umehara et al., J. Digit. Imaging 2018",
             "CT_pitch y (held out)", (2, 4), 1000, _ct_row),
    ExtraRow("umehara_srcnn_ct_residual", "[69] (variant)",
             "Umehara et al., J. Digit. Imaging 2018 + global residual (not in the paper)",
             "CT_pitch y (held out)", (2, 4), 1000, _ct_row),
    # 1600 steps (was 800): chosen on CT_pitch slices 32-43 held out of a training on 0-29, never
    # on the scored slices 46-57: x2 +1.36 dB over B-spline at 800 steps, +2.65 dB at 1600
    ExtraRow("park_unet_ct", "[70]", "Park et al., Phys. Med. Biol. 2018",
             "CT_pitch y (held out)", (2, 4), 1600, _ct_row),
    ExtraRow("srcnn3d_residual", "section 4 (variant)",
             "Pham et al., ISBI 2017 + global residual (not in the paper)",
             "chris_t1 z", (2, 4), 1800, _srcnn3d_residual_row),
)


def find_extra(method: str) -> ExtraRow | None:
    """The :data:`EXTRA_ROWS` entry named ``method``, or None."""
    return next((e for e in EXTRA_ROWS if e.method == method), None)


def run_extra_row(
    spec: ExtraRow,
    scale: int,
    *,
    steps: int | None = None,
    work_dir: str | os.PathLike[str] = "runs/medical_networks",
    overrides: Sequence[str] = (),
    crop: Sequence[int] | None = SCORE_CROP,
    truth: Volume | None = None,
) -> dict[str, Any]:
    """Run one extra row: the fields of :func:`medsr.bench.networks.run_row` (without the
    command) plus ``scored_on`` and ``notes``."""
    from medsr.errors import OptionError
    from medsr.runtime import torch_threads

    if int(scale) not in spec.scales:
        raise OptionError(f"{spec.method} runs at x{', x'.join(map(str, spec.scales))}")
    with torch_threads(1):
        fields = spec.runner(spec, int(scale), steps, work_dir, list(overrides), crop, truth)
    net, spline = fields.pop("scores")
    return {
        "method": spec.method,
        "review_ref": spec.review_ref,
        "scale": int(scale),
        "psnr": round(float(net["psnr"]), 3),
        "ssim": round(float(net["ssim"]), 4),
        "bspline_psnr": round(float(spline["psnr"]), 3),
        "train_steps": int(fields.pop("train_steps")),
        "train_seconds": round(float(fields.pop("train_seconds")), 1),
        "bspline_ssim": round(float(spline["ssim"]), 4),
        "train_cpu_seconds": round(float(fields.pop("train_cpu_seconds")), 1),
        "scored_on": spec.scored_on,
        "paper": spec.paper,
        "crop": fields.pop("crop", None if crop is None else [int(c) for c in crop]),
        "overrides": list(overrides),
        **fields,
    }
