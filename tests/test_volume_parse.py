"""The one parser of factors, spacings, scales and window sizes
(medsr.volume.parse_numbers/triple)."""

from __future__ import annotations

import numpy as np
import pytest

from medsr.errors import MedsrError, OptionError
from medsr.volume import (
    MAX_FACTOR,
    TargetGrid,
    Volume,
    parse_numbers,
    parse_triple,
    snap_factors,
    zoom_grid,
)


@pytest.mark.parametrize(
    "value,expected",
    [
        ("2", (2.0,)),
        ("1,1,4", (1.0, 1.0, 4.0)),
        ("1x1x4", (1.0, 1.0, 4.0)),
        ("1X2", (1.0, 2.0)),
        (" 2.5 , 3 ", (2.5, 3.0)),
        (3, (3.0,)),
        (np.float32(1.5), (1.5,)),
        ((1, 2, 4), (1.0, 2.0, 4.0)),
        (np.array([2.0, 2.0]), (2.0, 2.0)),
    ],
)
def test_parse_numbers_reads_text_numbers_and_sequences(value, expected):
    assert parse_numbers(value, "factors") == expected


@pytest.mark.parametrize(
    "value,phrase",
    [
        ("abc", "numbers like 1,1,4"),
        ("", "numbers like 1,1,4"),
        ([1, "a"], "numbers like 1,1,4"),
        (None, "numbers like 1,1,4"),
        ("0", "positive and finite"),
        ("-2", "positive and finite"),
        ("nan", "positive and finite"),
        ("inf", "positive and finite"),
        ([2.0, float("inf")], "positive and finite"),
        ("1e308", "above 64"),
        ("65", "above 64"),
    ],
)
def test_parse_numbers_rejects_with_one_line(value, phrase):
    with pytest.raises(OptionError, match=phrase) as info:
        parse_numbers(value, "factors", maximum=MAX_FACTOR)
    message = str(info.value)
    assert "\n" not in message and message.startswith("factors ")
    assert "--" not in message  # the library names the parameter, never a flag
    assert info.value.as_flag().startswith("--factors ")  # the CLI shows the flag


def test_maximum_is_inclusive_and_optional():
    assert parse_numbers("64", "factors", maximum=MAX_FACTOR) == (64.0,)
    assert parse_numbers("1000", "spacing") == (1000.0,)  # spacings have no cap


def test_integer_mode_returns_ints_and_refuses_fractions():
    assert parse_numbers("64,64,32", "tile", integer=True) == (64, 64, 32)
    assert parse_numbers(2.0000001, "scale", integer=True) == (2,)
    assert all(isinstance(v, int) for v in parse_triple("16", 3, "tile", integer=True))
    for bad in ("2.5", "1e-9"):
        with pytest.raises(OptionError, match="whole numbers"):
            parse_numbers(bad, "tile", integer=True)


def test_parse_triple_broadcasts_and_fills():
    assert parse_triple("2") == (2.0, 2.0, 2.0)
    assert parse_triple("2", 2, "factors") == (2.0, 2.0)
    assert parse_triple("3,4", 3, "factors", fill=1.0) == (3.0, 4.0, 1.0)
    assert parse_triple("3,4,5", 3, "factors", fill=1.0) == (3.0, 4.0, 5.0)
    with pytest.raises(OptionError, match="needs 1 or 3 numbers"):
        parse_triple("3,4", 3, "factors")
    with pytest.raises(OptionError, match="needs 1 or 3 numbers"):
        parse_triple("1,1,1,2", 3, "factors", fill=1.0)


def test_non_parameter_names_give_a_plain_error():
    with pytest.raises(MedsrError) as info:
        parse_triple("1,2", 3, "model.scale")
    assert not isinstance(info.value, OptionError)
    assert str(info.value).startswith("model.scale needs 1 or 3 numbers")


def test_braces_in_user_text_survive_the_flag_template():
    with pytest.raises(OptionError) as info:
        parse_numbers("{tile}", "factors")
    assert "'{tile}'" in str(info.value) and "'{tile}'" in info.value.as_flag()


def test_snap_factors():
    assert snap_factors((2.0000001, 2.4 / 1.0000001, 3.99999)) == (2.0, 2.4 / 1.0000001, 4.0)
    assert snap_factors((1.5,)) == (1.5,)


def test_zoom_grid_refuses_overflowing_factors():
    with pytest.raises(MedsrError, match="too many voxels"):
        zoom_grid((10, 10, 10), np.eye(4), (1.0, 1.0, 1e20))
    vol = Volume(np.zeros((1, 4, 4, 4), np.float32), np.eye(4))
    with pytest.raises(MedsrError, match="above 64"):
        TargetGrid.from_factors(vol, "1e308")
