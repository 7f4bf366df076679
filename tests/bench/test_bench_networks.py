"""The section-4 network benchmark (medsr.bench.networks, benchmarks/medical_networks.py)."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from medsr.bench.medical_rows import (
    CT_TEST,
    CT_TRAIN,
    EXTRA_ROWS,
    ct_case,
    find_extra,
    run_extra_row,
)
from medsr.bench.networks import (
    NETWORKS,
    ROW_KEYS,
    find_network,
    load_rows,
    lock_path,
    networks_markdown,
    record_row,
    update_markdown,
)
from medsr.errors import MedsrError
from medsr.recipes import recipes_folder
from medsr.train.config import load_config

ROOT = Path(__file__).resolve().parents[2]
RECORD = ROOT / "docs" / "benchmarks" / "medical_networks.json"
MEDICAL_MD = ROOT / "docs" / "benchmarks" / "medical.md"


def _row(method: str, scale: int, psnr: float, bspline: float) -> dict:
    return {
        "method": method,
        "review_ref": "[75]",
        "scale": scale,
        "psnr": psnr,
        "ssim": 0.9,
        "bspline_psnr": bspline,
        "train_steps": 10,
        "train_seconds": 1.0,
        "command": f".venv/bin/python benchmarks/medical_networks.py --method {method} "
        f"--scale {scale}",
    }



def _script_row(cmd: list[str]) -> dict:
    """Run ``benchmarks/medical_networks.py`` (one torch thread) and return the row it prints
    last, checked to hold every column."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        cmd, check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    row = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(ROW_KEYS) <= set(row)
    return row


def test_row_command_prints_one_json_row_with_every_key(tmp_path: Path) -> None:
    """The row command of a tiny network (test-size overrides: one step, the tiny preset, a
    16^3 crop) runs from the repository root and prints its row as JSON on its last line."""
    cmd = [
        sys.executable,
        "benchmarks/medical_networks.py",
        "--method",
        "umehara_srcnn",
        "--scale",
        "2",
        "--steps",
        "1",
        "--crop",
        "16,16,16",
        "--set",
        "model.preset=tiny",
        "--work",
        str(tmp_path),
    ]
    row = _script_row(cmd)
    assert row["method"] == "umehara_srcnn" and row["scale"] == 2 and row["train_steps"] == 1
    assert row["review_ref"] == "[69]"
    # the recorded command reproduces this very row (same test-size overrides)
    assert shlex.split(row["command"])[1:] == cmd[1:-2]
    # a network trained one step scores below B-spline; B-spline itself is a real score
    assert 15.0 < row["bspline_psnr"] < 60.0
    assert row["psnr"] < row["bspline_psnr"]
    assert 0.0 < row["bspline_ssim"] <= 1.0


def test_every_network_has_a_bench_profile_on_the_mni_brain() -> None:
    """Each recipe's ``bench`` profile: fixed steps (no time limit), one thread, seed 0, the MNI
    brain, Gaussian thick slices, and never the test scan chris_t1."""
    for spec in NETWORKS:
        cfg = load_config(Path(recipes_folder()) / f"{spec.recipe}.yaml", ["profile=bench"])
        assert cfg.train.max_time is None and cfg.train.max_steps <= 3000, spec.method
        assert cfg.train.threads == 1 and cfg.seed == 0, spec.method
        assert cfg.data.degradation == "thick:profile=gaussian", spec.method
        assert cfg.data.val is None, spec.method
        assert cfg.data.train.hr_dir.endswith("brain.nii.gz"), spec.method
        assert cfg.model.dims == spec.dims, spec.method
    with pytest.raises(MedsrError, match="lgrl_sr"):
        find_network("vdsr")


