"""The trainings behind the weights shipped in the package (``src/medsr/weights/``, issue 12).

Each shipped model is one ``medsr train`` run of a recipe ``configs/shipped/<net>_x<scale>.yaml``
into ``shipped_runs/<net>_x<scale>/``. Training takes many CPU hours, so a run is meant to be
stopped and resumed across sessions: checkpoints every few hundred steps
(``checkpoints/last.ckpt``, a few MB), and :func:`run_step` resumes from the last one.
``benchmarks/train_shipped.py`` is the command line; it runs :func:`run_step` in a fresh
subprocess for each run, so edits to this module apply from the next run on.

* :func:`stage_data`: links CBSD68 + Sun-Hays80 (never Set5 / Set14) into
  ``shipped_runs/data/train`` minus :data:`VAL_IMAGES` (held out into ``shipped_runs/data/val``,
  the validation images of every recipe);
* :func:`run_step`: starts or resumes the first unfinished run of :data:`ORDER`, then exports it;
* :func:`export_run`: scores a finished run on Set5 / Set14 (Table-1 protocol, Y channel, after
  training: nothing is selected on them), records it in ``shipped.json`` of the run folder and,
  when it beats SRCNN on Set5 (:data:`TARGETS`), writes ``model.safetensors`` + ``model.json``
  into ``src/medsr/weights/<net>_x<scale>/`` with the command, steps, time, hardware and scores;
* :class:`Ledger`: ``ledger.json`` in the run folder, one segment per (re)start with the steps
  and wall time up to its last checkpoint (work after it is lost on a kill and not counted);
* the interpolation guard: a run whose held-out validation is not above cubic interpolation at
  :data:`GUARD_PATIENCE` validations in a row from step :data:`GUARD_AFTER` on is stopped and
  marked ``failed.json`` (VDSR x2 of 2026-12-01 trained 5 hours after collapsing in its first 300
  steps); the driver skips a failed run and the runs that start from it.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medsr.errors import MedsrError

__all__ = [
    "GUARD_AFTER",
    "GUARD_PATIENCE",
    "ORDER",
    "TARGETS",
    "VAL_IMAGES",
    "Ledger",
    "ShippedRun",
    "export_run",
    "hardware",
    "run_status",
    "run_step",
    "stage_data",
]

#: Set5 Y-PSNR to beat (SRCNN, Kim et al. CVPR 2016 Table 3) and to aim at (VDSR), per scale.
TARGETS: dict[int, tuple[float, float]] = {2: (36.66, 37.53), 3: (32.75, 33.66), 4: (30.48, 31.35)}

#: From this step on, a validation whose PSNR is not above interpolation's stops the run.
GUARD_AFTER = 2000
#: validations in a row (in one training segment) not above interpolation that stop a run: one
#: reading is noisy for the smallest networks (ESPCN x2's held-out PSNR moved by 0.3-0.6 dB from
#: one validation to the next at its early learning rate, and its first run stopped on a 27.87 dB
#: reading against interpolation's 28.03, 2026-12-02); a collapsed network stays below at every one
GUARD_PATIENCE = 2

#: Held out of training for validation: 4 CBSD68 + 4 Sun-Hays80 images (fixed names).
VAL_IMAGES: dict[str, tuple[str, ...]] = {
    "CBSD68": ("101085.png", "157055.png", "253027.png", "253055.png"),
    "CSun_Hays80": (
        "abbey_sun_asztnlqhlrvirneh.jpg",
        "chalet_sun_alyagmlzovxxkriw.jpg",
        "inn_outdoor_sun_bqdcyxucavdyycwk.jpg",
        "stadium_football_sun_bzdvbhfueegligps.jpg",
    ),
}
TRAIN_SETS = ("CBSD68", "CSun_Hays80")
TEST_SETS = ("CSet5", "CSet14")


@dataclass(frozen=True)
class ShippedRun:
    """One shipped model: ``configs/shipped/<key>.yaml`` -> ``shipped_runs/<key>/``.

    ``init_from``: key of a finished run whose weights start this one (tensors of the same name
    and shape are copied, e.g. the trunk of EDSR x2 for x3 / x4, as Lim et al. 2017 do).
    """

    net: str
    scale: int
    init_from: str | None = None

    @property
    def key(self) -> str:
        return f"{self.net}_x{self.scale}"


def _ladder(net: str) -> tuple[ShippedRun, ...]:
    """``net`` at x2, then x3 and x4 fine-tuned from its x2 weights."""
    return (
        ShippedRun(net, 2),
        ShippedRun(net, 3, init_from=f"{net}_x2"),
        ShippedRun(net, 4, init_from=f"{net}_x2"),
    )


#: Training order: EDSR (reduced) at x2, x3, x4 first (x3 / x4 fine-tuned from the x2 trunk, as
#: Lim et al. 2017 do), then RDN, RRDBNet, SRResNet and VDSR (reduced), then the cheap FSRCNN and
#: ESPCN (the papers' sizes). Three networks at three scales come first; the package ships each
#: run that beats SRCNN (:data:`TARGETS`). Step budgets: EDSR x2 reached Set5 37.44 dB at 20,500
#: steps, so its 60,000-step recipe was cut to 24,000 (2026-12-01).
ORDER: tuple[ShippedRun, ...] = (
    *_ladder("edsr"),
    # RDN before FSRCNN / ESPCN: FSRCNN x2 scored 35.03 dB on Set5 at step 32,000 of 200,000
    # (validation +0.07 dB over the last 10,000 steps), far from SRCNN's 36.66; the small networks
    # are unlikely to pass it at a CPU budget (docs/benchmarks/shipped.md)
    *_ladder("rdn"),
    # RRDBNet (2 x 32, growth 16) third (2026-12-02; 0.79 s a step on one thread), after VDSR x2
    # collapsed and SRResNet (8 x 32 with BN) stayed below interpolation at step 1,000 (train L1
    # 0.036 where EDSR / RDN had 0.018); both have failed.json in their run folders
    # x2 only: it scored Set5 36.13 dB (rejected, below SRCNN), so its x3 / x4 fine-tunes are not
    # queued (a rejected x2 still starts its children)
    ShippedRun("rrdbnet", 2),
    *_ladder("srresnet"),
    # VDSR (20 x 32): its weights do not depend on the scale, so x3 / x4 are short fine-tunes of
    # x2; it runs on the HR grid (0.78 s a step). Its x2 run of 2026-12-01 stalled at a zero
    # residual (PyTorch's default initialisation; shipped_runs/failed/): retrained with He's
    *_ladder("vdsr"),
    ShippedRun("fsrcnn", 2),
    ShippedRun("espcn", 2),
    ShippedRun("fsrcnn", 3, init_from="fsrcnn_x2"),
    ShippedRun("fsrcnn", 4, init_from="fsrcnn_x2"),
    ShippedRun("espcn", 3, init_from="espcn_x2"),
    ShippedRun("espcn", 4, init_from="espcn_x2"),
)


# ---------------------------------------------------------------------- data
def stage_data(natural: Path, runs: Path) -> tuple[Path, Path]:
    """Link the training images into ``runs/data/train`` and the held-out ones into
    ``runs/data/val``; refuses the test sets and any file named like a test image."""
    from medsr.bench.table1 import list_images

    natural = Path(natural).resolve()
    test_names = {
        p.name for t in TEST_SETS if (natural / t).is_dir() for p in list_images(natural / t)
    }
    train, val = Path(runs) / "data" / "train", Path(runs) / "data" / "val"
    for d in (train, val):
        d.mkdir(parents=True, exist_ok=True)
    for sub in TRAIN_SETS:
        held = set(VAL_IMAGES.get(sub, ()))
        for img in list_images(natural / sub):
            if img.name in test_names:
                raise MedsrError(f"{img} has the name of a test image; remove it from training")
            link = (val if img.name in held else train) / img.name
            if link.is_symlink() or link.exists():
                if link.resolve() != img.resolve():
                    raise MedsrError(f"two training images are named {img.name}; rename one")
                continue
            link.symlink_to(img)
    missing = sorted(
        n for sub, names in VAL_IMAGES.items() for n in names if not (val / n).exists()
    )
    if missing:
        raise MedsrError(f"held-out validation images not found: {', '.join(missing)}")
    return train, val


# ---------------------------------------------------------------------- bookkeeping
def hardware() -> dict[str, Any]:
    """CPU model, core count, torch version and threads of this process."""
    import torch

    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "accelerator": "cpu",
    }


class Ledger:
    """``ledger.json`` of a run folder: one segment per start/resume."""

    def __init__(self, run_dir: Path) -> None:
        self.path = Path(run_dir) / "ledger.json"

    def read(self) -> dict[str, Any]:
        if self.path.is_file():
            return json.loads(self.path.read_text(encoding="utf-8"))
        return {"segments": []}

    def write(self, data: dict[str, Any]) -> None:
        from medsr.jsonutil import write_json

        write_json(self.path, data)

    def begin(self, start_step: int, command: str, threads: int | None = None) -> int:
        """Open a segment from ``start_step``; ``threads``: the torch threads the training will
        use (its config's ``train.threads``), recorded instead of this process's count."""
        data = self.read()
        hw = hardware()
        if threads is not None:
            hw["torch_threads"] = int(threads)
        data["segments"].append(
            {
                "started": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
                "command": command,
                "hardware": hw,
                "start_step": int(start_step),
                "end_step": int(start_step),
                "seconds": 0.0,
            }
        )
        self.write(data)
        return len(data["segments"]) - 1

    def update(self, index: int, step: int, seconds: float) -> None:
        data = self.read()
        seg = data["segments"][index]
        seg["end_step"], seg["seconds"] = int(step), round(float(seconds), 1)
        seg["updated"] = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
        self.write(data)

    def totals(self) -> tuple[int, float]:
        """``(last step reached at a checkpoint, seconds summed over the segments)``."""
        segs = self.read()["segments"]
        steps = max((int(s["end_step"]) for s in segs), default=0)
        return steps, float(sum(float(s["seconds"]) for s in segs))


def _ledger_callback(ledger: Ledger, index: int, every: int, t0: float) -> Any:
    """A Lightning callback updating the ledger's segment after each checkpoint and at the end."""
    from lightning.pytorch.callbacks import Callback

    class _Record(Callback):
        def on_train_batch_end(self, trainer, *args: Any) -> None:
            if trainer.global_step % every == 0:
                ledger.update(index, trainer.global_step, time.perf_counter() - t0)

        def on_train_end(self, trainer, pl_module) -> None:
            ledger.update(index, trainer.global_step, time.perf_counter() - t0)

    return _Record()


def _interp_guard(run_dir: Path, after: int, patience: int = GUARD_PATIENCE) -> Any:
    """A Lightning callback stopping the run, and writing ``run_dir/failed.json``, at the
    ``patience``-th validation in a row from step ``after`` on whose PSNR is not above
    interpolation's."""
    from lightning.pytorch.callbacks import Callback

    class _Guard(Callback):
        misses = 0

        def on_validation_end(self, trainer, pl_module) -> None:
            if trainer.sanity_checking or trainer.global_step < after:
                return
            m = trainer.callback_metrics
            if "val/psnr" not in m or "val/psnr_interp" not in m:
                return
            psnr, interp = float(m["val/psnr"]), float(m["val/psnr_interp"])
            self.misses = 0 if psnr > interp else self.misses + 1
            if self.misses < patience:
                return
            from medsr.jsonutil import write_json

            write_json(
                run_dir / "failed.json",
                {
                    "step": int(trainer.global_step),
                    "val_psnr": round(psnr, 4),
                    "val_psnr_interp": round(interp, 4),
                    "reason": "held-out validation not above cubic interpolation",
                },
            )
            trainer.should_stop = True

    return _Guard()


def _checkpoint_step(ckpt: Path) -> int:
    import torch

    state = torch.load(str(ckpt), map_location="cpu", weights_only=False)
    return int(state.get("global_step", 0))


def _init_weights(run: ShippedRun, cfg_path: Path, runs: Path, run_dir: Path) -> Path:
    """``run_dir/init.safetensors``: the run's network at the config's seed, with every tensor of
    ``run.init_from``'s final weights whose name and shape fit copied in."""
    from safetensors.torch import load_file, save_file

    from medsr.runtime import torch_seed
    from medsr.train.builders import build_model
    from medsr.train.config import load_config

    assert run.init_from is not None
    src = runs / run.init_from / "model.safetensors"
    if not src.is_file():
        raise MedsrError(f"{run.key} starts from {run.init_from}, which has not finished ({src})")
    cfg = load_config(cfg_path)
    with torch_seed(cfg.seed):
        net = build_model(cfg)
    state = net.state_dict()
    copied = 0
    for k, v in load_file(str(src)).items():
        if k in state and tuple(state[k].shape) == tuple(v.shape):
            state[k] = v
            copied += 1
    out = run_dir / "init.safetensors"
    run_dir.mkdir(parents=True, exist_ok=True)
    save_file({k: t.detach().contiguous() for k, t in state.items()}, str(out))
    (run_dir / "init.json").write_text(
        json.dumps({"from": str(src), "copied": copied, "of": len(state)}, indent=2) + "\n"
    )
    return out


# ---------------------------------------------------------------------- one run
def _rel(path: Path, root: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path(root).resolve()))
    except ValueError:
        return str(Path(path).resolve())


