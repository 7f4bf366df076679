"""Lightning tasks: adversarial / cycle training updating every network."""

import lightning as L
import pytest
import torch

from medsr.errors import MedsrError
from medsr.train.config import parse_config
from medsr.train.run import train


class _Snapshot(L.Callback):
    """Copies every sub-network's parameters when training starts."""

    def on_train_start(self, trainer, pl_module):
        self.before = {
            name: {k: v.detach().clone() for k, v in module.named_parameters()}
            for name, module in pl_module.named_children()
            if any(True for _ in module.parameters())
        }
        self.module = pl_module


def _unchanged(snap: _Snapshot, name: str) -> list[str]:
    """Names of the parameter tensors of one network that did not move."""
    now = dict(getattr(snap.module, name).named_parameters())
    return [k for k, v in snap.before[name].items() if torch.equal(v, now[k].detach().cpu())]


def _changed(snap: _Snapshot, name: str) -> float:
    """Fraction of the parameter tensors of one network that moved."""
    return 1.0 - len(_unchanged(snap, name)) / len(snap.before[name])


@pytest.mark.parametrize("kind", ["vanilla", "ragan", "wgan_gp", "wgan"])
def test_adversarial_training_updates_generator_and_discriminator(tiny_config, kind):
    cfg = tiny_config(
        task="adversarial",
        discriminator={"name": "srgan_d", "preset": "tiny"},
        adversarial={"kind": kind, "weight": 0.1},
        train={"max_steps": 3, "checkpoint_every": 3},
    )
    snap = _Snapshot()
    result = train(parse_config(cfg), callbacks=[snap])
    assert result.global_step == 3  # one counted step per batch, whatever the D updates
    assert _changed(snap, "model") == 1.0
    if kind == "wgan_gp":
        # a Wasserstein critic's output bias cancels in E C(fake) - E C(real) and in the
        # gradient penalty: it gets no gradient by construction; everything else must move
        last = list(snap.before["discriminator"])[-1]
        assert _unchanged(snap, "discriminator") == [last] and last.endswith("bias")
    else:
        assert _changed(snap, "discriminator") == 1.0
    if kind == "wgan":
        assert (
            max(p.abs().max().item() for p in snap.module.discriminator.parameters()) <= 0.01 + 1e-7
        )
    assert (result.run_dir / "model.safetensors").is_file()


def test_cycle_training_updates_both_generators_and_both_discriminators(tiny_config):
    cfg = tiny_config(
        task="cycle",
        discriminator={"name": "srgan_d", "preset": "tiny"},
        adversarial={"kind": "lsgan", "weight": 1.0},
        cycle={"cycle_weight": 10.0, "unpaired": True, "down": {"features": 8, "layers": 3}},
        loss={"terms": {"tv": {"weight": 1e-3}}},
        train={"max_steps": 3, "checkpoint_every": 3},
    )
    snap = _Snapshot()
    train(parse_config(cfg), callbacks=[snap])
    for name in ("model", "down", "discriminator", "discriminator_lr"):
        assert _changed(snap, name) == 1.0, name


def test_cycle_identity_loss_on_up_sampling_and_grid_keeping_generators(tiny_config):
    # an up-sampling G: the identity term compares on the coarser grid (medsr.train.gan.circle)
    cfg = tiny_config(
        task="cycle",
        discriminator={"name": "srgan_d", "preset": "tiny"},
        adversarial={"kind": "lsgan"},
        cycle={"identity_weight": 1.0},
        loss={"terms": {"tv": {"weight": 0.0}}},
    )
    snap = _Snapshot()
    train(parse_config(cfg), callbacks=[snap])
    assert _changed(snap, "down") == 1.0
    # grid-keeping generators: the paper's identity term
    cfg = tiny_config(
        task="cycle",
        discriminator={"name": "srgan_d", "preset": "tiny"},
        adversarial={"kind": "lsgan"},
        cycle={"identity_weight": 1.0},
    )
    cfg["model"]["scale"] = 1
    cfg["data"].update(interpolate_lr=True, degradation="none")
    cfg["loss"] = {"terms": {"tv": {"weight": 0.0}}}
    snap = _Snapshot()
    train(parse_config(cfg), callbacks=[snap])
    assert _changed(snap, "down") == 1.0


def test_unpaired_cycle_rejects_supervised_terms_and_gans_reject_fp16(tiny_config):
    cfg = tiny_config(
        task="cycle", discriminator={"name": "srgan_d", "preset": "tiny"}, cycle={"unpaired": True}
    )
    with pytest.raises(MedsrError, match="loss.terms.l1: unpaired"):
        train(parse_config(cfg))
    cfg = tiny_config(
        task="adversarial", discriminator={"name": "srgan_d", "preset": "tiny"}, adversarial={}
    )
    cfg["train"]["precision"] = "16-mixed"
    with pytest.raises(MedsrError, match="train.precision"):
        train(parse_config(cfg))


def test_init_weights_start_from_a_previous_run(tiny_config):
    first = train(
        parse_config(tiny_config(train={"max_steps": 2, "checkpoint_every": 2, "progress": "none"}))
    )
    cfg = tiny_config(train={"max_steps": 2, "checkpoint_every": 2, "progress": "none"})
    cfg["model"]["init_weights"] = str(first.run_dir)
    snap = _Snapshot()
    train(parse_config(cfg), callbacks=[snap])
    start = snap.before["model"]
    assert all(torch.equal(start[k], v) for k, v in first.model.named_parameters())
    cfg = tiny_config()
    cfg["model"]["init_weights"] = str(first.run_dir / "missing")
    with pytest.raises(MedsrError, match="model.init_weights"):
        train(parse_config(cfg))
    cfg = tiny_config()
    cfg["model"].update(init_weights=str(first.run_dir), preset="paper")
    with pytest.raises(MedsrError, match="does not fit"):
        train(parse_config(cfg))
