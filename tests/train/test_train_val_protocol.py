"""Validation scored with the benchmarks' protocols (issue 15): Table 1 for pictures (uint8,
border crop, R = 255), PSNR/SSIM inside the head mask for scans."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import default_collate

from medsr.bench.selfsr import head_mask
from medsr.metrics import psnr, ssim
from medsr.metrics.protocol import table1_evaluate, to_uint8
from medsr.train.builders import build_datamodule
from medsr.train.config import parse_config
from medsr.train.val_protocol import SCAN, TABLE1, protocol_metrics


def _first_batch(dm):
    return default_collate([dm.val_set[0]])


def test_pictures_are_scored_the_table1_way(tiny_config, bsd_crops):
    cfg = tiny_config()
    cfg["data"]["val"] = {"hr_dir": str(bsd_crops), "pattern": "103*"}
    cfg["data"]["train"]["pattern"] = "10[12]*"
    dm, _, _ = build_datamodule(parse_config(cfg))
    batch = _first_batch(dm)
    proto = batch["protocol"]
    assert int(proto["kind"][0]) == TABLE1 and int(proto["border"][0]) == 2
    hr = batch["hr"]  # normalised minmax 0..255 -> 0..1
    rng = np.random.default_rng(0)
    sr = hr + torch.from_numpy(rng.normal(0, 0.02, hr.shape).astype(np.float32))
    got = protocol_metrics(proto, hr, sr, None)
    hr_phys, sr_phys = hr[0, 0].double().numpy() * 255, sr[0, 0].double().numpy() * 255
    want = table1_evaluate(to_uint8(hr_phys), sr_phys, 2)
    assert got["val/psnr"] == pytest.approx(want[0], abs=1e-9)
    assert got["val/ssim"] == pytest.approx(want[1], abs=1e-9)
    # not the old normalised score: rounding and the border crop change it
    naive = 10 * np.log10(1.0 / float(((sr - hr) ** 2).mean()))
    assert abs(got["val/psnr"] - naive) > 0.01


def test_scans_are_scored_inside_the_head_mask(tiny_config, t1_block):
    cfg = tiny_config()
    cfg["data"].update(  # trained on slices 0..19, validated on 20..31
        train={"hr_dir": str(t1_block), "slices": [0, 20]},
        val={"hr_dir": str(t1_block), "slices": [20, 32]},
        normalisation={"kind": "percentile", "params": {"low": 0.5, "high": 99.5}},
        color="grey",
        slice_axis=2,
        val_crop=32,
    )
    dm, _, _ = build_datamodule(parse_config(cfg))
    batch = _first_batch(dm)
    proto = batch["protocol"]
    assert int(proto["kind"][0]) == SCAN
    off, sc = float(proto["offset"][0]), float(proto["scale"][0])
    hr = batch["hr"]
    ref = hr[0, 0].double().numpy() * sc + off
    mask = head_mask(ref)
    np.testing.assert_array_equal(proto["mask"][0].numpy(), mask)
    assert mask.any()  # (the centre block of the head is all head)
    sr = hr * 1.05
    got = protocol_metrics(proto, hr, sr, hr * 0.9)
    test = sr[0, 0].double().numpy() * sc + off
    r = float(ref.max() - ref.min())
    assert got["val/psnr"] == pytest.approx(psnr(ref, test, data_range=r, mask=mask), abs=1e-9)
    assert got["val/ssim"] == pytest.approx(ssim(ref, test, data_range=r, mask=mask), abs=1e-9)
    assert got["val/psnr_interp"] < got["val/psnr"]  # 10 % off is worse than 5 % off
