"""Honest validation (issue 15): validation never sees a training voxel. A scan shared by
``data.train`` and ``data.val`` is split by slab, shared image folders by image; splits that
cannot be made honest are refused with one clear message."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from medsr.errors import MedsrError
from medsr.io import read
from medsr.train.builders import build_datamodule
from medsr.train.config import parse_config
from medsr.train.holdout import hold_out_plan


def _t1_config(tiny_config, t1_block, **data):
    cfg = tiny_config()
    cfg["data"].update(
        train={"hr_dir": str(t1_block)},
        val={"hr_dir": str(t1_block)},
        normalisation={"kind": "percentile", "params": {"low": 0.5, "high": 99.5}},
        color="grey",
        slice_axis=2,
        val_crop=24,
        **data,
    )
    return cfg


def test_a_shared_scan_is_split_by_slab(tiny_config, t1_block):
    block = read(t1_block).data  # (1, 48, 48, 32)
    with pytest.warns(UserWarning, match="holds out its last 20% of slices along axis 2"):
        dm, _, _ = build_datamodule(parse_config(_t1_config(tiny_config, t1_block)))
    (train_src,) = dm.train_set.sources
    np.testing.assert_array_equal(train_src.hr, block[..., :26])  # 32 - round(0.2 * 32)
    assert train_src.foreground is None or train_src.foreground[:, 2].max() < 26
    # the validation slices all come from the held-out slab 26..31
    held = block[..., 26:]
    for item in dm.val_set.items:
        hr = item["hr"].numpy()[0]  # (X, Y) centre crop of one slice, normalised
        assert any(
            np.allclose(_z(hr), _z(held[0, 12:36, 12:36, z]), atol=1e-4)
            for z in range(held.shape[-1])
        )


def _z(x: np.ndarray) -> np.ndarray:
    return (x - x.mean()) / x.std()


def test_shared_image_folders_are_split_by_image(tiny_config, bsd_crops):
    cfg = tiny_config()
    cfg["data"]["val"] = {"hr_dir": str(bsd_crops)}
    with pytest.warns(UserWarning, match="validation holds out 1 of the 4 training files"):
        dm, _, files = build_datamodule(parse_config(cfg))
    names = sorted(p.name for p in bsd_crops.iterdir())
    assert files == names[:3]  # trained on three images
    assert len(dm.val_set) == 4  # validated on the held-out one and the three others
    plan = hold_out_plan(parse_config(cfg))
    assert {p.name for p in plan.whole} == {names[3]}


def test_disjoint_data_need_no_split(tiny_config, bsd_crops, t1_block):
    cfg = tiny_config()
    cfg["data"]["val"] = {"hr_dir": str(bsd_crops), "limit": 1}
    cfg["data"]["train"]["pattern"] = "10[2-9]*"  # not the first file
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plan = hold_out_plan(parse_config(cfg))
    assert not plan.whole and not plan.slab


def test_splits_that_cannot_be_honest_are_refused(tiny_config, bsd_crops, t1_block):
    one_side = _t1_config(tiny_config, t1_block)
    one_side["data"]["train"]["slices"] = [0, 20]  # the validation would see slices 0..19
    with pytest.raises(MedsrError, match="only one of them sets slices"):
        build_datamodule(parse_config(one_side))
    both = _t1_config(tiny_config, t1_block)
    both["data"]["train"]["slices"], both["data"]["val"]["slices"] = [0, 20], [24, 32]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dm, _, _ = build_datamodule(parse_config(both))  # the user's own split is kept
    assert dm.train_set.sources[0].shape[2] == 20
    picture = tiny_config()
    first = min(bsd_crops.iterdir())
    picture["data"]["train"] = {"hr_dir": str(first)}
    picture["data"]["val"] = {"hr_dir": str(first)}
    with pytest.raises(MedsrError, match="training picture"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        build_datamodule(parse_config(picture))