def test_record_keeps_one_row_per_method_and_scale(tmp_path: Path) -> None:
    path = tmp_path / "rows.json"
    record_row(path, _row("csn", 4, 25.0, 24.0))
    record_row(path, _row("csn", 2, 28.0, 29.0))
    rows = record_row(path, _row("lgrl_sr", 2, 31.0, 29.0))
    assert [(r["method"], r["scale"]) for r in rows] == [("lgrl_sr", 2), ("csn", 2), ("csn", 4)]
    rows = record_row(path, _row("csn", 2, 30.0, 29.0))  # a re-run replaces its row
    assert len(rows) == 3 and load_rows(path)[1]["psnr"] == 30.0
    with pytest.raises(Exception, match="command"):
        record_row(path, {k: v for k, v in _row("csn", 2, 1, 1).items() if k != "command"})
    table = networks_markdown([_row("csn", 2, 28.0, 29.0), _row("lgrl_sr", 2, 31.0, 29.0)])
    assert "| x2 | `lgrl_sr` | [75] | chris_t1 z | 31.00 | 0.9000 | 29.00 | +2.00 |" in table
    assert "-1.00 (not better)" in table
    md = tmp_path / "page.md"
    md.write_text("# page\n\ntext\n", encoding="utf-8")
    update_markdown(md, rows)
    update_markdown(md, rows)  # regenerated in place, not appended twice
    text = md.read_text(encoding="utf-8")
    assert text.startswith("# page\n\ntext\n") and text.count("`csn`") == 2


def _record_many(path: str, md: str, method: str, scales: list[int]) -> None:
    for scale in scales:
        record_row(path, _row(method, scale, 30.0 + scale, 29.0), markdown=md)