def run_status(run: ShippedRun, runs: Path, weights_dir: Path) -> str:
    """The state of a run: "failed" (stopped by the interpolation guard), "exported" (in the
    package), "rejected" (scored below its target, not shipped), "trained" (not scored yet),
    "started" or "new". Delete the run folder to train a failed run again (a new recipe)."""
    run_dir = Path(runs) / run.key
    if (run_dir / "failed.json").is_file():
        return "failed"
    if (run_dir / "model.safetensors").is_file():
        record = run_dir / "shipped.json"
        if record.is_file():
            rec = json.loads(record.read_text(encoding="utf-8"))
            ran = json.loads((run_dir / "model.json").read_text(encoding="utf-8"))
            if rec.get("steps") == ran["extra"]["training"]["steps"]:
                if not rec.get("accepted"):
                    return "rejected"
                if (Path(weights_dir) / run.key / "model.json").is_file():
                    return "exported"
        return "trained"
    if (run_dir / "checkpoints" / "last.ckpt").is_file():
        return "started"
    return "new"


def train_run(
    run: ShippedRun,
    *,
    root: Path,
    runs: Path,
    overrides: Sequence[str] = (),
    command: str = "",
) -> Path:
    """Start or resume the training of ``run``; returns its run folder (with model.safetensors)."""
    from medsr.train import train
    from medsr.train.config import load_config
    from medsr.train.interrupt import TrainingInterrupted

    cfg_path = Path(root) / "configs" / "shipped" / f"{run.key}.yaml"
    run_dir = Path(runs) / run.key
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    ledger = Ledger(run_dir)
    if ckpt.is_file():
        start = _checkpoint_step(ckpt)
        # the checkpoint holds every weight: the x2 start (init.safetensors, not committed) is
        # not needed again
        overrides = ["model.init_weights=null", *overrides]
        cfg = load_config(run_dir / "config.yaml", overrides)
    else:
        # staged data and the run folder, relative to the repository root when inside it (the
        # config.yaml of the run then survives a move of the checkout)
        extra = [
            f"output_dir={_rel(run_dir, root)}",
            f"data.train.hr_dir={_rel(Path(runs) / 'data' / 'train', root)}",
            f"data.val.hr_dir={_rel(Path(runs) / 'data' / 'val', root)}",
        ]
        if run.init_from:
            extra.append(f"model.init_weights={_init_weights(run, cfg_path, Path(runs), run_dir)}")
        overrides = [*extra, *overrides]
        cfg = load_config(cfg_path, overrides)
        start = 0
        run_dir.mkdir(parents=True, exist_ok=True)
    index = ledger.begin(start, command, cfg.train.threads)
    t0 = time.perf_counter()
    cbs = [
        _ledger_callback(ledger, index, cfg.train.checkpoint_every, t0),
        _interp_guard(run_dir, GUARD_AFTER, GUARD_PATIENCE),
    ]
    try:
        if ckpt.is_file():
            train(resume=run_dir, overrides=overrides, callbacks=cbs)
        else:
            train(cfg_path, overrides, callbacks=cbs)
    except TrainingInterrupted as stop:
        # SIGINT / SIGTERM: last.ckpt holds this step; the segment counts up to it
        ledger.update(index, stop.step, time.perf_counter() - t0)
        raise
    return run_dir


