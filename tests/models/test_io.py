"""Weights round trip through model.safetensors + model.json, and clear errors."""

from __future__ import annotations

import json

import pytest
import torch

from medsr.errors import MedsrError
from medsr.models import create_model
from medsr.models.io import load_weights, read_meta, save_weights


def _trained_like(name="edsr", **kw):
    net = create_model(name, preset="tiny", **kw)
    with torch.no_grad():  # move away from the initialisation so the round trip is meaningful
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.01)
    return net


def test_round_trip_folder(tmp_path):
    net = _trained_like("edsr", scale=3, dims=2, in_channels=2, blocks=1).eval()
    norm = {"kind": "percentile", "params": {"low": 0.5, "high": 99.5}}
    t, j = save_weights(
        net,
        tmp_path / "run",
        name="edsr",
        preset="tiny",
        kwargs={"blocks": 1},
        normalisation=norm,
        extra={"metrics": {"psnr": 31.2}},
    )
    assert t.name == "model.safetensors" and j.name == "model.json"
    meta = json.loads(j.read_text())
    assert meta["architecture"] == "edsr" and meta["scale"] == [3, 3] and meta["in_channels"] == 2
    loaded, meta2 = load_weights(tmp_path / "run")
    assert meta2["normalisation"] == norm and meta2["extra"]["metrics"]["psnr"] == 31.2
    assert not loaded.training and loaded.scale == (3, 3)
    x = torch.randn(1, 2, 5, 5)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), net(x), rtol=0, atol=0)
    # no pickles: the tensors file is plain safetensors with medsr metadata
    from safetensors import safe_open

    with safe_open(str(t), framework="pt") as f:
        assert f.metadata()["architecture"] == "edsr"


def test_round_trip_file_name_3d_anisotropic_with_bn(tmp_path):
    net = _trained_like("srresnet", scale=(1, 1, 4), dims=3)
    net.train()
    net(torch.randn(2, 1, 4, 4, 3))  # update BN running statistics
    net.eval()
    t, j = save_weights(net, tmp_path / "srres.safetensors", name="srresnet", preset="tiny")
    assert j == tmp_path / "srres.json"
    loaded, _ = load_weights(t)
    assert loaded.scale == (1, 1, 4) and loaded.dims == 3
    for k, v in net.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v), k
    read_meta(j)  # the json path works too


def test_pre_upsampling_non_integer_scale_round_trip(tmp_path):
    net = _trained_like("vdsr", scale=(1.0, 1.0, 2.5), dims=3)
    save_weights(net, tmp_path, name="vdsr", preset="tiny")
    loaded, meta = load_weights(tmp_path)
    assert loaded.scale == (1, 1, 2.5) and meta["scale"] == [1, 1, 2.5]


def test_missing_files_are_clear_errors(tmp_path):
    with pytest.raises(MedsrError, match="not found"):
        load_weights(tmp_path / "nothing")
    net = create_model("srcnn", preset="tiny")
    _t, j = save_weights(net, tmp_path / "a", name="srcnn", preset="tiny")
    j.unlink()
    with pytest.raises(MedsrError, match="model.json"):
        load_weights(tmp_path / "a")
    t2, j2 = save_weights(net, tmp_path / "b", name="srcnn", preset="tiny")
    t2.unlink()
    with pytest.raises(MedsrError, match="missing"):
        load_weights(tmp_path / "b")
    j2.write_text("{not json")
    with pytest.raises(MedsrError, match="JSON"):
        read_meta(tmp_path / "b")


def test_mismatched_weights_are_clear_errors(tmp_path):
    net = create_model("srcnn", preset="tiny")
    _, j = save_weights(net, tmp_path / "m", name="srcnn", preset="tiny")
    meta = json.loads(j.read_text())
    meta["preset"] = "paper"  # other layer sizes -> shape mismatch
    j.write_text(json.dumps(meta))
    with pytest.raises(MedsrError, match="shape"):
        load_weights(tmp_path / "m")
    meta["architecture"], meta["preset"] = "vdsr", "tiny"  # other layer names
    j.write_text(json.dumps(meta))
    with pytest.raises(MedsrError, match="missing|unexpected"):
        load_weights(tmp_path / "m")
    meta["architecture"] = "nonexistent"
    j.write_text(json.dumps(meta))
    with pytest.raises(MedsrError, match="unknown model"):
        load_weights(tmp_path / "m")
