"""Magnitude pruning with fine-tuning (review section 2.4, ref. [27]): the asked sparsity is
reached and the pruned, fine-tuned tiny VDSR still beats bicubic on a held-out real image."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from medsr.cli import main
from medsr.degrade import imresize
from medsr.errors import MedsrError
from medsr.io import read
from medsr.metrics import psnr
from medsr.metrics.colour import rgb_to_y
from medsr.models import create_model
from medsr.models.io import load_weights
from medsr.runtime import torch_seed, torch_threads
from medsr.train.config import parse_config
from medsr.train.prune import prune_and_finetune, prune_magnitude, prune_run, sparsity
from medsr.train.run import train


def _pair(y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    hr = y.astype(np.float64)
    lr = imresize(hr, (0.5, 0.5))
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))[None, None]  # noqa: E731
    return t(lr), t(hr)


@pytest.fixture(scope="module")
def crops(shared_data: Path) -> list[np.ndarray]:
    files = sorted((shared_data / "natural" / "CBSD68").glob("*.png"))[:4]
    out = []
    for f in files:
        rgb = np.moveaxis(read(f).data, 0, -1)[:, :, 0]  # (X, Y, 3)
        out.append(rgb_to_y(rgb)[60:156, 60:156] / 255.0)
    return out


def test_prune_magnitude_reaches_the_asked_sparsity() -> None:
    with torch_seed(0):
        net = create_model("vdsr", preset="tiny", scale=2, dims=2, in_channels=1)
    for amount in (0.3, 0.7):
        fresh = create_model("vdsr", preset="tiny", scale=2, dims=2, in_channels=1)
        fresh.load_state_dict(net.state_dict())
        reached = prune_magnitude(fresh, amount)
        assert reached == pytest.approx(amount, abs=1e-3)
        weights = torch.cat([p.detach().flatten() for n, p in net.named_parameters() if p.ndim > 1])
        kept = torch.cat(
            [m.weight.detach().flatten() for m in fresh.modules() if hasattr(m, "weight_mask")]
        )
        # the smallest weights went: every zeroed one is below every kept one in magnitude
        zeroed = weights[kept == 0].abs()
        assert float(zeroed.max()) <= float(weights[kept != 0].abs().min())
    with pytest.raises(MedsrError, match="amount must be in"):
        prune_magnitude(net, 1.5)


def test_pruned_finetuned_network_beats_bicubic(crops: list[np.ndarray]) -> None:
    train = [_pair(c) for c in crops[:3]]
    val = [_pair(crops[3])]
    lr_v, hr_v = val[0]
    bicubic = psnr(
        hr_v[0, 0].numpy(), imresize(lr_v[0, 0].numpy().astype(np.float64), (2, 2)), data_range=1.0
    )
    with torch_threads(1), torch_seed(0):
        net = create_model("vdsr", preset="tiny", scale=2, dims=2, in_channels=1)
        opt = torch.optim.Adam(net.parameters(), lr=2e-3)
        for step in range(300):
            x, y = train[step % 3]
            loss = F.l1_loss(net(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        report = prune_and_finetune(net, train, val, amount=0.5, steps=150, lr=5e-4)
    assert report.sparsity == pytest.approx(0.5, abs=1e-3)
    assert sparsity(net) == pytest.approx(0.5, abs=1e-3)  # permanent: no masks left
    assert not any(hasattr(m, "weight_mask") for m in net.modules())
    assert report.psnr_dense > bicubic
    assert report.psnr_finetuned > report.psnr_pruned
    assert report.psnr_finetuned > bicubic, (report, bicubic)
    assert report.psnr_finetuned > report.psnr_dense - 0.1


def test_prune_run_writes_a_pruned_model_and_its_report(
    tiny_config, bsd_crops, tmp_path, capsys
) -> None:
    cfg = tiny_config(
        data={"val": {"hr_dir": str(bsd_crops)}, "val_max_images": 2},
        train={"max_steps": 4, "checkpoint_every": 4},
    )
    result = train(parse_config(cfg))
    out = tmp_path / "pruned"
    with torch_threads(1):
        report = prune_run(result.run_dir, out, amount=0.4, steps=5, batches=2)
    saved = json.loads((out / "prune.json").read_text())
    assert saved["sparsity"] == pytest.approx(report.sparsity) == pytest.approx(0.4, abs=2e-3)
    assert np.isfinite([saved["psnr_dense"], saved["psnr_pruned"], saved["psnr_finetuned"]]).all()
    net, meta = load_weights(out)
    assert meta["extra"]["pruning"]["from"] == str(result.run_dir)
    assert sparsity(net) == pytest.approx(0.4, abs=2e-3)
    with pytest.raises(MedsrError, match="exists"):
        prune_run(result.run_dir, out, amount=0.4)
    # the command: one report line; a bad value is one line naming the flag, exit 2, no output
    main(
        [
            "prune",
            str(result.run_dir),
            "-o",
            str(tmp_path / "p2"),
            "--amount",
            "0.3",
            "--steps",
            "2",
        ]
    )
    printed = " ".join(capsys.readouterr().out.split())
    assert "sparsity 30.0%" in printed and "dB after 2 fine-tuning steps" in printed
    assert sparsity(load_weights(tmp_path / "p2")[0]) == pytest.approx(0.3, abs=2e-3)
    with pytest.raises(SystemExit) as exc:
        main(["prune", str(result.run_dir), "-o", str(tmp_path / "p3"), "--amount", "1.2"])
    assert exc.value.code == 2 and "--amount must be in [0, 1)" in capsys.readouterr().err
    assert not (tmp_path / "p3").exists()
