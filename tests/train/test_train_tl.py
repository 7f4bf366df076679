"""The T-L network / ACNN-SR recipe (review ref. [80], Oktay et al. 2018) trains in two stages.

Real data: the built-in MNI brain and its CSF/GM/WM label map (medsr.data "brain_labels").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from train_helpers import StepRecorder, grad_norm

from medsr.data import sample, sample_path
from medsr.errors import MedsrError
from medsr.train.builders import build_datamodule
from medsr.train.config import load_config
from medsr.train.medical.labels import LabelledPatchDataset
from medsr.train.run import train

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "configs" / "tl_net.yaml"


def _overrides(out: Path) -> list[str]:
    return [
        f"output_dir={out}",
        "model.preset=tiny",
        "model.kwargs.classes=4",
        "tl.prior_steps=2",
        "train.max_steps=4",
        "train.checkpoint_every=4",
        "train.log_every=1",
        "train.progress=none",
        "train.threads=1",
        "data.batch_size=2",
        "data.patch_size=[16,16,16]",
    ]


def _weights(m: Any) -> dict[str, Any]:
    """The T-L prior's and the SR network's weights (the two stages' trainable groups)."""
    return {"prior": m.model.prior.parameters(), "sr": m.model.sr_parameters()}


@pytest.fixture(scope="module")
def tl_run(tmp_path_factory: pytest.TempPathFactory, monkeypatch_module: Any) -> tuple[Any, Any]:
    recorder = StepRecorder(_weights)
    out = tmp_path_factory.mktemp("tl") / "run"
    result = train(RECIPE, _overrides(out), callbacks=[recorder])
    return result, recorder


@pytest.fixture(scope="module")
def monkeypatch_module() -> Any:
    mp = pytest.MonkeyPatch()
    mp.chdir(ROOT)  # the recipe's data paths are relative to the repository root
    torch.set_num_threads(1)
    yield mp
    mp.undo()


def test_stage_one_trains_the_prior_only_with_both_terms(tl_run) -> None:
    result, rec = tl_run
    assert result.global_step == 4 and result.weights.is_file()
    for step in rec.steps[:2]:  # the T-L stage
        assert step["moved"] == {"prior": True, "sr": False}
        assert step["logged"]["train/prior_ce"] > 0.1  # cross-entropy of the label auto-encoder
        assert step["logged"]["train/prior_code"] > 0  # |p(HR) - f(labels)|^2


def test_stage_two_freezes_the_prior_and_trains_sr_with_both_terms(tl_run) -> None:
    _result, rec = tl_run
    for step in rec.steps[2:]:  # the SR stage
        assert step["moved"] == {"prior": False, "sr": True}
        assert step["logged"]["train/smooth_l1"] > 0
        assert step["logged"]["train/latent"] > 0  # |p(SR) - p(HR)|^2


def test_every_loss_term_moves_its_weights(tl_run) -> None:
    """Each term alone has a non-zero gradient on the weights it trains: cross-entropy on the
    label decoder and encoder, the code term on the image predictor, the latent term on the SR
    network (through the frozen predictor)."""
    from medsr.train.medical.tl import TLNetSR

    result, _ = tl_run
    model = result.model.train()
    cfg = result.config
    dm, _, _ = build_datamodule(cfg)
    batch = {k: v[None] for k, v in dm.train_set[(0, 0)].items()}
    task = TLNetSR(cfg, model, _smooth_l1())
    model.prior.requires_grad_(True)

    ce, code = task.prior_losses(batch["hr"], batch["labels"])
    assert grad_norm(ce, list(model.prior.decoder.parameters())) > 0
    assert grad_norm(ce, list(model.prior.encoder.parameters())) > 0
    assert grad_norm(code, list(model.prior.predictor.parameters())) > 0
    model.freeze_prior()
    sr = model(batch["lr"])
    assert grad_norm(task.latent_loss(sr, batch["hr"]), model.sr_parameters()) > 0


def _smooth_l1() -> Any:
    from medsr.losses import build_weighted_sum

    return build_weighted_sum({"smooth_l1": {"weight": 1.0}})


def test_labelled_patches_align_labels_with_the_image(monkeypatch_module) -> None:
    """White matter is brightest, then grey matter, then CSF in T1: the label patches sit on the
    image patches (same crop, same flips)."""
    cfg = load_config(RECIPE, ["model.preset=tiny", "data.patch_size=[24,24,24]"])
    dm, _, _ = build_datamodule(cfg)
    assert isinstance(dm.train_set, LabelledPatchDataset)
    means: dict[int, list[float]] = {1: [], 2: [], 3: []}
    for i in range(12):
        s = dm.train_set[(0, i)]
        assert s["labels"].shape == (4, 24, 24, 24) and s["lr"].shape == (1, 24, 24, 12)
        assert torch.allclose(s["labels"].sum(0), torch.ones(24, 24, 24))
        lab = s["labels"].argmax(0)
        for k, found in means.items():
            if int((lab == k).sum()) > 20:
                found.append(float(s["hr"][0][lab == k].mean()))
    csf, gm, wm = (np.mean(means[k]) for k in (1, 2, 3))
    assert csf < gm < wm


def test_brain_labels_sample_is_on_the_brain_grid() -> None:
    labels, brain = sample("brain_labels"), sample("brain")
    assert labels.shape == brain.shape and np.allclose(labels.affine, brain.affine)
    assert set(np.unique(labels.data).astype(int)) == {0, 1, 2, 3}
    assert np.all(brain.data[labels.data == 0] == 0)  # background = outside the brain
    assert sample_path("brain_labels").name == "brain_labels.nii.gz"


def test_recipe_refuses_a_prior_stage_as_long_as_the_run() -> None:
    with pytest.raises(MedsrError, match="tl.prior_steps"):
        load_config(RECIPE, ["tl.prior_steps=20000"])
    with pytest.raises(MedsrError, match="config: tl"):
        load_config(ROOT / "configs" / "srcnn.yaml", ["tl.labels=x.nii.gz"])


def test_label_map_is_cut_with_a_held_out_slab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Validation on the training scan holds out its last slab (medsr.train.holdout); the label
    map of the whole scan is cut the same way, voxel for voxel."""
    monkeypatch.chdir(ROOT)
    cfg = load_config(
        RECIPE,
        [*_overrides(tmp_path), f"data.val={{hr_dir: {sample_path('brain')}}}"],
    )
    with pytest.warns(UserWarning, match="holds out its last 20%"):
        dm, _, _ = build_datamodule(cfg)
    train_set = dm.train_set
    assert isinstance(train_set, LabelledPatchDataset)
    src = train_set.sources[0]
    labels = train_set.labels[src.name]
    whole = np.asarray(sample("brain_labels").data)
    n = whole.shape[-1]
    assert src.shape[2] < n and labels.shape[1:] == src.shape
    np.testing.assert_array_equal(labels, whole[..., : src.shape[2]])
