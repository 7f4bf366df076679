"""The registry of up-scaling methods and the target grid."""

from __future__ import annotations

import numpy as np
import pytest

from medsr.errors import MedsrError
from medsr.infer.methods import (
    INTERPOLATION_METHODS,
    MethodOptions,
    MethodRegistry,
    TargetGrid,
    available_methods,
    default_method,
    get_method,
)
from medsr.volume import Volume, zoom_grid


def _volume(shape=(6, 5, 4), spacing=(1.0, 1.0, 3.0)) -> Volume:
    affine = np.diag(list(spacing) + [1.0])
    affine[:3, 3] = (10.0, -4.0, 2.5)
    return Volume(np.arange(np.prod(shape), dtype=np.float32).reshape(shape), affine)


def test_target_grid_is_zoom_grid() -> None:
    vol = _volume()
    target = TargetGrid.from_factors(vol, "1,1,3")
    shape, affine = zoom_grid(vol.shape, vol.affine, (1, 1, 3))
    assert target.shape == shape == (6, 5, 12)
    np.testing.assert_array_equal(target.affine, affine)
    by_spacing = TargetGrid.from_spacing(vol, "1,1,1")
    assert by_spacing.shape == target.shape
    np.testing.assert_allclose(by_spacing.affine, target.affine)
    np.testing.assert_allclose(by_spacing.spacing, [1, 1, 1])


def test_interpolations_are_registered_and_default_is_reported() -> None:
    names = available_methods()
    assert set(INTERPOLATION_METHODS) <= set(names)
    assert default_method() == "self"
    assert get_method("cubic").kind == "interpolation"


def test_unknown_method_is_a_one_line_user_error() -> None:
    with pytest.raises(MedsrError, match="unknown method 'magic'") as info:
        get_method("magic")
    assert "\n" not in str(info.value)


def test_self_and_dip_are_registered_without_importing_torch() -> None:
    """The registry lists "self" and "dip" from one explicit place, without importing medsr.selfsr
    (and torch) until they run; "self" is the default."""
    code = (
        "import sys\n"
        "from medsr.infer.methods import available_methods, get_method\n"
        "assert get_method('self').kind == 'self-supervised'\n"
        "assert get_method('dip').kind == 'self-supervised'\n"
        "assert {'self', 'dip'} <= set(available_methods())\n"
        "assert 'medsr.selfsr' not in sys.modules and 'torch' not in sys.modules, "
        "sorted(sys.modules)\n"
    )
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert default_method() == "self"


def test_registry_refuses_a_second_function_under_one_name() -> None:
    registry = MethodRegistry()

    def a(volume, target, options):
        return volume, {}

    def b(volume, target, options):
        return volume, {}

    registry.register("mine", a)
    registry.register("mine", a)  # idempotent
    with pytest.raises(ValueError):
        registry.register("mine", b)


@pytest.mark.parametrize("name", INTERPOLATION_METHODS)
def test_interpolation_lands_on_target_grid(name: str) -> None:
    pytest.importorskip("medsr.interpolate", reason="medsr.interpolate not written yet")
    vol = _volume()
    target = TargetGrid.from_factors(vol, (1, 1, 2.5))
    out, _ = get_method(name).fn(vol, target, MethodOptions())
    assert out.shape == target.shape == (6, 5, 10)
    np.testing.assert_array_equal(out.affine, target.affine)
    assert out.data.dtype == np.float32 and np.isfinite(out.data).all()
    with pytest.raises(MedsrError, match="takes no options"):
        get_method(name).fn(vol, target, MethodOptions(extra={"k": "v"}))


# ---------------------------------------------------------------------- the default of pictures
def test_picture_default_takes_the_shipped_edsr_at_the_factor_or_bspline() -> None:
    """A picture's default: the shipped EDSR at its whole (rounded up) factor, x4 beyond; cubic
    B-spline when its two factors differ or are 1."""
    from medsr.infer.methods import PICTURE_MODEL, picture_default
    from medsr.models.shipped import shipped_weights

    for factors, scale in (((2, 2, 1), 2), ((3, 3, 1), 3), ((2.5, 2.5, 1), 3), ((1.5, 1.5, 1), 2),
                           ((8, 8, 1), 4)):
        weights, what, why = picture_default(factors)
        assert weights == str(shipped_weights(PICTURE_MODEL, scale)), factors
        assert what == f"edsr x{scale} (shipped)" and what in why
    for factors in ((1, 2, 1), (2, 3, 1), (1, 1, 1)):
        weights, what, why = picture_default(factors)
        assert weights is None and what == "bspline" and "B-spline" in why


def test_a_picture_without_a_method_gets_the_shipped_network(shared_data, tmp_path) -> None:
    """``medsr upscale picture.png --factors 2`` (no method) used to fail (self-SR needs a 3D
    scan). Now it runs the shipped EDSR x2: on Set5's butterfly (a test image, never trained on)
    given MATLAB-bicubic x2 down-sampling, it beats cubic B-spline by more than 1.5 dB (Y PSNR,
    the Table-1 protocol), and the sidecar says what ran and why."""
    import json

    from infer_helpers import run
    from PIL import Image

    from medsr.metrics.protocol import table1_evaluate, table1_pair

    image = Image.open(shared_data / "natural" / "CSet5" / "butterfly.png").convert("RGB")
    hr, lr = table1_pair(np.asarray(image), 2)
    Image.fromarray(lr).save(tmp_path / "lr.png")
    scores = {}
    for name, extra in (("default", []), ("bspline", ["--method", "bspline"])):
        out = tmp_path / f"{name}.png"
        assert run(["upscale", tmp_path / "lr.png", "-o", out, "--factors", "2", *extra]) == 0
        sr = np.asarray(Image.open(out).convert("RGB"))
        scores[name] = table1_evaluate(hr, sr, 2)[0]
    side = json.loads((tmp_path / "default.png.json").read_text())
    assert side["method"] == "network" and side["model"]["architecture"] == "edsr"
    assert any("edsr x2 (shipped)" in n for n in side["notes"])
    assert scores["default"] > scores["bspline"] + 1.5, scores


def test_a_cohort_of_pictures_does_not_name_self_sr_as_its_method(tmp_path, capsys) -> None:
    """A folder of pictures runs their default (the shipped network, said in each note); the
    cohort's closing ``method: self (default)`` line appears only when self-SR ran."""
    from infer_helpers import run
    from PIL import Image

    (tmp_path / "in").mkdir()
    (tmp_path / "out").mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (24, 20), dtype=np.uint8)).save(tmp_path / "in" / "a.png")
    assert run(["upscale", tmp_path / "in", "-o", tmp_path / "out", "--factors", "2"]) == 0
    captured = capsys.readouterr()
    assert "(default)" not in captured.err
    assert "edsr x2 (shipped)" in captured.out
