"""Patch transfer (review section 5, ref. [54]): natural CBSD68 windows chosen by SIFT descriptor
matching to real T1 MRI slices, added to the training set through ``data.transfer``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from medsr.normalise import Normaliser
from medsr.train import parse_config
from medsr.train.patch_transfer import (
    descriptor_distance,
    medical_descriptors,
    score_windows,
    select_patches,
    sift_features,
    transfer_sources,
)
from medsr.train.sources import load_sources, read_array


@pytest.fixture(scope="module")
def natural4(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four CBSD68 pictures (links in a folder of their own)."""
    out = tmp_path_factory.mktemp("natural4")
    for f in sorted((shared_data / "natural" / "CBSD68").glob("*.png"))[:4]:
        (out / f.name).symlink_to(f)
    return out


def test_chosen_natural_patches_match_the_mri_better_than_random_ones(
    shared_data: Path, natural4: Path
) -> None:
    t1 = load_sources(str(shared_data / "medical" / "chris_t1.nii.gz"))
    pool = medical_descriptors(t1, slice_axis=2, slices=4)
    assert pool.shape[1] == 128 and len(pool) > 200
    chosen = select_patches(natural4, pool, count=8, patch=64, per_image=8)
    assert len(chosen) == 8 and all(p.keypoints >= 3 for p in chosen)
    feats = {f: sift_features(read_array(f, "y")[0][0, :, :, 0]) for f in natural4.glob("*.png")}
    everything = [
        (f, corner, d)
        for f in sorted(feats)
        for corner, d, _ in score_windows(
            read_array(f, "y")[0][0, :, :, 0], pool, 64, features=feats[f]
        )
    ]
    rng = np.random.default_rng(0)
    random = [everything[i] for i in rng.choice(len(everything), 8, replace=False)]
    # the chosen windows are the closest of all candidate windows
    assert max(p.distance for p in chosen) <= np.sort([d for *_, d in everything])[7] + 1e-9
    assert np.mean([p.distance for p in chosen]) < np.mean([d for *_, d in random])
    # and they stay closer to MRI they were not chosen on: a held-out PD scan's descriptors
    held_out = medical_descriptors(
        load_sources(str(shared_data / "medical" / "chris_PD.nii.gz")), slice_axis=0, slices=4
    )

    def held(path: Path, corner: tuple[int, int]) -> float:
        kp, desc = feats[path]
        r, c = corner
        inside = (kp[:, 0] >= r) & (kp[:, 0] < r + 64) & (kp[:, 1] >= c) & (kp[:, 1] < c + 64)
        return float(descriptor_distance(desc[inside], held_out).mean())

    chosen_held = np.mean([held(p.path, p.corner) for p in chosen])
    random_held = np.mean([held(f, corner) for f, corner, _ in random])
    assert chosen_held < random_held
    sources = transfer_sources(chosen, Normaliser("percentile"))
    assert all(s.hr.shape == (1, 64, 64, 1) and s.is_2d for s in sources)
    assert sources[0].name.startswith("transfer:")


def test_data_transfer_enlarges_the_training_set_and_trains(
    tiny_config, t1_block: Path, bsd_crops: Path
) -> None:
    from medsr.train.builders import build_datamodule
    from medsr.train.run import train

    cfg = parse_config(
        tiny_config(
            data={
                "train": {"hr_dir": str(t1_block)},
                "normalisation": {"kind": "percentile", "params": {}},
                "transfer": {
                    "source": str(bsd_crops),
                    "count": 3,
                    "patch": 48,
                    "slices": 3,
                    "share": 0.4,
                    "limit": 3,
                },
            },
            train={"max_steps": 2, "checkpoint_every": 2},
        )
    )
    dm, _, names = build_datamodule(cfg)
    assert names[0] == t1_block.name and len(names) == 4
    assert all(n.startswith("transfer:") for n in names[1:])
    p = dm.train_set.probabilities
    assert p[1:].sum() == pytest.approx(0.4) and p.sum() == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    drawn = rng.choice(len(p), 2000, p=p)
    assert 0.35 < np.mean(drawn > 0) < 0.45  # the transferred patches are really sampled
    run = train(cfg)
    assert run.global_step == 2 and run.weights is not None