def test_two_processes_recording_at_once_lose_no_row(tmp_path: Path) -> None:
    """record_row from two processes at the same time: the read-modify-write is under an
    exclusive lock beside the JSON, so every row of both ends up in the record and the page."""
    import multiprocessing

    path, md = tmp_path / "rows.json", tmp_path / "page.md"
    md.write_text("# page\n", encoding="utf-8")
    ctx = multiprocessing.get_context("fork")
    scales = list(range(2, 42))
    workers = [
        ctx.Process(target=_record_many, args=(str(path), str(md), m, scales))
        for m in ("csn", "lgrl_sr")
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
        assert w.exitcode == 0
    rows = load_rows(path)
    assert sorted((r["method"], r["scale"]) for r in rows) == sorted(
        (m, s) for m in ("csn", "lgrl_sr") for s in scales
    )
    assert networks_markdown(rows) in md.read_text(encoding="utf-8")
    assert lock_path(path) == tmp_path / ".rows.json.lock" and lock_path(path).exists()


def test_recorded_rows_have_every_key_and_their_command() -> None:
    """docs/benchmarks/medical_networks.json: every row has the keys and the command that
    reproduces it alone; the table in medical.md is generated from exactly these rows."""
    rows = load_rows(RECORD)
    assert rows, "no measured rows recorded"
    methods = {s.method for s in NETWORKS} | {e.method for e in EXTRA_ROWS}
    for r in rows:
        assert set(ROW_KEYS) <= set(r), r
        assert r["method"] in methods and r["scale"] in (2, 4)
        assert shlex.split(r["command"])[:6] == [
            ".venv/bin/python",
            "benchmarks/medical_networks.py",
            "--method",
            r["method"],
            "--scale",
            str(r["scale"]),
        ]
        assert r["train_steps"] > 0 and r["train_seconds"] > 0
        extra = find_extra(r["method"])
        if extra is not None:  # self-SR, multi-stack, multi-contrast, CT: their default steps
            assert r["scored_on"] == extra.scored_on and r["scale"] in extra.scales
            if "--steps" not in r["command"] and extra.steps is not None:
                assert r["train_steps"] == extra.steps, r["method"]
        elif not r.get("overrides"):  # the command runs the recipe's bench profile as it is now
            recipe = Path(recipes_folder()) / f"{find_network(r['method']).recipe}.yaml"
            cfg = load_config(recipe, ["profile=bench"])
            assert cfg.train.max_steps == r["train_steps"], r["method"]
    assert networks_markdown(rows) in MEDICAL_MD.read_text(encoding="utf-8")


def test_cli_refuses_an_unknown_network_naming_the_known_ones(capsys) -> None:
    from medsr.cli import main

    with pytest.raises(SystemExit) as stop:
        main(["benchmark", "networks", "--methods", "vdsr", "--scales", "2"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "vdsr" in err and "tl_net" in err and "gan_circle" in err


def test_oktay_multi_stack_row_prints_its_row(tmp_path: Path) -> None:
    """The multi-stack row (Oktay et al., ref. [81]) through the script: three stacks in, scored
    on the chris_t1 crop beside B-spline of the z stack; the command reproduces it."""
    cmd = [
        sys.executable, "benchmarks/medical_networks.py", "--method", "oktay_misr",
        "--scale", "2", "--steps", "1", "--crop", "16,16,16", "--work", str(tmp_path),
    ]
    row = _script_row(cmd)
    assert row["review_ref"] == "[81]" and row["train_steps"] == 1 and row["crop"] == [16] * 3
    assert row["scored_on"] == "chris_t1 x+y+z stacks"
    assert shlex.split(row["command"])[1:] == cmd[1:-2]
    assert 15.0 < row["bspline_psnr"] < 60.0 and 0.0 < row["psnr"] < 60.0


def test_self_sr_row_scores_the_network_rows_case() -> None:
    """self_sr runs the ``self`` method on the same crop and thick slices as the network rows,
    with the given iterations, and its B-spline is that case's B-spline."""
    from medsr.bench.networks import run_row, test_case
    from medsr.bench.selfsr import run_method, score

    row = run_row("self_sr", 2, crop=(16, 16, 16), steps=3)
    assert row["method"] == "self_sr" and row["train_steps"] >= 3  # one or more stages
    assert row["train_steps"] % 3 == 0 and "budget 3it, init none" in row["recipe"]
    case = test_case(2, (16, 16, 16))
    spline = score(case, run_method(case, "bspline").volume)
    assert row["bspline_psnr"] == round(spline["psnr"], 3)
    assert row["command"].endswith("--method self_sr --scale 2")


def test_ct_case_is_held_out_and_thick_in_plane() -> None:
    """The CT rows score axial slices the training never sees, thick along y (in plane)."""
    assert CT_TRAIN[1] < CT_TEST[0]
    case = ct_case(4)
    assert case.truth.shape[2] == CT_TEST[1] - CT_TEST[0] and case.axis == 1
    assert case.lr.shape == (case.truth.shape[0], case.truth.shape[1] // 4, case.truth.shape[2])
    assert case.profile == "rect" and case.mask.any()
    pd_row = find_extra("multicontrast_single")
    assert pd_row is not None and pd_row.scales == (2,)
    with pytest.raises(MedsrError, match="runs at x2"):  # the PD experiment is in-plane x2 only
        run_extra_row(pd_row, 4)


def test_multicontrast_row_scores_held_out_pd_slices(tmp_path: Path) -> None:
    """multicontrast_single (Zeng et al., ref. [78], no reference): PD in-plane x2 on the held-out
    slices, B-spline beside, no chris_t1 crop."""
    from medsr.bench.networks import run_row

    row = run_row("multicontrast_single", 2, work_dir=tmp_path, steps=1)
    assert row["scored_on"] == "chris_PD in-plane" and row["crop"] is None
    assert row["train_steps"] == 1 and "no reference" in row["notes"]
    assert 30.0 < row["bspline_psnr"] < 45.0


def test_cli_takes_the_rows_of_other_inputs_and_passes_steps(monkeypatch, capsys) -> None:
    """`medsr benchmark networks --methods self_sr,oktay_misr --steps 3`: the rows of other inputs
    are accepted by name and the steps reach run_row (not recipe overrides: self-SR counts
    iterations)."""
    import medsr.bench.networks as nets
    from medsr.cli import main

    calls: list[tuple[str, int, int | None, list[str]]] = []

    def fake_run_row(name, scale, *, work_dir, overrides, command_extra, steps):
        calls.append((name, scale, steps, list(overrides)))
        return {"method": name, "scale": scale, "command": " ".join(command_extra)}

    monkeypatch.setattr(nets, "run_row", fake_run_row)
    main(["benchmark", "networks", "--methods", "self_sr,oktay_misr", "--scales", "2",
          "--steps", "3"])
    assert calls == [("self_sr", 2, 3, []), ("oktay_misr", 2, 3, [])]
    out = capsys.readouterr().out
    assert '"method": "self_sr"' in out and "--steps 3" in out
