"""The bicubic row of the review's Table 1 reproduces the published numbers on Set5 / Set14."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from medsr.bench.table1 import PUBLISHED_BICUBIC, bicubic_baseline, evaluate_method, load_uint8
from medsr.errors import MedsrError

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "natural"
needs_data = pytest.mark.skipif(
    not (DATA / "CSet5").is_dir(), reason=f"benchmark images not found in {DATA}"
)


@needs_data
@pytest.mark.data
@pytest.mark.parametrize("mode", ["y", "rgb"])
@pytest.mark.parametrize("dataset", ["Set5", "Set14"])
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_bicubic_reproduces_published(dataset: str, scale: int, mode: str) -> None:
    result = bicubic_baseline(DATA / f"C{dataset}", scale, mode=mode)
    pub_psnr, pub_ssim = PUBLISHED_BICUBIC[(dataset, scale)]
    assert result.dataset == dataset and len(result.images) == (5 if dataset == "Set5" else 14)
    assert abs(result.psnr - pub_psnr) <= 0.02, (result.psnr, pub_psnr)
    # SSIM: the "y" protocol (SRCNN/VDSR) is the published one: Set5 to the 4th decimal
    tol = 1e-4 if (mode == "y" and dataset == "Set5") else 1e-3
    assert abs(result.ssim - pub_ssim) <= tol, (result.ssim, pub_ssim)


@needs_data
@pytest.mark.data
def test_grey_images_are_scored_on_grey_values() -> None:
    # Set14's bridge.png is a single-channel image, man.png an RGB image of grey pixels
    assert load_uint8(DATA / "CSet14" / "bridge.png").ndim == 2
    assert load_uint8(DATA / "CSet14" / "man.png").shape[2] == 3


def test_evaluate_method_contract(tmp_path: Path) -> None:
    from PIL import Image
    from skimage import data as skdata

    Image.fromarray(skdata.astronaut()[:90, :100]).save(tmp_path / "a.png")
    Image.fromarray(skdata.camera()[:64, :70]).save(tmp_path / "b.png")
    seen: list[tuple[tuple[int, ...], np.dtype]] = []

    def nearest(lr: np.ndarray) -> np.ndarray:
        seen.append((lr.shape, lr.dtype))
        return np.repeat(np.repeat(lr, 2, axis=0), 2, axis=1).astype(np.float64)

    res = evaluate_method(tmp_path, 2, nearest)
    assert seen == [((45, 50, 3), np.dtype(np.uint8)), ((32, 35, 1), np.dtype(np.uint8))]
    bic = bicubic_baseline(tmp_path, 2)
    assert [i.name for i in res.images] == ["a.png", "b.png"]
    assert bic.psnr > res.psnr  # bicubic beats pixel replication
    assert res.as_dict()["images"][0]["name"] == "a.png"
    with pytest.raises(MedsrError, match="expected"):
        evaluate_method(tmp_path, 2, lambda lr: lr)
    with pytest.raises(MedsrError, match="does not exist"):
        evaluate_method(tmp_path / "nope", 2, nearest)


def test_network_upscale_runs_a_saved_model(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from PIL import Image
    from skimage import data as skdata

    from medsr.bench.table1 import network_upscale
    from medsr.models import create_model
    from medsr.models.io import save_weights
    from medsr.runtime import torch_seed

    with torch_seed(0):
        model = create_model("espcn", scale=2, dims=2, in_channels=1)
    weights, _ = save_weights(
        model,
        tmp_path / "net",
        name="espcn",
        normalisation={"kind": "minmax", "params": {"min": 0, "max": 255}},
    )
    images = tmp_path / "imgs"
    images.mkdir()
    Image.fromarray(skdata.astronaut()[:64, :60]).save(images / "a.png")
    fn = network_upscale(weights, 2, mode="y")
    lr = np.random.default_rng(0).uniform(0, 255, (20, 18, 1))
    with torch.no_grad():
        manual = (
            model.eval()(torch.from_numpy(lr[None, ..., 0][None] / 255).float())[0, 0].numpy() * 255
        )
    np.testing.assert_allclose(fn(lr)[..., 0], manual, rtol=1e-4, atol=1e-3)
    res = evaluate_method(images, 2, fn, mode="y")
    assert np.isfinite(res.psnr) and len(res.images) == 1
    with pytest.raises(MedsrError, match="in mode 'y'"):
        network_upscale(weights, 2, mode="rgb")
    with pytest.raises(MedsrError, match="upscales by"):
        network_upscale(weights, 3, mode="y")
