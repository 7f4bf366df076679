"""``medsr benchmark table1`` reproduces the published bicubic row; ``medsr benchmark medical``
runs on chris_t1; both write the same four files."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from medsr.bench.results import OUTPUT_FILES

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def test_table1_quick_reproduces_the_published_bicubic_row(tmp_path: Path, medsr_main) -> None:
    out = tmp_path / "t1"
    args = ["benchmark", "table1", "--quick", "--scales", "2", "--data", DATA / "natural" / "CSet5"]
    code, printed_out, err = medsr_main(*args, "--out", out)
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUT_FILES)
    data = json.loads((out / "results.json").read_text())
    from medsr.models.shipped import list_shipped

    shipped_x2 = sorted(n for n, scales in list_shipped().items() if 2 in scales)
    rows = {r["method"]: r for r in data["rows"]}
    assert sorted(rows) == sorted(["bicubic", *shipped_x2])
    row = rows["bicubic"]
    assert (row["method"], row["dataset"], row["scale"]) == ("bicubic", "Set5", 2)
    assert abs(row["psnr"] - 33.66) <= 0.02 and abs(row["ssim"] - 0.9299) <= 1e-4
    assert row["published_psnr"] == 33.66 and abs(row["delta_psnr"]) <= 0.02
    assert row["latency_ms"] > 0 and row["params"] == 0
    assert data["command"].startswith("medsr benchmark table1 --data")
    lines = {r["method"]: r for r in csv.DictReader((out / "results.csv").open())}
    line = lines["bicubic"]
    assert float(line["psnr"]) == pytest.approx(row["psnr"]) and line["dataset"] == "Set5"
    assert "Set5 x2" in printed_out and "published 33.66" in printed_out
    for name in shipped_x2:  # every shipped network beats SRCNN's published Set5 x2 (36.66 dB)
        assert rows[name]["psnr"] > 36.66 and rows[name]["params"] > 0, name
        assert float(lines[name]["psnr"]) == pytest.approx(rows[name]["psnr"])
    if not shipped_x2:
        assert "none in this installation" in printed_out  # zero shipped is not an error
    # a second run refuses to replace the report without --overwrite
    code, _, err = medsr_main(*args, "--out", out)
    assert code == 2 and "--overwrite" in err


def test_table1_option_errors_name_the_flag(tmp_path: Path, medsr_main) -> None:
    code, _, err = medsr_main("benchmark", "table1", "--methods", "magic", "--out", tmp_path / "a")
    assert code == 2 and "--methods: unknown method 'magic'" in err
    code, _, err = medsr_main("benchmark", "table1", "--scales", "2.5", "--out", tmp_path / "b")
    assert code == 2 and "--scales" in err
    table1 = ("benchmark", "table1", "--data", tmp_path / "none", "--out", tmp_path / "c")
    code, _, err = medsr_main(*table1)
    assert code == 2 and "does not exist" in err


def test_medical_quick_runs_on_chris_t1(tmp_path: Path, medsr_main) -> None:
    out = tmp_path / "med"
    code, printed_out, err = medsr_main(
        "benchmark",
        "medical",
        "--quick",
        "--no-real",
        "--factors",
        "2",
        "--methods",
        "nearest,bspline",
        "--data",
        DATA / "medical",
        "--out",
        out,
    )
    assert code == 0, err
    assert set(OUTPUT_FILES) <= {p.name for p in out.iterdir()}
    data = json.loads((out / "results.json").read_text())
    assert data["kind"] == "medical"
    rows = {r["method"]: r for r in data["rows"]}
    assert list(rows) == ["nearest", "bspline"]
    for r in rows.values():
        assert r["dataset"] == "chris_t1 (simulated thick slices)" and r["scale"] == 2
        assert 20 < r["psnr"] < 60 and 0.5 < r["ssim"] <= 1 and 0 < r["nrmse"] < 0.5
        assert 20 < r["consistency_db"] < 90
    assert rows["bspline"]["psnr"] > rows["nearest"]["psnr"]
    assert data["details"]["simulated"][0]["case"] == "x2"  # the full medical result is kept
    lines = list(csv.DictReader((out / "results.csv").open()))
    assert [x["method"] for x in lines] == ["nearest", "bspline"] and "nrmse" in lines[0]
    html = (out / "report.html").read_text()
    # the PSNR-against-time chart and the crops of the simulated case at x2
    assert html.count("<table") == 2 and html.count("data:image/png;base64,") == 2
    assert "chris_t1" in printed_out
