"""Noise2Noise end to end (Lehtinen et al., ICML 2018; review section 4.2.2's self-supervision).

A small network is trained by ``medsr.train`` in ``train.mode: noise2noise`` on slices of the
built-in brain: every input *and* every target is a noisy copy (independent draws), never the clean
image. It must still learn to denoise: a fresh noisy slice it did not train on comes out several dB
closer to the clean slice. If the targets were clean, or shared the input's noise, the test would
not show what it shows (with shared noise the network learns the identity: no gain).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from medsr.io import write
from medsr.metrics import psnr
from medsr.volume import Volume


def test_noise2noise_training_denoises_without_clean_targets(
    tmp_path: Path, tiny_run_config
) -> None:
    import medsr.data
    from medsr.models.io import load_weights
    from medsr.train.config import parse_config
    from medsr.train.run import train

    torch.set_num_threads(1)
    brain = medsr.data.sample("brain").data[0]
    images = tmp_path / "slices"
    images.mkdir()
    for k in range(40, 120, 10):  # eight axial slices; slice 75 (below) is not among them
        plane = brain[:, :, k][None, :, :, None].astype(np.float32)
        write(Volume(plane, np.eye(4)), images / f"s{k}.png", dtype="uint8")
    cfg = tiny_run_config(images, tmp_path / "run")  # SRCNN tiny, then what differs:
    cfg["name"] = "n2n"
    cfg["model"]["scale"] = 1
    cfg["data"].update(degradation="none", color="grey", patch_size=32, batch_size=8)
    cfg["loss"] = {"terms": {"l2": {"weight": 1.0}}}
    cfg["train"].update(
        max_steps=300,
        checkpoint_every=300,
        log_every=50,
        mode="noise2noise",
        noise2noise={"noise": "gaussian", "sigma": 0.1, "noisy_input": True},
    )
    result = train(parse_config(cfg))
    model, _ = load_weights(result.run_dir)

    clean = brain[:, :, 75].astype(np.float32) / 255.0
    noisy = clean + np.random.default_rng(5).normal(0, 0.1, clean.shape).astype(np.float32)
    with torch.no_grad():
        denoised = model(torch.from_numpy(noisy)[None, None])[0, 0].numpy()
    before = psnr(clean, noisy, data_range=1.0)
    after = psnr(clean, denoised, data_range=1.0)
    assert after > before + 3.0, (before, after)
