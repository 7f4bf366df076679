"""Multi-contrast SR (Zeng et al. 2018, review ref. [78]): the reference travels with its HR file
through crops and augmentation, and both the SSR and MSR outputs are trained."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from medsr.errors import MedsrError
from medsr.io import read, write
from medsr.train.builders import build_datamodule, build_model, build_task
from medsr.train.config import load_config, parse_config
from medsr.volume import Volume

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def pd_pair(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A 64x64x6 block of the real PD scan and the real T1 (same subject) on a wider grid."""
    pd = read(shared_data / "medical" / "chris_PD.nii.gz")
    out = tmp_path_factory.mktemp("mc")
    from medsr.volume import crop_affine

    start = (64, 96, 24)
    block = pd.data[:, 64:128, 96:160, 24:30].astype(np.float32)
    write(Volume(block, crop_affine(pd.affine, start)), out / "pd.nii.gz", dtype="float32")
    t1 = read(shared_data / "medical" / "chris_t1.nii.gz")
    write(
        Volume(t1.data[:, 30:160, 40:200, 40:170], crop_affine(t1.affine, (30, 40, 40))),
        out / "t1.nii.gz",
        dtype="float32",
    )
    return out / "pd.nii.gz", out / "t1.nii.gz"


def _config(hr: Path, ref: Path, out: Path, **train: object) -> dict:
    return {
        "name": "mc",
        "output_dir": str(out),
        "model": {"name": "multicontrast_sr", "preset": "tiny", "scale": 2, "dims": 2},
        "data": {
            "train": {"hr_dir": str(hr), "reference": str(ref)},
            "degradation": "bicubic",
            "normalisation": {"kind": "percentile"},
            "patch_size": 32,
            "batch_size": 4,
            "slice_axis": 2,
        },
        "loss": {"terms": {"mse": {"weight": 1.0}}},
        "optim": {"lr": 1e-3},
        "train": {"max_steps": 3, "checkpoint_every": 3, "progress": "none", "threads": 1, **train},
    }


def test_reference_follows_crops_and_augmentation(pd_pair: tuple[Path, Path], tmp_path: Path):
    """With the HR file as its own reference, every sample's ``ref`` equals its ``hr`` exactly:
    the same crop, flips, rotations and transposes reached both."""
    hr, _ = pd_pair
    cfg = parse_config(_config(hr, hr, tmp_path))
    dm, _, _ = build_datamodule(cfg)
    for i in range(12):
        s = dm.train_set[(0, i)]
        assert s["lr"].shape == (1, 16, 16) and s["ref"].shape == (1, 32, 32)
        assert torch.equal(s["ref"], s["hr"])


def test_reference_is_the_t1_on_the_pd_grid(pd_pair: tuple[Path, Path], tmp_path: Path):
    """The T1 reference is the T1 sampled on the PD grid through both affines (an affine
    intensity map of :func:`resample_onto`'s result), and it shares more information with the PD
    anatomy in place than shifted by 8 voxels."""
    from medsr.interpolate import resample_onto

    hr, ref = pd_pair
    dm, _, _ = build_datamodule(parse_config(_config(hr, ref, tmp_path)))
    src = dm.train_set.inner.sources[0]
    pd, t1 = src.hr[0], src.hr[1]
    assert pd.shape == t1.shape == (64, 64, 6)
    pd_vol = read(hr)
    direct = resample_onto(read(ref), pd_vol.shape, pd_vol.affine).data[0]
    assert np.corrcoef(direct.ravel(), t1.ravel())[0, 1] > 0.99999

    def mutual_information(a: np.ndarray, b: np.ndarray) -> float:
        h, _, _ = np.histogram2d(a.ravel(), b.ravel(), 32)
        h = h / h.sum()
        outer = h.sum(1, keepdims=True) @ h.sum(0, keepdims=True)
        nz = h > 0
        return float((h[nz] * np.log(h[nz] / outer[nz])).sum())

    aligned = mutual_information(pd, t1)
    shifted = mutual_information(pd, np.roll(t1, 8, axis=0))
    assert aligned > 1.5 * shifted, (aligned, shifted)


