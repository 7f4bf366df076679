"""Recipe profiles (`medsr train X.yaml --profile cpu`) and `train.max_time`, on real crops."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml
from train_helpers import main_exit_code

from medsr.errors import MedsrError
from medsr.train.config import load_config, parse_config, parse_duration

ROOT = Path(__file__).resolve().parents[2]


def _with_cpu_profile(cfg: dict) -> dict:
    cfg = dict(cfg)
    cfg["train"] = {**cfg["train"], "max_steps": 100000}  # the "paper" default: far too long
    cfg["profiles"] = {
        "cpu": {
            "train.max_steps": 3,
            "optim.lr": 3e-3,
            "optim.schedule": {"kind": "cosine", "min_lr": 1e-5},
        }
    }
    return cfg


def test_profile_applies_before_the_overrides_and_is_recorded(tmp_path, tiny_config, capsys):
    cfg = _with_cpu_profile(tiny_config())
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert main_exit_code("train", str(path), "--profile", "cpu") == 0
    out = capsys.readouterr().out
    assert "steps:      3" in out
    saved = yaml.safe_load((Path(cfg["output_dir"]) / "config.yaml").read_text())
    assert saved["profile"] == "cpu" and "profiles" not in saved
    assert saved["optim"]["lr"] == 3e-3 and saved["optim"]["schedule"]["kind"] == "cosine"
    # the run's config.yaml loads again (resume) without re-applying anything
    assert load_config(Path(cfg["output_dir"]) / "config.yaml").train.max_steps == 3
    # command-line overrides win over the profile
    other = _with_cpu_profile(tiny_config())
    path.write_text(yaml.safe_dump(other))
    assert main_exit_code("train", str(path), "--profile", "cpu", "train.max_steps=2") == 0
    assert "steps:      2" in capsys.readouterr().out
    # without --profile the recipe's own (paper) settings hold
    assert load_config(path).train.max_steps == 100000


def test_profile_mistakes_are_one_line_errors(tmp_path, tiny_config, capsys):
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(_with_cpu_profile(tiny_config())))
    assert main_exit_code("train", str(path), "--profile", "gpu") == 2
    err = capsys.readouterr().err
    assert "profile 'gpu' is not defined" in err and "its profiles: cpu" in err
    plain = tmp_path / "plain.yaml"
    plain.write_text(yaml.safe_dump(tiny_config()))
    assert main_exit_code("train", str(plain), "--profile", "cpu") == 2
    assert "has no profiles" in capsys.readouterr().err
    assert main_exit_code("train", "--resume", str(tmp_path), "--profile", "cpu") == 2
    assert "--profile applies to a new run" in capsys.readouterr().err


def test_max_time_stops_a_long_run(tmp_path, tiny_config, capsys):
    cfg = tiny_config(train={"max_steps": 100000, "checkpoint_every": 1000})
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    t0 = time.perf_counter()
    assert main_exit_code("train", str(path), "train.max_time=2s") == 0
    assert time.perf_counter() - t0 < 60
    out = capsys.readouterr().out
    steps = int(out.split("steps:")[1].split()[0])
    assert 0 < steps < 100000
    assert (Path(cfg["output_dir"]) / "model.safetensors").is_file()


def test_durations() -> None:
    assert parse_duration("5m") == 300 and parse_duration("1h30m") == 5400
    assert parse_duration("00:05:00") == 300 and parse_duration(90) == 90
    assert parse_duration(None) is None
    for bad in ("soon", "5x", 0, -3):
        with pytest.raises(MedsrError, match="train.max_time"):
            parse_duration(bad)


@pytest.mark.parametrize("name", sorted(p.stem for p in (ROOT / "configs").glob("*.yaml")))
def test_shipped_recipes_have_a_cpu_profile(name: str) -> None:
    """Every recipe: the paper settings stay the default; the cpu profile is short (a fixed step
    budget), Adam, with a wall-clock safety cap of at most 20 minutes (issue 15)."""
    path = ROOT / "configs" / f"{name}.yaml"
    paper, cpu = load_config(path), load_config(path, ["profile=cpu"])
    assert cpu.profile == "cpu" and paper.profile is None
    assert cpu.train.max_steps < paper.train.max_steps
    assert cpu.train.max_steps is not None
    assert parse_duration(cpu.train.max_time) <= 1200
    assert cpu.optim.name == "adam" and cpu.train.accelerator == "cpu"


def test_through_plane_recipe_is_a_2d_through_plane_network() -> None:
    cfg = load_config(ROOT / "configs" / "through_plane.yaml", ["profile=cpu"])
    assert cfg.model.dims == 2 and cfg.model.scale_tuple() == (1.0, 3.0)
    assert cfg.data.slice_axis == 0 and cfg.data.degradation.startswith("thick")
    with pytest.raises(MedsrError, match="profiles"):
        parse_config(
            {
                **yaml.safe_load((ROOT / "configs" / "through_plane.yaml").read_text()),
                "profiles": ["cpu"],
            },
            ["profile=cpu"],
        )


@pytest.mark.slow
def test_through_plane_recipe_weights_apply_to_a_real_thick_scan(
    t1_block, shared_data, tmp_path, monkeypatch, capsys
):
    """configs/through_plane.yaml --profile cpu (a few steps on a real T1 block) gives weights
    that `medsr upscale` applies to a crop of the real thick-slice chris_PD with the default
    isotropic target (no --factors): x3 through-plane network, cubic x0.93 after it."""
    import json

    import nibabel as nib

    from medsr.io import read, write
    from medsr.volume import Volume

    pd = shared_data / "medical" / "chris_PD.nii.gz"
    if not pd.is_file():
        pytest.skip(f"{pd} is absent")
    monkeypatch.chdir(ROOT)
    run = tmp_path / "tp"
    args = [
        "train",
        "configs/through_plane.yaml",
        "--profile",
        "cpu",
        f"data.train.hr_dir={t1_block}",
        "data.patch_size=[24,24]",
        "train.max_steps=3",
        "train.threads=1",
        f"output_dir={run}",
    ]
    assert main_exit_code(*args) == 0
    assert "steps:      3" in capsys.readouterr().out
    meta = json.loads((run / "model.json").read_text())
    assert meta["architecture"] == "vdsr" and meta["scale"] == [1.0, 3.0]
    vol = read(pd)
    x0, y0 = vol.shape[0] // 2 - 12, vol.shape[1] // 2 - 12
    part = vol.data[:, x0 : x0 + 24, y0 : y0 + 24, 20:28]
    from medsr.volume import crop_affine

    small = tmp_path / "pd.nii.gz"
    write(Volume(part.copy(), crop_affine(vol.affine, (x0, y0, 20)), vol.meta), small)
    out = tmp_path / "pd_iso.nii.gz"
    assert main_exit_code("upscale", str(small), "-o", str(out), "--weights", str(run)) == 0
    img = nib.load(str(out))
    assert img.shape == (24, 24, 22)  # 8 slices of 2.4 mm -> 0.858 mm (zoom_grid of x2.798)
    sidecar = json.loads(Path(str(out) + ".json").read_text())
    assert sidecar["network_factors"] == [1, 1, 3] and "network_fit" not in sidecar
