"""Warm start of self-SR from the shipped pre-trained network (``init=prior``, issue 13)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from medsr.bench.selfsr import simulate_thick_slices
from medsr.errors import MedsrError, OptionError
from medsr.models.io import read_meta, save_weights
from medsr.selfsr import SelfSRConfig, members, self_super_resolve
from medsr.selfsr.network import build_network
from medsr.selfsr.prior import (
    FACTOR_PRIORS,
    PRIOR_DIR,
    load_prior,
    pair_stacks_2d,
    prior_folder,
)
from medsr.volume import TargetGrid


def _prior_tensors(folder) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return {k: v.float() for k, v in load_file(str(folder / "model.safetensors")).items()}


@pytest.fixture(scope="module")
def small_case(brain_crop):
    crop = brain_crop.with_data(np.ascontiguousarray(brain_crop.data[:, 8:40, 8:40, 8:40]))
    return simulate_thick_slices(crop, axis=2, factor=4.0)


def _run(case, **options):
    config = SelfSRConfig(**{"patch": 24, "batch": 4, "budget": "6it", "threads": 1, **options})
    return self_super_resolve(case.lr, TargetGrid.from_factors(case.lr, case.factors), config)


@pytest.mark.parametrize("folder", [PRIOR_DIR, *FACTOR_PRIORS.values()])
def test_shipped_prior_is_package_data_and_records_its_training(folder) -> None:
    meta = read_meta(folder)
    assert meta["architecture"] == "selfsr" and meta["dims"] == 2 and meta["in_channels"] == 1
    record = meta["extra"]["pretraining"]
    assert record["steps"] > 0 and "benchmarks/pretrain_selfsr.py" in record["command"]
    assert "Set5" not in str(record["data"]) and "chris" not in str(record["data"])
    assert (folder / "model.safetensors").stat().st_size < 1_000_000


def test_each_factor_starts_from_its_prior() -> None:
    assert prior_folder(4.0) == FACTOR_PRIORS[4] != PRIOR_DIR
    assert prior_folder(4.0000001) == FACTOR_PRIORS[4]  # a spacing ratio in floating point
    for factor in (2.0, 3.0, 2.79, None):  # no prior of their own: the prior of x2-x4
        assert prior_folder(factor) == PRIOR_DIR
    x4, every = read_meta(FACTOR_PRIORS[4]), read_meta(PRIOR_DIR)
    assert x4["extra"]["pretraining"]["factors"] == [4.0]
    assert "--factors 4" in x4["extra"]["pretraining"]["command"]
    assert every["extra"]["pretraining"]["aligned"] and x4["extra"]["pretraining"]["aligned"]
    a, b = build_network("selfsr"), build_network("selfsr")
    assert load_prior(a, arch="selfsr", preset=None, model_kwargs={}, factor=4.0)["folder"] == (
        "selfsr_prior_factor4"
    )
    load_prior(b, arch="selfsr", preset=None, model_kwargs={}, factor=2.0)
    assert not torch.equal(a.state_dict()["head.weight"], b.state_dict()["head.weight"])
    torch.testing.assert_close(
        a.state_dict()["head.weight"], _prior_tensors(FACTOR_PRIORS[4])["head.weight"]
    )


def test_load_prior_copies_the_tensors_into_a_fresh_network() -> None:
    net = build_network("selfsr")
    before = {k: v.clone() for k, v in net.state_dict().items()}
    record = load_prior(net, arch="selfsr", preset=None, model_kwargs={})
    assert record["architecture"] == "selfsr" and record["steps"] > 0
    prior = _prior_tensors(PRIOR_DIR)
    state = net.state_dict()
    assert set(prior) == set(state)
    for key, value in state.items():
        assert value.dtype == torch.float32
        torch.testing.assert_close(value, prior[key], rtol=0, atol=0)
    assert any(not torch.equal(before[k], state[k]) for k in state)  # it did change the network


def test_warm_started_training_starts_from_the_prior(small_case, monkeypatch) -> None:
    seen: list[dict[str, torch.Tensor]] = []
    original = members.train_restoration

    def capture(net, pairs, **kw):
        seen.append({k: v.detach().clone() for k, v in net.state_dict().items()})
        return original(net, pairs, **kw)

    monkeypatch.setattr(members, "train_restoration", capture)
    _, info = _run(small_case, init="prior", members=1)
    prior = _prior_tensors(prior_folder(4.0))  # x4: the prior pre-trained on x4 alone
    assert len(seen) == 1
    for key, value in seen[0].items():
        torch.testing.assert_close(value, prior[key], rtol=0, atol=0)
    assert info["init"] == "prior" and info["stages"][0]["init"]["folder"] == "selfsr_prior_factor4"
    _run(small_case, init="none", members=1)
    assert not torch.equal(seen[1]["head.weight"], prior["head.weight"])  # cold: random weights


def test_warm_start_is_deterministic_for_a_seed_and_differs_from_cold(small_case) -> None:
    (a, _), (b, _) = _run(small_case, init="prior"), _run(small_case, init="prior")
    np.testing.assert_array_equal(a.data, b.data)
    cold, _ = _run(small_case, init="none")
    assert not np.array_equal(cold.data, a.data)


def test_prior_folder_other_network_and_bad_values(small_case, tmp_path) -> None:
    # another folder: a random selfsr network saved in half precision is loaded as is
    with torch.no_grad():
        saved = build_network("selfsr").half()
    save_weights(saved, tmp_path, name="selfsr", scale=1, dims=2, in_channels=1)
    net = build_network("selfsr")
    load_prior(net, arch="selfsr", preset=None, model_kwargs={}, folder=tmp_path)
    for key, value in net.state_dict().items():
        torch.testing.assert_close(value, saved.state_dict()[key].float(), rtol=0, atol=0)
    with pytest.raises(OptionError, match="init=prior needs"):
        _run(small_case, init="prior", model_kwargs={"channels": 16, "blocks": 2})
    with pytest.raises(MedsrError, match="init must be none, prior or auto"):
        SelfSRConfig(init="warm")
    with pytest.raises(MedsrError, match="not found|missing"):
        load_prior(net, arch="selfsr", preset=None, model_kwargs={}, folder=tmp_path / "none")


def test_init_option_of_the_self_method(small_case) -> None:
    from medsr.infer.methods import MethodOptions, get_method

    target = TargetGrid.from_factors(small_case.lr, small_case.factors)
    extra = {"init": "prior", "iterations": "2", "patch": "24", "batch": "2", "threads": "1"}
    _, info = get_method("self").fn(small_case.lr, target, MethodOptions(extra=extra))
    assert info["init"] == "prior"


def test_pretraining_pairs_of_a_2d_image_follow_self_sr() -> None:
    rng = np.random.default_rng(0)
    image = rng.random((40, 36)).astype(np.float32) * 200
    pairs = pair_stacks_2d(image, 4.0)
    assert len(pairs.inputs) == 2  # degraded along the rows, then along the columns
    for x, y in zip(pairs.inputs, pairs.targets, strict=True):
        assert x.shape == y.shape and x.shape[0] == 1
        # the target is the normalised image; the input is its smoothed version along the rows
        assert np.abs(np.diff(x[0], axis=0)).mean() < np.abs(np.diff(y[0], axis=0)).mean()
    with pytest.raises(MedsrError, match="2D grey image"):
        pair_stacks_2d(image[None], 4.0)


def test_auto_init_warm_starts_only_the_default_network() -> None:
    from medsr.selfsr.prior import warm_starts

    assert warm_starts("auto", "selfsr", None, {}) and warm_starts("auto", "selfsr", "paper", {})
    assert not warm_starts("auto", "selfsr", "tiny", {})
    assert not warm_starts("auto", "selfsr", None, {"channels": 16})
    assert not warm_starts("auto", "vdsr", None, {}) and not warm_starts("none", "selfsr", None, {})
    assert warm_starts("prior", "vdsr", None, {})  # then load_prior says why it cannot
    assert SelfSRConfig().init == "auto"  # the default: warm start of the default network
