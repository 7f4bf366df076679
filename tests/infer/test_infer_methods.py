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
