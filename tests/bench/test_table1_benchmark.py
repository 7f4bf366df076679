"""``medsr benchmark table1``'s library: published numbers, costs, methods, rows and the report
files (the command line and the browser check: tests/cli/test_benchmark_cli.py,
tests/bench/test_report_html.py)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from medsr.bench import table1_benchmark
from medsr.bench.cost import count_flops, count_params, network_cost
from medsr.bench.published import PUBLISHED, published
from medsr.bench.results import CSV_COLUMNS, OUTPUT_FILES, write_report
from medsr.bench.table1 import PUBLISHED_BICUBIC
from medsr.bench.table1_benchmark import resolve_methods, run_table1_benchmark
from medsr.errors import MedsrError, OptionError

SET5 = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "natural" / "CSet5"


def test_published_table_agrees_with_the_bicubic_row_and_names_its_sources() -> None:
    for (dataset, scale), (p, s) in PUBLISHED_BICUBIC.items():
        entry = published("cubic", dataset, scale)
        assert entry is not None and (entry.psnr, entry.ssim) == (p, s)
    # the SRCNN targets of the shipped weights and VDSR's row
    assert [published("srcnn", "Set5", s).psnr for s in (2, 3, 4)] == [36.66, 32.75, 30.48]
    assert [published("vdsr", "Set5", s).psnr for s in (2, 3, 4)] == [37.53, 33.66, 31.35]
    assert published("espcn", "Set5", 2) is None and published("espcn", "Set5", 3).ssim is None
    assert published("edsr", "Set14", 4).psnr == 28.80 and published("nope", "Set5", 2) is None
    assert all(v.source and 20 < v.psnr < 40 for v in PUBLISHED.values())
    # every network's paper beats bicubic, and deeper networks beat SRCNN
    for (method, dataset, scale), v in PUBLISHED.items():
        assert v.psnr >= PUBLISHED_BICUBIC[(dataset, scale)][0]
        if method in ("vdsr", "drcn", "drrn", "edsr", "rdn"):
            assert v.psnr > PUBLISHED[("srcnn", dataset, scale)].psnr


def test_cost_counts_a_convolution_exactly() -> None:
    import torch

    conv = torch.nn.Conv2d(1, 4, 3, padding=1)
    x = torch.rand(1, 1, 256, 256)
    assert count_params(conv) == 4 * 9 + 4
    assert count_flops(conv, x) == 2 * 4 * 9 * 256 * 256  # 2 FLOPs per multiply-add
    cost = network_cost(conv, 1, repeats=1)
    assert cost.params == 40 and cost.flops == 2 * 4 * 9 * 256 * 256
    assert cost.latency_ms is not None and cost.latency_ms > 0
    assert cost.peak_memory_mib is None or cost.peak_memory_mib >= 0


def _fake_shipped(folder: Path, name: str = "srcnn", scale: int = 2) -> Path:
    """An (untrained) network saved as the package ships one: ``<name>_x<scale>/``."""
    from medsr.models import create_model
    from medsr.models.io import save_weights
    from medsr.runtime import torch_seed

    with torch_seed(0):
        net = create_model(name, scale=scale, preset="tiny")
    out = folder / f"{name}_x{scale}"
    save_weights(
        net,
        out,
        name=name,
        preset="tiny",
        normalisation={"kind": "minmax", "params": {"min": 0.0, "max": 255.0}},
    )
    return out


def test_methods_default_to_interpolations_and_every_shipped_network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from medsr.models import shipped

    monkeypatch.setattr(shipped, "WEIGHTS_DIR", tmp_path / "none")
    assert [m.key for m in resolve_methods(None, quick=True)] == ["bicubic"]
    assert [m.key for m in resolve_methods(None)] == list(table1_benchmark.INTERPOLATIONS)
    monkeypatch.setattr(shipped, "WEIGHTS_DIR", tmp_path)
    _fake_shipped(tmp_path)
    methods = resolve_methods(None, quick=True)
    assert [(m.key, m.kind) for m in methods] == [
        ("bicubic", "interpolation"),
        ("srcnn", "network"),
    ]
    assert methods[1].weights_for(2) == tmp_path / "srcnn_x2" and methods[1].weights_for(3) is None
    assert [m.key for m in resolve_methods(["cubic", "Lanczos3"])] == ["bicubic", "lanczos"]
    with pytest.raises(OptionError, match="unknown method 'magic'.*srcnn"):
        resolve_methods(["magic"])
    with pytest.raises(OptionError, match="name was given more often"):
        resolve_methods(["bicubic"], names=["x"])


def test_interpolations_keep_their_ranking_on_set5() -> None:
    report = run_table1_benchmark(
        [SET5], [3], ["nearest", "bicubic", "bspline"], repeats=1, figures=False
    )
    by = {r.method: r for r in report.rows}
    assert by["bicubic"].psnr > by["nearest"].psnr + 1.0  # smooth kernels beat replication
    assert abs(by["bicubic"].psnr - 30.39) <= 0.02 and by["bicubic"].published_psnr == 30.39
    assert by["nearest"].published_psnr is None and by["nearest"].delta_psnr is None
    assert all(r.params == 0 and r.flops is None and r.latency_ms > 0 for r in report.rows)
    assert len(report.images) == 3 * 5 and {i.image for i in report.images} >= {"baby.png"}


def test_shipped_and_given_weights_get_rows_costs_and_published_numbers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from medsr.models import shipped

    monkeypatch.setattr(shipped, "WEIGHTS_DIR", tmp_path / "weights")
    _fake_shipped(tmp_path / "weights")
    given = _fake_shipped(tmp_path / "mine", "fsrcnn", 2) / "model.safetensors"
    report = run_table1_benchmark(
        [SET5], [2, 3], None, [given], names=["my FSRCNN"], quick=True, repeats=1
    )
    keys = [(r.label, r.scale) for r in report.rows]
    assert keys == [
        ("bicubic (MATLAB imresize)", 2),
        ("bicubic (MATLAB imresize)", 3),
        ("srcnn (shipped)", 2),
        ("my FSRCNN", 2),
    ]
    srcnn = report.rows[2]
    assert srcnn.kind == "network" and srcnn.mode == "y"
    assert srcnn.published_psnr == 36.66 and srcnn.delta_psnr == srcnn.psnr - 36.66
    assert srcnn.params > 0 and srcnn.flops > 1e6 and srcnn.latency_ms > 0
    assert "full model" in srcnn.note
    assert report.rows[3].published_psnr == 37.00  # FSRCNN, Dong et al. 2016
    assert any("srcnn (x2)" in n for n in report.notes)
    assert any(
        "not run" in n and "srcnn (shipped) x3" in n and "my FSRCNN x3" in n for n in report.notes
    )
    # figures: the cost chart and one crop figure per scale, with the networks in the crops
    assert [f.key for f in report.figures] == ["cost", "crops-Set5-x2", "crops-Set5-x3"]
    assert all(f.png.startswith(b"\x89PNG") for f in report.figures)

    out = tmp_path / "out"
    files = write_report(report, out)
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUT_FILES)
    rows = list(csv.DictReader(files["results.csv"].open()))
    assert [r["label"] for r in rows] == [k[0] for k in keys]
    assert list(rows[0])[: len(CSV_COLUMNS)] == list(CSV_COLUMNS)
    data = json.loads(files["results.json"].read_text())
    assert data["kind"] == "table1" and len(data["rows"]) == 4 and len(data["images"]) == 4 * 5
    assert data["rows"][2]["params"] == srcnn.params
    md = files["report.md"].read_text()
    assert "## Set5 x2" in md and "36.66 / 0.9542" in md and "my FSRCNN" in md
    assert "| method | Set5 x2 | Set5 x3 |" in md  # the overview in the review's layout
    with pytest.raises(MedsrError, match="already exists"):
        write_report(report, out)
    write_report(report, out, overwrite=True)


def test_a_scale_without_weights_is_noted_once_for_all_sets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two image sets, a shipped network without weights at x3: one note names it once."""
    import shutil

    from medsr.models import shipped

    monkeypatch.setattr(shipped, "WEIGHTS_DIR", tmp_path / "weights")
    _fake_shipped(tmp_path / "weights")
    other = tmp_path / "Other"
    other.mkdir()
    shutil.copy(SET5 / "baby.png", other / "baby.png")
    report = run_table1_benchmark(
        [SET5, other], [3], ["bicubic", "srcnn"], repeats=1, figures=False
    )
    assert {(r.dataset, r.label) for r in report.rows} == {
        ("Set5", "bicubic (MATLAB imresize)"),
        ("Other", "bicubic (MATLAB imresize)"),
    }
    skipped = [n for n in report.notes if n.startswith("not run")]
    assert skipped == ["not run (no weights at that scale): srcnn (shipped) x3"]


def test_default_data_is_set5_and_set14_beside_the_repository() -> None:
    assert [p.name for p in table1_benchmark.default_datasets()] == ["CSet5", "CSet14"]
    assert table1_benchmark.default_datasets()[0] == SET5


def test_missing_data_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(MedsrError, match="does not exist"):
        run_table1_benchmark([tmp_path / "nowhere"], [2], ["bicubic"])
    with pytest.raises(OptionError, match="scales"):
        run_table1_benchmark([SET5], [1], ["bicubic"])
