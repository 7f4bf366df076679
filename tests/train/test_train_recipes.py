"""Every recipe in configs/ starts and trains a few steps (tiny preset, tiny patches, 2 steps)."""

import json
import math
from pathlib import Path

import pytest
import torch

from medsr.losses.perceptual import save_vgg19
from medsr.train.config import load_config
from medsr.train.run import train

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))


@pytest.fixture(scope="module")
def random_vgg(tmp_path_factory) -> Path:
    return save_vgg19(None, tmp_path_factory.mktemp("vgg") / "vgg19.safetensors")


def _tiny_overrides(path: Path, out: Path, vgg: Path) -> list[str]:
    cfg = load_config(path)
    o = [
        f"output_dir={out}",
        "train.max_steps=2",
        "train.checkpoint_every=2",
        "train.val_every=2",
        "train.log_every=1",
        "train.progress=none",
        "train.threads=1",
        "data.batch_size=2",
        "data.train.limit=2",
        "data.val_slices=1",
    ]
    if cfg.task == "autoencoder":
        o += ["model.kwargs.channels=[4,8]", "model.kwargs.code_channels=2"]
    else:
        o.append("model.preset=tiny")
    if cfg.discriminator is not None:
        o.append("discriminator.preset=tiny")
    base = 16 if cfg.model.dims == 3 else (48 if cfg.task in ("cycle", "cincgan") else 24)
    if any("pool5" in str((spec or {}).get("layers", "")) for spec in cfg.loss.terms.values()):
        base = max(base, 32)  # VGG's fifth pooling needs 32 pixels (EnhanceNet's pool5 term)
    patch = [int(math.ceil(max(base, 4 * s) / s) * s) for s in cfg.model.scale_tuple()]
    o += [f"data.patch_size={patch}", f"data.val_crop={patch}"]
    if cfg.data.val is not None:
        o.append("data.val.limit=1")
    for name, spec in cfg.loss.terms.items():
        if (spec or {}).get("kind", name) in ("perceptual", "gram", "texture"):
            o.append(f"loss.terms.{name}.weights={vgg}")
    if getattr(cfg, "srfeat", None) is not None:  # the feature critic's VGG and its tiny preset
        o += [f"srfeat.weights={vgg}", "srfeat.discriminator.preset=tiny"]
    if getattr(cfg, "progressive", None) is not None:
        o.append("progressive.stage_steps=1")  # one step per x2 stage
    if getattr(cfg, "tl", None) is not None:
        o.append("tl.prior_steps=1")  # one T-L network step, then one SR step
    if cfg.adversarial is not None and cfg.adversarial.g_warmup_steps:
        o.append("adversarial.g_warmup_steps=1")  # one content-only step, then the GAN game
    return o


@pytest.mark.slow
@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_recipe_runs_a_few_steps(path, shared_data, random_vgg, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)  # recipe data paths are relative to the repository root
    torch.set_num_threads(1)
    result = train(path, _tiny_overrides(path, tmp_path / "run", random_vgg))
    assert result.global_step == 2
    assert result.weights is not None and result.weights.is_file()
    if result.config.data.val is not None:  # through_plane.yaml ships no held-out volume
        assert math.isfinite(result.metrics["val/psnr"])
    if result.config.task == "autoencoder":
        return
    meta = json.loads((result.run_dir / "model.json").read_text())
    assert meta["architecture"] == result.config.model.name
    from medsr.normalise import Normaliser

    Normaliser.from_dict(meta["normalisation"])  # inference understands what training stored
