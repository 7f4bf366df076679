"""AutoAugment-like policy search (review 5.1, refs. [87, 88]): real short runs scored by
validation PSNR, the identity among the candidates, the result recorded in policy.json."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from medsr.errors import MedsrError
from medsr.train import parse_config
from medsr.train.policy import OPERATIONS, search_policy


def _config(tiny_config, bsd_crops: Path, tmp_path: Path, steps: int):
    train_dir, val_dir = tmp_path / "train", tmp_path / "val"
    train_dir.mkdir()
    val_dir.mkdir()
    files = sorted(bsd_crops.glob("*.png"))
    for f in files[:3]:
        shutil.copy(f, train_dir / f.name)
    shutil.copy(files[3], val_dir / files[3].name)
    return parse_config(
        tiny_config(
            data={"train": {"hr_dir": str(train_dir)}, "val": {"hr_dir": str(val_dir)}},
            train={"max_steps": steps},
        )
    )


@pytest.mark.slow  # three short Lightning runs: ~10-30 s on 2 shared cores
def test_policy_search_scores_every_candidate_and_records_the_best(
    tiny_config, bsd_crops: Path, tmp_path: Path
) -> None:
    cfg = _config(tiny_config, bsd_crops, tmp_path, steps=2)
    result = search_policy(cfg, trials=2, ops_per_policy=2, out=tmp_path / "search", seed=1)
    assert [t["policy"] for t in result.trials][0] == {}  # the identity is scored first
    assert len(result.trials) == 3
    for t in result.trials[1:]:
        assert len(t["policy"]) == 2 and set(t["policy"]) <= set(OPERATIONS)
        assert all(v in OPERATIONS[k] for k, v in t["policy"].items())
    assert result.best_psnr == max(t["psnr"] for t in result.trials)
    assert result.best_psnr >= result.identity_psnr
    record = json.loads((tmp_path / "search" / "policy.json").read_text())
    assert record["best"] == result.best
    assert record["gain_db"] == pytest.approx(result.best_psnr - result.identity_psnr)
    # each trial really trained with its policy
    saved = (tmp_path / "search" / "trial01" / "config.yaml").read_text()
    for k, v in result.trials[1]["policy"].items():
        assert f"{k}: {v}" in saved


def test_policy_search_needs_a_validation_set(tiny_config) -> None:
    with pytest.raises(MedsrError, match="data.val"):
        search_policy(parse_config(tiny_config()), trials=1)
