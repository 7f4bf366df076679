"""Synthetic training pairs from a trained generator (review section 5, ref. [86]): a DCGAN
trained on real CBSD68 crops by ``medsr train-generator``, pairs synthesised from seeded latents,
consumed by the trainer through ``data.synthetic``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from medsr.degrade.resize import imresize
from medsr.train import parse_config
from medsr.train.synthetic import load_generator, synthesise_pairs


@pytest.fixture(scope="module")
def generator_dir(bsd_crops: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DCGAN trained for 20 steps on the four crops, through the command line."""
    from medsr.cli import main

    tmp = tmp_path_factory.mktemp("gen")
    recipe = tmp / "recipe.yaml"
    recipe.write_text(
        yaml.safe_dump(
            {
                "name": "g",
                "model": {"name": "srcnn", "preset": "tiny", "scale": 2},
                "data": {"train": {"hr_dir": str(bsd_crops)}, "color": "y"},
                "train": {"threads": 1},
            }
        )
    )
    out = tmp / "gen"
    main(["train-generator", str(recipe), "-o", str(out), "--steps", "20", "--batch-size", "8"])
    return out


def test_synthetic_pairs_are_seeded_shaped_and_consistent(generator_dir: Path) -> None:
    gen = load_generator(generator_dir)
    assert gen.spec.patch == 32 and gen.spec.high > gen.spec.low >= 0
    hr, lr = synthesise_pairs(gen, 6, seed=3, scale=2)
    hr2, lr2 = synthesise_pairs(load_generator(generator_dir), 6, seed=3, scale=2)
    other, _ = synthesise_pairs(gen, 6, seed=4, scale=2)
    assert hr.shape == (6, 1, 32, 32, 1) and lr is not None and lr.shape == (6, 1, 16, 16, 1)
    assert np.array_equal(hr, hr2) and np.array_equal(lr, lr2)  # a pure function of the seed
    assert not np.allclose(hr, other)
    assert np.ptp(hr[0]) > 0  # images, not constants
    assert hr.min() >= gen.spec.low - 1e-3 and hr.max() <= gen.spec.high + 1e-3  # physical units
    # LR = A(HR): MATLAB bicubic down-sampling, the recipe's operator
    expected = imresize(hr[0, 0, :, :, 0].astype(np.float64), (0.5, 0.5))
    assert np.allclose(lr[0, 0, :, :, 0], expected, atol=1e-3)


def test_data_synthetic_feeds_the_trainer(tiny_config, generator_dir: Path) -> None:
    from medsr.train.builders import build_datamodule
    from medsr.train.run import train

    synthetic = {"generator": str(generator_dir), "count": 5, "seed": 1, "share": 0.5}
    cfg = parse_config(
        tiny_config(data={"synthetic": synthetic}, train={"max_steps": 2, "checkpoint_every": 2})
    )
    dm, _, names = build_datamodule(cfg)
    assert sum(n.startswith("synthetic:1:") for n in names) == 5 and len(names) == 9
    p = dm.train_set.probabilities
    assert p[-5:].sum() == pytest.approx(0.5) and p.sum() == pytest.approx(1.0)
    hr, _ = synthesise_pairs(load_generator(generator_dir), 5, seed=1, degradation=None)
    assert np.array_equal(dm.train_set.sources[-1].hr, hr[-1])
    run = train(cfg)
    assert run.global_step == 2 and run.weights is not None
