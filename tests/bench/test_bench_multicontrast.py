"""The multi-contrast experiment's data (Zeng et al. 2018, review ref. [78]): held-out PD slices,
their LR, the T1 placed on them, and the results page."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from medsr.bench.multicontrast import held_out_case, markdown
from medsr.io import read


def test_held_out_case_puts_the_t1_on_the_pd_slab(shared_data: Path) -> None:
    pd = read(shared_data / "medical" / "chris_PD.nii.gz")
    t1 = read(shared_data / "medical" / "chris_t1.nii.gz")
    case = held_out_case(pd, t1, 38, 54, "bicubic")
    assert case.truth.shape == (190, 256, 16)  # even in-plane size for x2
    assert case.lr.shape == (95, 128, 16)
    assert case.target.shape == case.truth.shape
    assert np.allclose(case.target.affine, case.truth.affine)
    assert np.allclose(case.truth.data, pd.data[:, :190, :256, 38:54])
    assert case.reference.shape == case.truth.shape
    from medsr.bench.selfsr import head_mask

    t1_head = head_mask(case.reference.data[0])  # the T1's head lies on the PD's head
    dice = 2 * (t1_head & case.mask).sum() / (t1_head.sum() + case.mask.sum())
    assert case.mask.mean() > 0.2 and dice > 0.85, dice


def test_markdown_reports_the_gain() -> None:
    result = {
        "rows": [
            {"method": "cubic", "psnr": 30.0, "ssim": 0.9},
            {"method": "single-contrast", "psnr": 31.0, "ssim": 0.91, "train_steps": 5},
            {"method": "multi-contrast", "psnr": 31.5, "ssim": 0.92, "train_steps": 5},
        ],
        "reference_gain_db": 0.5,
        "train_slices": [0, 34],
        "test_slices": [38, 54],
        "steps": 5,
        "profile": "cpu",
    }
    text = markdown(result, "cmd")
    assert "| multi-contrast | 31.50 | 0.9200 | 5 |" in text and "+0.50 dB" in text


def test_register_translation_recovers_a_known_shift(shared_data: Path) -> None:
    """The PD moved 6 mm along z (header only) is found again within a millimetre."""
    from medsr.bench.multicontrast import register_translation
    from medsr.volume import Volume, crop_affine

    pd = read(shared_data / "medical" / "chris_PD.nii.gz")
    block = Volume(pd.data[:, 40:150, 50:210, 10:44].copy(), crop_affine(pd.affine, (40, 50, 10)))
    moved = block.affine.copy()
    moved[:3, 3] += (0.0, 0.0, -6.0)
    shift, mi = register_translation(Volume(block.data, moved), block)
    assert np.abs(shift - (0.0, 0.0, 6.0)).max() <= 1.0, shift
    assert mi > 0.5
