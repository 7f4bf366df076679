"""Budgets and options of self-SR."""

from __future__ import annotations

import pytest

from medsr.errors import MedsrError
from medsr.selfsr.config import Budget, SelfSRConfig, parse_budget


@pytest.mark.parametrize(
    "text, iterations, seconds",
    [
        ("150s", None, 150.0),
        ("2.5m", None, 150.0),
        ("800it", 800, None),
        ("800", 800, None),
        ("800it,90s", 800, 90.0),
        (" 3 min ", None, 180.0),
    ],
)
def test_parse_budget_forms(text: str, iterations: int | None, seconds: float | None) -> None:
    b = parse_budget(text)
    assert b.iterations == iterations
    assert b.seconds == seconds


def test_python_numbers_mean_iterations_or_seconds() -> None:
    assert parse_budget(500) == Budget(iterations=500)
    assert parse_budget(12.5) == Budget(seconds=12.5)


@pytest.mark.parametrize("bad", ["", "fast", "10x", "1.5it", "-3s", "0it"])
def test_bad_budgets_raise_user_errors(bad: str) -> None:
    with pytest.raises(MedsrError):
        parse_budget(bad)


def test_fraction_takes_the_further_of_iterations_and_time() -> None:
    b = Budget(iterations=100, seconds=10.0)
    assert b.fraction(50, 1.0) == pytest.approx(0.5)
    assert b.fraction(10, 8.0) == pytest.approx(0.8)
    assert b.fraction(200, 0.0) == 1.0


def test_config_validates() -> None:
    assert SelfSRConfig(budget="40it").budget == Budget(iterations=40)
    with pytest.raises(MedsrError):
        SelfSRConfig(orientations=3)
    with pytest.raises(MedsrError):
        SelfSRConfig(anti_alias="maybe")


def test_inference_ensemble_and_patch_sampling_options() -> None:
    """Issue 13 options: flip self-ensemble (off by default unless measured better) and the
    training-patch weighting; a wrong value is refused with the option's name."""
    config = SelfSRConfig(ensemble=True, sampling="residual")
    assert config.ensemble is True and config.sampling == "residual"
    with pytest.raises(MedsrError, match="sampling"):
        SelfSRConfig(sampling="edges")
