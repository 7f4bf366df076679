"""Shipped weights (``medsr.models.shipped``): found by name and scale inside the package folder,
used by ``Job``/``load_predictor`` and ``medsr upscale --model NAME`` without ``--weights``, listed
by ``medsr models``. Tiny weights written by the tests into a temporary folder stand in for the
package's (``WEIGHTS_DIR`` monkeypatched); nothing is trained."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from medsr.errors import OptionError
from medsr.models import create_model
from medsr.models import shipped as shipped_mod
from medsr.models.io import save_weights


def _write(folder: Path, name: str, scale: int, preset: str = "tiny") -> Path:
    net = create_model(name, scale=scale, dims=2, in_channels=1, preset=preset)
    save_weights(
        net,
        folder / f"{name}_x{scale}",
        name=name,
        preset=preset,
        normalisation={"kind": "minmax", "params": {"min": 0, "max": 255}},
        extra={"shipped": {"name": name, "scale": scale}},
    )
    return folder / f"{name}_x{scale}"


@pytest.fixture
def weights_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "weights"
    folder.mkdir()
    _write(folder, "espcn", 2)
    _write(folder, "espcn", 3)
    _write(folder, "fsrcnn", 2)
    (folder / "edsr_x2").mkdir()  # incomplete: only the JSON
    (folder / "edsr_x2" / "model.json").write_text("{}")
    (folder / "README.md").write_text("not a model")
    monkeypatch.setattr(shipped_mod, "WEIGHTS_DIR", folder)
    return folder


def test_list_and_find(weights_dir) -> None:
    assert shipped_mod.list_shipped() == {"espcn": [2, 3], "fsrcnn": [2]}
    assert shipped_mod.shipped_scales("ESPCN") == [2, 3]
    assert shipped_mod.shipped_weights("espcn", 3) == weights_dir / "espcn_x3"
    assert shipped_mod.shipped_weights("espcn", 4) is None
    assert shipped_mod.shipped_weights("edsr", 2) is None  # model.safetensors missing
    assert shipped_mod.shipped_weights("espcn", 2.5) is None


def test_empty_or_missing_folder(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(shipped_mod, "WEIGHTS_DIR", tmp_path / "absent")
    assert shipped_mod.list_shipped() == {}
    with pytest.raises(OptionError, match="ships no weights"):
        shipped_mod.shipped_for("espcn", 2)


def test_package_folder_is_inside_medsr() -> None:
    import medsr

    assert shipped_mod.WEIGHTS_DIR == Path(medsr.__file__).resolve().parent / "weights"


def test_shipped_for_picks_the_scale_of_the_factors(weights_dir) -> None:
    assert shipped_mod.shipped_for("espcn", "2") == weights_dir / "espcn_x2"
    assert shipped_mod.shipped_for("espcn", [1, 3, 3]) == weights_dir / "espcn_x3"
    # a fractional factor needs the next integer scale, as in the pipeline
    assert shipped_mod.shipped_for("espcn", 2.5) == weights_dir / "espcn_x3"
    assert shipped_mod.shipped_for("fsrcnn") == weights_dir / "fsrcnn_x2"  # one scale: no factors
    with pytest.raises(OptionError, match="give factors"):
        shipped_mod.shipped_for("espcn")  # two scales: factors needed
    with pytest.raises(OptionError, match=r"shipped at x2, x3, not x4") as err:
        shipped_mod.shipped_for("espcn", 4)
    assert "--factors" in err.value.as_flag()
    with pytest.raises(OptionError, match=r"espcn \(x2, x3\)"):
        shipped_mod.shipped_for("vdsr", 2)


def test_load_shipped(weights_dir) -> None:
    import torch

    model, meta = shipped_mod.load_shipped("espcn", 2)
    assert meta["architecture"] == "espcn" and meta["extra"]["shipped"]["scale"] == 2
    assert model(torch.zeros(1, 1, 5, 6)).shape == (1, 1, 10, 12)
    with pytest.raises(OptionError):
        shipped_mod.load_shipped("espcn", 4)


def test_job_fills_weights_from_the_package(weights_dir) -> None:
    from medsr.infer.files import load_predictor
    from medsr.infer.job import Job

    job = Job(model="espcn", factors="3").validate()
    assert Path(job.weights) == weights_dir / "espcn_x3"
    assert job.validate().weights == job.weights  # validating twice changes nothing
    pred = load_predictor(job)
    assert pred is not None and tuple(pred.scale)[:2] == (3, 3)
    assert Job(model="espcn", factors="2", ensemble=True).validate().weights is not None


def test_job_errors(weights_dir, tmp_path) -> None:
    from medsr.infer.job import Job

    with pytest.raises(OptionError, match="ships no weights"):
        Job(model="vdsr", factors="2").validate()
    with pytest.raises(OptionError, match="not x4"):
        Job(model="espcn", factors="4").validate()
    with pytest.raises(OptionError, match="names a network: drop method"):
        Job(model="espcn", method="cubic", factors="2").validate()
    # explicit weights still win over the package's
    own = _write(tmp_path / "own", "espcn", 2)
    assert Job(model="espcn", weights=own, factors="2").validate().weights == own


def test_upscale_picture_with_shipped_model(weights_dir, tmp_path) -> None:
    from PIL import Image
    from typer.testing import CliRunner

    import medsr.cli  # noqa: F401 - registers the commands
    from medsr.cli.app import app

    src = tmp_path / "pic.png"
    Image.fromarray((np.arange(12 * 10) % 251).astype(np.uint8).reshape(12, 10)).save(src)
    out = tmp_path / "sr.png"
    res = CliRunner().invoke(
        app, ["upscale", str(src), "-o", str(out), "--factors", "2", "--model", "espcn"]
    )
    assert res.exit_code == 0, res.output
    with Image.open(out) as im:
        assert im.size == (20, 24)
    sidecar = json.loads(out.with_name(out.name + ".json").read_text())
    assert "espcn_x2" in json.dumps(sidecar)


def test_models_lists_shipped_scales(weights_dir) -> None:
    from typer.testing import CliRunner

    import medsr.cli  # noqa: F401
    from medsr.cli.app import app

    res = CliRunner().invoke(app, ["models", "--json", "--kind", "generator"])
    assert res.exit_code == 0, res.output
    rows = {r["name"]: r for r in json.loads(res.output)}
    assert rows["espcn"]["shipped_scales"] == [2, 3]
    assert rows["fsrcnn"]["shipped_scales"] == [2]
    assert rows["vdsr"]["shipped_scales"] == []
    table = CliRunner().invoke(app, ["models"], env={"COLUMNS": "200"})
    assert table.exit_code == 0 and "x2,x3" in table.output
