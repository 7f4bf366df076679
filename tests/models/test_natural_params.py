"""Parameter counts of the paper presets (review section 3.4), within 0.5 % of the published or
reference numbers. Counted on the ``meta`` device: no memory, no initialisation."""

from __future__ import annotations

import json

import pytest
import torch
from natural_helpers import NATURAL, RGB

from medsr.models import create_model, model_info
from medsr.models.blocks import count_parameters

# (name, preset, scale, in_channels, expected, weights_only, source)
CASES = [
    ("srcnn", "paper", 2, 1, 57_281, False, "SRCNN 9-5-5 (TPAMI 2016)"),
    ("srcnn", "915", 3, 1, 8_129, False, "SRCNN 9-1-5"),
    ("fsrcnn", "paper", 2, 1, 12_464, True, "FSRCNN(56,12,4), weights only (paper section 3.3)"),
    ("espcn", "paper", 2, 1, 21_284, False, "ESPCN x2"),
    ("espcn", "paper", 3, 1, 22_729, False, "ESPCN x3"),
    ("espcn", "paper", 4, 1, 24_752, False, "ESPCN x4"),
    ("vdsr", "paper", 2, 1, 665_921, False, "VDSR"),
    ("drcn", "paper", 2, 1, 1_775_122, False, "DRCN"),
    ("drrn", "paper", 2, 1, 297_601, False, "DRRN B1U25"),
    ("lapsrn", "paper", 4, 1, 812_000, False, "LapSRN x4 (~812K)"),
    ("edsr", "baseline", 2, 3, 1_369_859, False, "EDSR baseline x2"),
    ("edsr", "paper", 2, 3, 40_730_000, False, "EDSR x2 (40.73M)"),
    ("edsr", "paper", 4, 3, 43_090_000, False, "EDSR x4 (43.09M)"),
    ("srresnet", "paper", 4, 3, 1_550_000, False, "SRResNet x4 (~1.55M)"),
    ("rdn", "paper", 2, 3, 22_200_000, False, "RDN (~22.2M)"),
    ("rdn", "paper", 4, 3, 22_200_000, False, "RDN (~22.2M)"),
    ("rrdbnet", "paper", 4, 3, 16_697_987, False, "ESRGAN RRDBNet x4"),
    ("dilated_sr", "paper", 2, 1, 665_921, False, "DCSR 20 layers (same budget as VDSR)"),
    ("srdensenet", "paper", 4, 1, 2_659_585, False, "SRDenseNet_All, our reading (see module doc)"),
]


def _count(name, preset, scale, in_channels, weights_only):
    with torch.device("meta"):
        net = create_model(name, scale=scale, dims=2, in_channels=in_channels, preset=preset)
    return count_parameters(net, weights_only=weights_only)


@pytest.mark.parametrize(
    "name,preset,scale,cin,expected,weights_only,source",
    CASES,
    ids=[f"{c[0]}-{c[1]}-x{c[2]}" for c in CASES],
)
def test_paper_parameter_count(name, preset, scale, cin, expected, weights_only, source):
    got = _count(name, preset, scale, cin, weights_only)
    assert abs(got - expected) <= 0.005 * expected, f"{source}: {got:,} vs {expected:,}"


def test_exact_counts_of_the_reference_implementations():
    """Numbers that follow from the layer lists exactly (not only within 0.5 %)."""
    assert _count("fsrcnn", "paper", 2, 1, False) == 12_464 + 173 + 172  # + biases + PReLU slopes
    assert _count("edsr", "paper", 2, 3, False) == 40_729_603
    assert _count("edsr", "paper", 4, 3, False) == 43_089_923
    assert _count("srresnet", "paper", 4, 3, False) == 1_549_462
    assert _count("lapsrn", "paper", 4, 1, True) == 812_768
    assert _count("drrn", "paper", 2, 1, False) == 297_601 + 768  # + shared BN scale/shift
    assert _count("srdensenet", "paper", 4, 1, False) == 2_659_585
    # the common 2x2-deconvolution re-implementation of SRDenseNet has the quoted ~2.0M
    with torch.device("meta"):
        small = create_model("srdensenet", scale=4, preset="paper", deconv_kernel=2)
    assert count_parameters(small) == 2_004_225


def test_model_info_states_channels_of_the_count():
    for name in RGB:
        assert model_info(name).paper_in_channels == 3
        assert "RGB" in model_info(name).preset_note
    for name in (n for n in NATURAL if n not in RGB):
        assert model_info(name).paper_in_channels == 1
        assert "Y" in model_info(name).preset_note


def test_models_command_lists_counts_as_json(monkeypatch):
    """`medsr models --json` reports the same paper-preset counts (the CLI only formats them)."""
    from typer.testing import CliRunner

    from medsr.cli.app import app, console

    # the console reads COLUMNS once, when it is created: give it a wide terminal directly
    monkeypatch.setattr(console, "width", 200)

    result = CliRunner().invoke(app, ["models", "--json", "--kind", "generator"])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.output)}
    assert rows["vdsr"]["params_x2"] == 665_921
    assert rows["edsr"]["params_x4"] == 43_089_923 and rows["edsr"]["paper_in_channels"] == 3
    assert rows["lapsrn"]["params_x4"] == 814_242
    assert rows["srresnet"]["params_x4"] == 1_549_462
    assert all(r["kind"] == "generator" for r in rows.values())
    # a wide terminal shows every column (at 80 columns "params x4" is hidden: test_cli_polish)
    table = CliRunner().invoke(app, ["models"])
    assert table.exit_code == 0 and "rrdbnet" in table.output and "16.70M" in table.output
