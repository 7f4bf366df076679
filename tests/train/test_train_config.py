"""Config schema: recipes load, overrides apply, mistakes are one line naming the key."""

from pathlib import Path

import pytest
import yaml

from medsr.errors import MedsrError
from medsr.train.config import apply_overrides, load_config, parse_config

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "configs").glob("*.yaml"))
BASE = {
    "name": "x",
    "model": {"name": "srcnn", "scale": 2},
    "data": {"train": {"hr_dir": "a"}, "patch_size": 32},
}


def _error(data=BASE, overrides=()):
    with pytest.raises(MedsrError) as err:
        parse_config(data, overrides)
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith("config")
    return msg


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_every_recipe_validates(path):
    cfg = load_config(path)
    assert cfg.name == path.stem
    text = path.read_text()
    assert text.startswith("#") and "relative to the repository root" in text  # documented paths
    assert "CSet5" not in text and "CSet14" not in text  # never train/validate on the test sets


def test_overrides_set_nested_values_with_yaml_types():
    cfg = parse_config(
        BASE,
        ["optim.lr=3e-4", "train.max_steps=7", "data.patch_size=[16,24]", "model.kwargs.x=null"],
    )
    assert cfg.optim.lr == 3e-4 and cfg.train.max_steps == 7 and cfg.patch_tuple() == (16, 24)
    assert cfg.model.kwargs == {"x": None}
    assert apply_overrides({"a": {"b": 1}}, ["a.c=hi"]) == {"a": {"b": 1, "c": "hi"}}


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["optim.lr=abc"], "config: optim.lr: Input should be a valid number"),
        (["train.learning_rate=1"], "config: train.learning_rate: unknown key"),
        (["model.dims=4"], "config: model.dims: Input should be 2 or 3"),
        (
            ["data.patch_size=33"],
            "config: data.patch_size: HR patch [33, 33] must be a multiple of the scale",
        ),
        (["optim.schedule.kind=linear"], "config: optim.schedule.kind:"),
        (["task=adversarial"], "config: discriminator:"),
        (["loss.terms.perceptul={}"], "config: loss.terms.perceptul: unknown loss term"),
        (
            ["data.normalisation.kind=histogram"],
            "config: data.normalisation: unknown normalisation kind",
        ),
        (["data.interpolate_lr=true"], "config: data.interpolate_lr:"),
        (
            [
                "train.mode=noise2noise",
                "task=cycle",
                "discriminator.name=srgan_d",
                "cycle.cycle_weight=1",
            ],
            "config: train.mode",
        ),
    ],
)
def test_mistakes_are_one_line_naming_the_key(overrides, expected):
    assert expected in _error(overrides=overrides)


def test_missing_and_malformed_files(tmp_path):
    assert "config: model: required key is missing" in _error({"name": "x", "data": BASE["data"]})
    with pytest.raises(MedsrError, match="not found"):
        load_config(tmp_path / "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(MedsrError, match="not valid YAML"):
        load_config(bad)
    with pytest.raises(MedsrError, match="key.path=value"):
        parse_config(BASE, ["optim.lr"])


def test_recipe_roundtrip_through_yaml(tmp_path):
    from medsr.train.config import config_to_dict

    cfg = load_config(CONFIGS[0], ["train.max_steps=5"])
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config_to_dict(cfg)))
    assert load_config(path) == cfg
