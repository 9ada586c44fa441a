"""Value parsing with SPICE suffixes, and exact formatting."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hwep.errors import InvalidNetworkError
from hwep.units import format_value, parse_value


@pytest.mark.parametrize(
    "text, value",
    [
        ("10u", 1e-5),
        ("2.2k", 2200.0),
        ("1Meg", 1e6),
        ("1MEG", 1e6),
        ("1M", 1e-3),  # SPICE: M is milli
        ("1F", 1e-15),  # SPICE: F is femto
        ("1uF", 1e-6),
        ("4.7nH", 4.7e-9),
        ("2.2kOhm", 2200.0),
        ("1.5e3k", 1.5e6),
        ("100p", 1e-10),
        ("3", 3.0),
        (" 5m ", 5e-3),
        (2.5, 2.5),
        (np.float64(1e-3), 1e-3),
    ],
)
def test_parse_value_suffixes(text, value):
    assert parse_value(text) == value


def test_parse_value_checks_expected_unit():
    assert parse_value("10H", unit="H") == 10.0
    with pytest.raises(InvalidNetworkError, match="unknown suffix 'uH'"):
        parse_value("10uH", unit="F")


@pytest.mark.parametrize(
    "bad, message",
    [
        ("abc", "is not a number"),
        ("1x", "unknown suffix 'x'"),
        ("", "is not a number"),
        (True, "is not a number"),
        (float("nan"), "is not finite"),
        ("inf", "is not a number"),
        ([1], "is not a number"),
    ],
)
def test_parse_value_rejects(bad, message):
    with pytest.raises(InvalidNetworkError, match=message):
        parse_value(bad, what="capacitor 'C1' value")


def test_error_names_the_quantity():
    with pytest.raises(InvalidNetworkError, match="^capacitor 'C1' value: 'abc'"):
        parse_value("abc", what="capacitor 'C1' value")


@given(st.floats(min_value=1e-300, max_value=1e300, allow_nan=False))
def test_format_value_round_trips_exactly(value):
    text = format_value(value)
    assert float(text) == value
    assert parse_value(text) == value
    assert not any(letter in text.lower() for letter in "mfunpkgt")


def test_format_value_is_short():
    assert format_value(1e-6) == "1e-06"
    assert format_value(2200.0) == "2.2e+03"


def test_unit_names_and_micro_signs():
    assert parse_value("100N/m") == 100.0
    assert parse_value("10μF") == parse_value("10µF") == 1e-5
    assert parse_value("3N*s/m") == 3.0
    with pytest.raises(InvalidNetworkError, match="would read as giga"):
        parse_value("500g", unit="kg")