def test_both_outputs_trained(pd_pair: tuple[Path, Path], tmp_path: Path):
    """The recipe (configs/multicontrast.yaml): Zeng et al.'s loss sums the SSR and MSR errors;
    both are non-zero, both sub-networks change, and the MSR output depends on the reference."""
    hr, ref = pd_pair
    cfg = load_config(
        ROOT / "configs" / "multicontrast.yaml",
        [
            "profile=cpu",
            f"data.train.hr_dir={hr}",
            f"data.train.reference={ref}",
            f"output_dir={tmp_path}",
            "data.batch_size=4",
        ],
    )
    assert list(cfg.loss.terms) == ["mse"] and cfg.model.name == "multicontrast_sr"
    dm, norm, _ = build_datamodule(cfg)
    model = build_model(cfg)
    task = build_task(cfg, model, norm)
    batch = next(iter(dm.train_dataloader()))
    before = {k: v.detach().clone() for k, v in model.state_dict().items()}
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    logged: dict[str, float] = {}
    task.log = lambda name, value, **kw: logged.__setitem__(
        name, float(torch.as_tensor(value).detach())
    )  # type: ignore
    for _ in range(2):
        opt.zero_grad()
        task.training_step(batch, 0).backward()
        opt.step()
    assert logged["train/out0"] > 0 and logged["train/out1"] > 0
    for prefix in ("ssr.", "msr."):
        assert any(
            not torch.equal(before[k], v)
            for k, v in model.state_dict().items()
            if k.startswith(prefix)
        ), prefix
    with torch.no_grad():
        a = model(batch["lr"], batch["ref"])
        b = model(batch["lr"], torch.zeros_like(batch["ref"]))
    assert float((a - b).abs().max()) > 1e-4


def test_reference_refused_with_explicit_pairs_or_one_split(pd_pair, tmp_path: Path):
    hr, ref = pd_pair
    bad = _config(hr, ref, tmp_path)
    bad["data"]["val"] = {"hr_dir": str(hr)}
    with pytest.raises(MedsrError, match="both splits"):
        build_datamodule(parse_config(bad))


def test_slices_and_held_out_slab_cut_image_and_reference_alike(pd_pair, tmp_path: Path):
    """``data.*.slices`` and the automatic hold-out cut the reference with its image: with the
    file as its own reference, every source's reference channel equals its image channel, the
    two splits see disjoint slices, and a short run validates (val/psnr) with previews."""
    hr, _ = pd_pair
    cfg = _config(hr, hr, tmp_path / "sliced")
    cfg["data"]["train"]["slices"] = [0, 4]
    cfg["data"]["val"] = {"hr_dir": str(hr), "reference": str(hr), "slices": [4, 6]}
    dm, _, _ = build_datamodule(parse_config(cfg))
    whole = read(hr).data[0]
    train_src = dm.train_set.inner.sources[0]
    assert train_src.hr.shape == (2, 64, 64, 4)
    assert np.array_equal(train_src.hr[0], train_src.hr[1])
    np.testing.assert_allclose(train_src.hr[0], whole[..., :4], rtol=1e-6)
    assert len(dm.val_set) == 2  # the two held-out slices, each with its own reference
    for k in range(2):
        item = dm.val_set[k]
        assert item["ref"].shape == item["hr"].shape == (1, 64, 64)
        assert torch.equal(item["ref"], item["hr"])
    s = dm.train_set[(0, 0)]
    assert torch.equal(s["ref"], s["hr"])

    auto = _config(hr, hr, tmp_path / "auto")
    auto["data"]["val"] = {"hr_dir": str(hr), "reference": str(hr)}
    auto["data"]["patch_size"] = 16
    with pytest.warns(UserWarning, match="holds out its last 20%"):
        dm, _, _ = build_datamodule(parse_config(auto))
    assert dm.train_set.inner.sources[0].hr.shape[-1] == 5  # the last slice is validation only
    assert len(dm.val_set) == 1


def test_guided_fusion_validates_on_held_out_slices_with_previews(pd_pair, tmp_path: Path):
    """Lin et al.'s guided fusion (ref. [55]) with a held-out validation split: the run logs
    val/psnr beside interpolation, and the TensorBoard preview is made with the guide."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from medsr.train.run import train

    hr, ref = pd_pair
    cfg = load_config(
        ROOT / "configs" / "guided_fusion.yaml",
        [
            "profile=cpu",
            f"data.train={{hr_dir: {hr}, reference: {ref}, slices: [0, 4]}}",
            f"data.val={{hr_dir: {hr}, reference: {ref}, slices: [4, 6]}}",
            f"output_dir={tmp_path}",
            "data.batch_size=2",
            "data.patch_size=32",
            "train.max_steps=2",
            "train.val_every=2",
            "train.checkpoint_every=2",
            "train.threads=1",
            "train.progress=none",
        ],
    )
    run = train(cfg).run_dir
    rows = (run / "logs/version_0/metrics.csv").read_text().splitlines()
    header = rows[0].split(",")
    assert "val/psnr" in header and "val/psnr_interp" in header
    board = EventAccumulator(str(run / "tensorboard/version_0"), size_guidance={"images": 0})
    board.Reload()
    assert "val/preview_0" in board.Tags()["images"]