def export_run(
    run: ShippedRun,
    *,
    root: Path,
    runs: Path,
    weights_dir: Path,
    natural: Path | None,
    command: str = "",
) -> dict[str, Any]:
    """Score the finished run on Set5 / Set14; ship it (write the weights into ``weights_dir``)
    when it beats its :data:`TARGETS` entry on Set5. Returns the record (``accepted``: shipped)."""
    from medsr.bench.table1 import evaluate_method, network_upscale
    from medsr.models.io import load_weights, save_weights

    run_dir = Path(runs) / run.key
    model, meta = load_weights(run_dir)
    steps_done, seconds = Ledger(run_dir).totals()
    steps = int(meta["extra"]["training"]["steps"])
    scores: dict[str, Any] = {}
    if natural is not None:
        for t in TEST_SETS:
            if (Path(natural) / t).is_dir():
                r = evaluate_method(
                    Path(natural) / t,
                    run.scale,
                    network_upscale(run_dir, run.scale, mode="y"),
                    mode="y",
                )
                scores[r.dataset] = {"psnr": round(r.psnr, 4), "ssim": round(r.ssim, 5)}
    beat, aim = TARGETS.get(run.scale, (None, None))
    ledger = Ledger(run_dir).read()
    try:
        config_rel = str((Path(root) / "configs" / "shipped" / f"{run.key}.yaml").relative_to(root))
    except ValueError:
        config_rel = f"configs/shipped/{run.key}.yaml"
    shipped = {
        "name": run.net,
        "scale": run.scale,
        "recipe": config_rel,
        "command": command or "python benchmarks/train_shipped.py",
        "equivalent_command": f"medsr train {config_rel} output_dir=shipped_runs/{run.key} "
        f"(resumed with `medsr train --resume shipped_runs/{run.key}`)",
        "init_from": run.init_from,
        "steps": steps,
        "train_seconds": round(seconds, 1),
        "train_hours": round(seconds / 3600, 2),
        "hardware": ledger["segments"][-1]["hardware"] if ledger["segments"] else hardware(),
        "segments": ledger["segments"],
        "protocol": "medsr.bench.table1, mode y (Y of BT.601, MATLAB bicubic LR, scale-pixel "
        "border removed), scored after training",
        "scores": scores,
        "target_set5_psnr": {"beat_srcnn": beat, "aim_vdsr": aim},
        "exported": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
    if steps_done and steps_done != steps:
        shipped["ledger_steps"] = steps_done
    set5 = scores.get("Set5", {}).get("psnr")
    shipped["accepted"] = beat is None or (set5 is not None and set5 > beat)
    from medsr.jsonutil import write_json

    write_json(run_dir / "shipped.json", shipped)
    out = Path(weights_dir) / run.key
    if not shipped["accepted"]:  # below SRCNN: not shipped (and an older export withdrawn)
        import shutil

        if out.is_dir():
            shutil.rmtree(out)
        return shipped
    extra = dict(meta.get("extra") or {})
    training = dict(extra.get("training") or {})
    training.pop("run_dir", None)
    training["data"] = {k: v for k, v in dict(training.get("data") or {}).items() if k != "files"}
    extra["training"] = training
    extra["shipped"] = shipped
    save_weights(
        model,
        out,
        name=meta["architecture"],
        preset=meta.get("preset", "paper"),
        kwargs=meta.get("kwargs") or {},
        scale=meta["scale"],
        dims=int(meta["dims"]),
        in_channels=int(meta["in_channels"]),
        normalisation=meta.get("normalisation"),
        extra=extra,
    )
    return shipped


def run_step(
    *,
    root: Path,
    runs: Path,
    weights_dir: Path,
    natural: Path,
    order: Sequence[ShippedRun] = ORDER,
    only: Sequence[str] = (),
    overrides: Sequence[str] = (),
    command: str = "",
    log: Any = print,
) -> str | None:
    """Train (start or resume) and export the first run of ``order`` not yet exported; returns its
    key, or None when every run is exported."""
    stage_data(natural, runs)
    for run in order:
        if only and run.key not in only:
            continue
        status = run_status(run, runs, weights_dir)
        if status in ("exported", "rejected", "failed"):
            continue
        if run.init_from and (Path(runs) / run.init_from / "failed.json").is_file():
            log(f"[{run.key}] skipped: its start {run.init_from} failed")
            continue
        parent = Path(runs) / str(run.init_from) / "model.safetensors"
        if status == "new" and run.init_from and not parent.is_file():
            log(f"[{run.key}] waits for {run.init_from}; skipped")
            continue
        lock = _try_lock(Path(runs) / run.key)
        if lock is None:  # another driver trains this run (two drivers share the CPU's cores)
            log(f"[{run.key}] trained by another driver; skipped")
            continue
        with lock:
            if status in ("new", "started"):
                log(f"[{run.key}] {'resuming' if status == 'started' else 'starting'} training")
                train_run(run, root=root, runs=runs, overrides=overrides, command=command)
            failed = Path(runs) / run.key / "failed.json"
            if failed.is_file():
                f = json.loads(failed.read_text(encoding="utf-8"))
                log(
                    f"[{run.key}] FAILED at step {f['step']}: validation {f['val_psnr']} dB, "
                    f"not above interpolation ({f['val_psnr_interp']} dB); not scored"
                )
                return run.key
            rec = export_run(
                run,
                root=root,
                runs=runs,
                weights_dir=weights_dir,
                natural=natural,
                command=command,
            )
        done = "exported" if rec["accepted"] else "NOT shipped (Set5 below SRCNN)"
        log(f"[{run.key}] {done}: {rec['steps']} steps, {rec['train_hours']} h, {rec['scores']}")
        return run.key
    return None


def _try_lock(run_dir: Path) -> Any:
    """An exclusive lock on ``run_dir/.lock`` (released when the returned file closes), or None
    when another process holds it."""
    import fcntl

    run_dir.mkdir(parents=True, exist_ok=True)
    fh = open(run_dir / ".lock", "a+")  # noqa: SIM115 - closed by the caller's ``with``
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.close()
        return None
    return fh
