"""parse_degradation: the text grammar of `medsr degrade --method`."""

from __future__ import annotations

import numpy as np
import pytest

from medsr.degrade import (
    BicubicDown,
    BlurDown,
    GaussianNoise,
    KSpaceTruncation,
    Pipeline,
    PoissonNoise,
    RicianNoise,
    ThickSlice,
    parse_degradation,
)
from medsr.errors import MedsrError


def test_resolution_stages():
    op = parse_degradation("bicubic", "2")
    assert isinstance(op, BicubicDown) and op.factors == (2.0, 2.0, 2.0)
    op = parse_degradation("bd:sigma=1.2,truncate=3", (3, 3, 1))
    assert isinstance(op, BlurDown) and op.sigma == 1.2 and op.truncate == 3.0
    assert parse_degradation("blur", 3).sigma is None
    assert parse_degradation("bd:2.0", 3).sigma == 2.0  # bare value = main parameter
    op = parse_degradation("kspace:window=hamming", "1,2,2")
    assert isinstance(op, KSpaceTruncation) and op.window == "hamming" and op.output == "real"
    op = parse_degradation("fft:tukey,alpha=0.25,output=magnitude", 2)
    assert (op.window, op.alpha, op.output) == ("tukey", 0.25, "magnitude")
    op = parse_degradation("bi:kernel=lanczos3,antialias=false", 2)
    assert op.kernel == "lanczos3" and op.antialias is False


def test_thick_axis_from_factors_or_option():
    op = parse_degradation("thick", "1,1,4")
    assert isinstance(op, ThickSlice) and (op.axis, op.factor, op.profile) == (2, 4.0, "gaussian")
    op = parse_degradation("thick:axis=2,profile=gaussian,gap=0.5", 4)
    assert (op.axis, op.factor, op.gap, op.thickness) == (2, 4.0, 0.5, 3.5)
    op = parse_degradation("slice:rect,fwhm=2", "3,1,1")
    assert (op.axis, op.profile, op.thickness) == (0, "rect", 2.0)
    assert parse_degradation("thick", 3).axis == 2  # isotropic factor: axis 2
    with pytest.raises(MedsrError, match="one axis"):
        parse_degradation("thick", "2,1,4")
    with pytest.raises(MedsrError, match="other axes"):
        parse_degradation("thick:axis=0", "2,1,4")


def test_profile_file(tmp_path):
    path = tmp_path / "profile.txt"
    np.savetxt(path, [0.25, 1.0, 1.0, 0.25])
    op = parse_degradation(f"thick:profile={path}", "1,1,3")
    np.testing.assert_array_equal(op.profile, [0.25, 1.0, 1.0, 0.25])
    with pytest.raises(MedsrError, match="not a file"):
        parse_degradation(f"thick:profile={tmp_path / 'missing.txt'}", "1,1,3")
    bad = tmp_path / "bad.txt"
    bad.write_text("a b\n")
    with pytest.raises(MedsrError, match="cannot read"):
        parse_degradation(f"thick:profile={bad}", "1,1,3")


def test_noise_stages_and_pipelines():
    op = parse_degradation("bicubic+rician:0.02", 2)
    assert isinstance(op, Pipeline)
    assert isinstance(op.stages[0], BicubicDown) and isinstance(op.stages[1], RicianNoise)
    assert op.stages[1].sigma == 0.02 and op.stages[1].relative
    op = parse_degradation("gaussian:sigma=3,relative=false", 1)
    assert isinstance(op, GaussianNoise) and not op.relative and op.sigma == 3.0
    op = parse_degradation("kspace + poisson:1e5,model=ct,path=150", 2)
    assert isinstance(op.stages[1], PoissonNoise)
    assert (op.stages[1].counts, op.stages[1].model, op.stages[1].path_mm) == (1e5, "ct", 150.0)


@pytest.mark.parametrize(
    "spec,factors,message",
    [
        ("", 2, "empty"),
        ("bilinear", 2, "unknown degradation"),
        ("bd:radius=3", 2, "unknown option"),
        ("bd:sigma=wide", 2, "number"),
        ("kspace:window=hann", 2, "one of"),
        ("bicubic:antialias=maybe", 2, "true or false"),
        ("bicubic+bd", 2, "resolution stages"),
        ("rician:0.02", 2, "only adds noise"),
        ("rician", 1, "needs a level"),
        ("poisson", 1, "photon count"),
        ("bicubic", "1,1,0", "positive"),
        ("bd:1.6,2.0", 2, "key=value"),
    ],
)
def test_errors_are_one_line(spec, factors, message):
    with pytest.raises(MedsrError, match=message) as info:
        parse_degradation(spec, factors)
    assert "\n" not in str(info.value)
