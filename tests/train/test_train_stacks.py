"""Oktay et al. 2016 (review ref. [81]): several thick-slice LR stacks of one volume as joint input
of a 3D residual network with transposed-convolution input layers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from medsr.degrade import ThickSlice
from medsr.errors import MedsrError
from medsr.io import read, write
from medsr.models import create_model
from medsr.runtime import torch_seed
from medsr.train.builders import build_datamodule, build_model, build_task
from medsr.train.config import load_config, parse_config
from medsr.train.run import train
from medsr.volume import Volume

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def t1_cube(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    t1 = read(shared_data / "medical" / "chris_t1.nii.gz")
    block = t1.data[:, 70:110, 100:140, 80:120].astype(np.float32)
    out = tmp_path_factory.mktemp("stacks") / "t1.nii.gz"
    write(Volume(block, t1.affine), out, dtype="float32")
    return out


def _cfg(path: Path, out: Path, *extra: str):
    return load_config(
        ROOT / "configs" / "oktay_misr.yaml",
        [
            "profile=cpu",
            # the sizes these tests were written for (the cpu profile trains wider, larger patches)
            "data.patch_size=16",
            "model.kwargs={}",
            f"data.train.hr_dir={path}",
            f"data.val.hr_dir={path}",
            f"output_dir={out}",
            *extra,
        ],
    )


def test_samples_are_three_thick_slice_stacks_of_the_patch(t1_cube: Path, tmp_path: Path):
    """Each sample holds one stack per axis, thick along that axis by the model's factor and
    equal to the Gaussian thick-slice operator applied to the HR patch."""
    dm, _, _ = build_datamodule(_cfg(t1_cube, tmp_path))
    s = dm.train_set[(0, 5)]
    hr, stacks = s["hr"], s["lr"]
    assert hr.shape == (1, 16, 16, 16) and len(stacks) == 3
    for a, st in enumerate(stacks):
        shape = [16, 16, 16]
        shape[a] = 8
        assert tuple(st.shape[1:]) == tuple(shape)
        expect = ThickSlice(a, 2, profile="gaussian").apply_array(hr.numpy())
        assert np.allclose(st.numpy(), expect, atol=1e-5)
    assert not torch.equal(stacks[0], stacks[0].flip(1))  # real content
    batch = next(iter(dm.train_dataloader()))
    assert [tuple(b.shape) for b in batch["lr"]] == [
        (4, 1, 8, 16, 16),
        (4, 1, 16, 8, 16),
        (4, 1, 16, 16, 8),
    ]


def test_transposed_input_layers_start_as_linear_interpolation() -> None:
    """Each stack enters through a transposed convolution with stride = factor along its own
    axis only, initialised as linear interpolation (a constant stays constant inside)."""
    net = create_model("oktay_misr", scale=2, dims=3, preset="tiny")
    strides = [tuple(layer.conv.stride) for layer in net.inputs]
    assert strides == [(2, 1, 1), (1, 2, 1), (1, 1, 2)]
    assert all(isinstance(layer.conv, torch.nn.ConvTranspose3d) for layer in net.inputs)
    ones = [torch.ones(1, 1, *s) for s in ((4, 8, 8), (8, 4, 8), (8, 8, 4))]
    for up in net.upsampled(ones):
        assert torch.allclose(up[..., 1:-1, 1:-1, 1:-1], torch.ones(()))
    with pytest.raises(MedsrError, match="stacks"):
        net(ones[:2])


def test_every_stack_matters_and_training_improves(t1_cube: Path, tmp_path: Path):
    """The output depends on each stack; a few supervised steps lower the loss and move the
    input layers of every stack."""
    cfg = _cfg(t1_cube, tmp_path)
    dm, norm, _ = build_datamodule(cfg)
    with torch_seed(0):  # the initial weights, not the global RNG left by earlier tests
        model = build_model(cfg)
    task = build_task(cfg, model, norm)
    batch = next(iter(dm.train_dataloader()))
    with torch.no_grad():
        ref = model(batch["lr"])
        for i in range(3):
            changed = list(batch["lr"])
            changed[i] = changed[i] + 0.5
            assert float((model(changed) - ref).abs().mean()) > 1e-3
    w0 = [layer.conv.weight.detach().clone() for layer in model.inputs]
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    task.log = lambda *a, **k: None  # type: ignore[method-assign]
    losses = []
    for _ in range(6):
        opt.zero_grad()
        loss = task.training_step(batch, 0)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < losses[0]
    assert all(not torch.equal(w, layer.conv.weight) for w, layer in zip(w0, model.inputs))


def test_recipe_trains_and_validates_with_tensorboard_previews(t1_cube: Path, tmp_path: Path):
    """`medsr train configs/oktay_misr.yaml`: the validation previews (one LR tensor per item)
    skip the multi-stack input instead of failing the run (a regression of the previews)."""
    threads = torch.get_num_threads()
    try:
        result = train(
            ROOT / "configs" / "oktay_misr.yaml",
            [
                f"data.train.hr_dir={t1_cube}",
                f"data.val.hr_dir={t1_cube}",
                f"output_dir={tmp_path / 'run'}",
                "model.preset=tiny",
                "data.patch_size=16",
                "data.batch_size=2",
                "data.val_crop=16",
                "train.max_steps=2",
                "train.val_every=2",
                "train.checkpoint_every=2",
                "train.progress=none",
                "train.threads=1",
            ],
        )
    finally:
        torch.set_num_threads(threads)
    assert result.global_step == 2 and result.weights.is_file()
    assert np.isfinite(result.metrics["val/psnr"])
    assert list((result.run_dir).rglob("events.out.tfevents*"))  # TensorBoard was on


def test_stacks_need_a_3d_supervised_model() -> None:
    base = {"name": "x", "model": {"name": "srcnn", "dims": 2}, "data": {"train": {"hr_dir": "."}}}
    with pytest.raises(MedsrError, match="data.stacks"):
        parse_config(base, ["data.stacks={axes: [0, 2]}"])
    with pytest.raises(MedsrError, match="axes"):
        parse_config(base, ["data.stacks={axes: [0, 0]}", "model.dims=3"])
