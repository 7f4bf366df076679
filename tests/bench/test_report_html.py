"""``report.html`` renders in a real browser (headless Chromium): every table and every embedded
image, no broken image, no script error; and the check itself catches a broken page."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from medsr.bench.results import BenchmarkReport, write_report
from medsr.bench.table1_benchmark import run_table1_benchmark

SET5 = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "natural" / "CSet5"


def test_the_check_catches_broken_images_and_script_errors(
    tmp_path: Path, render_check: Callable[[Path], dict[str, Any]]
) -> None:
    page = tmp_path / "broken.html"
    page.write_text(
        "<!DOCTYPE html><html><head><title>t</title></head><body><table><tr><td>1</td></tr>"
        '</table><img alt="bad" src="data:image/png;base64,AAAA"><img alt="gone" '
        'src="missing.png"><script>undefinedFunction();</script></body></html>',
        encoding="utf-8",
    )
    found = render_check(page)
    assert found["tables"] == 1 and found["images"] == 2
    assert sorted(found["broken"]) == ["bad", "gone"]
    assert any("undefinedFunction" in e for e in found["errors"])


def test_table1_report_renders_every_table_and_image(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    render_check: Callable[[Path], dict[str, Any]],
) -> None:
    from medsr.models import create_model, shipped
    from medsr.models.io import save_weights

    monkeypatch.setattr(shipped, "WEIGHTS_DIR", tmp_path / "weights")
    save_weights(
        create_model("srcnn", scale=2, preset="tiny"),
        tmp_path / "weights" / "srcnn_x2",
        name="srcnn",
        preset="tiny",
        normalisation={"kind": "minmax", "params": {"min": 0.0, "max": 255.0}},
    )
    report: BenchmarkReport = run_table1_benchmark(
        [SET5], [2, 4], ["bicubic", "srcnn"], quick=True, repeats=1
    )
    files = write_report(report, tmp_path / "out")
    found = render_check(files["report.html"])
    groups = {(r.dataset, r.scale) for r in report.rows}
    assert found["tables"] == 1 + len(groups) == 3  # the overview, then one per set and scale
    # overview: header + bicubic + srcnn; then header + one line per method (no srcnn at x4)
    assert found["table_rows"] == [3, 3, 2]
    assert found["images"] == len(report.figures) == 3  # cost chart + crops at x2 and x4
    assert found["broken"] == [] and all(w > 300 for w in found["widths"])
    assert found["errors"] == []
    html = files["report.html"].read_text()
    assert 'src="missing' not in html and html.count("data:image/png;base64,") == 3


def test_medical_report_renders_every_table_and_image(
    tmp_path: Path, render_check: Callable[[Path], dict[str, Any]]
) -> None:
    from medsr.bench.medical import BenchSettings
    from medsr.bench.medical_report import run_medical

    settings = BenchSettings.quick()
    settings.factors, settings.methods = (2, 4), ("nearest", "cubic", "bspline")
    report = run_medical(
        Path(__file__).resolve().parents[2].parent / "shared" / "data" / "medical",
        tmp_path,
        settings,
        real=False,
    )
    files = write_report(report, tmp_path)
    found = render_check(files["report.html"])
    # the overview, then x2 and x4: header + 3 methods each
    assert found["tables"] == 3 and found["table_rows"] == [4, 4, 4]
    assert [f.key for f in report.figures] == ["cost", "crops-x2", "crops-x4"]
    assert found["images"] == 3 and found["broken"] == [] and found["errors"] == []


@pytest.mark.slow
def test_medsr_benchmark_medical_quick_end_to_end(
    tmp_path: Path, render_check: Callable[[Path], dict[str, Any]]
) -> None:
    """The plain ``medsr benchmark medical --quick`` (every method, self-SR and the supervised
    network included, both real scans): about a minute on two cores."""
    import json

    from medsr.cli import main

    data = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "medical"
    try:
        main(["benchmark", "medical", "--quick", "--data", str(data), "--out", str(tmp_path)])
    except SystemExit as exc:
        assert not exc.code, exc.code
    result = json.loads((tmp_path / "results.json").read_text())
    cases = [(r["dataset"], r["scale"], r["method"]) for r in result["rows"]]
    assert len(cases) == 2 * 7 + 2 * 2  # x2, x4 x 7 methods; 2 real scans x 2 methods
    assert all(r["units_ok"] for r in result["rows"] if "real scan" in r["dataset"])
    found = render_check(tmp_path / "report.html")
    # overview (simulated columns only), x2, x4, two real scans
    assert found["tables"] == 5 and found["broken"] == [] and found["errors"] == []
    # PSNR against time, crops at x2 and x4, the real-scan views
    assert found["images"] == 4 and all(w > 300 for w in found["widths"])
