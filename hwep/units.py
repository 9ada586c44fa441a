"""Parsing and formatting of values with SPICE magnitude suffixes.

Values are SI floats inside hwep. At the edges (graph attributes, configs, the command
line, imported netlists) a value may also be a string with a SPICE suffix:

    f = 1e-15   p = 1e-12   n = 1e-9   u = 1e-6   m = 1e-3
    k = 1e3     meg = 1e6   g = 1e9    t = 1e12   mil = 25.4e-6

Suffixes are case-insensitive, as in SPICE, so ``"1M"`` is one milli and ``"1F"`` one
femto; ``"1Meg"`` is a million. A unit name may follow the suffix (``"10uF"``,
``"2.2kOhm"``); it is checked against the expected unit when one is given. The
formatter writes exponent notation only (``1e-06``), which no SPICE reader can misread.
"""

from __future__ import annotations

import math
import re

from .errors import InvalidNetworkError

__all__ = ["parse_value", "format_value", "SUFFIXES"]

SUFFIXES = {
    "t": 1e12,
    "g": 1e9,
    "meg": 1e6,
    "k": 1e3,
    "mil": 25.4e-6,
    "m": 1e-3,
    "u": 1e-6,
    "µ": 1e-6,
    "n": 1e-9,
    "p": 1e-12,
    "f": 1e-15,
}

_NUMBER = re.compile(
    r"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"  # the number
    r"\s*([A-Za-zµμΩ][A-Za-z0-9µμΩ/*^]*)?\s*$"  # suffix and unit, e.g. "kOhm", "N/m"
)
_UNIT_NAMES = {
    "f",
    "h",
    "ohm",
    "ω",
    "s",
    "a",
    "v",
    "kg",
    "n/m",
    "n*s/m",
    "n/m^3",
    "a/wb^3",
    "1/v^2",
    "wb",
    "j",
    "hz",
    "n",
    "m",
}


def parse_value(
    value: object, *, what: str = "value", unit: str | None = None
) -> float:
    """Return a finite SI float from a number or a string with a SPICE suffix.

    Parameters
    ----------
    value : float, int or str
        ``1e-6``, ``"1u"``, ``"1uF"``, ``"2.2k"``, ``"1Meg"``.
    what : str
        Names the quantity in error messages, for instance ``"capacitor 'C1' value"``.
    unit : str, optional
        Expected unit symbol (``"F"``, ``"H"``); a trailing unit in the string must
        match it when given.

    Returns
    -------
    float
        The value in SI units.

    Raises
    ------
    InvalidNetworkError
        When the value is not a number, has an unknown suffix, or is not finite.

    Examples
    --------
    >>> parse_value("10u"), parse_value("2.2k"), parse_value("1Meg")
    (1e-05, 2200.0, 1000000.0)
    """
    if isinstance(value, bool):
        raise InvalidNetworkError(f"{what}: {value!r} is not a number")
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        number = _parse_string(value, what=what, unit=unit)
    else:
        try:
            number = float(value)  # numpy scalars
        except (TypeError, ValueError):
            raise InvalidNetworkError(
                f"{what}: {value!r} is not a number or a string such as '10u'"
            ) from None
    if not math.isfinite(number):
        raise InvalidNetworkError(f"{what}: {value!r} is not finite")
    return number


def format_value(value: float) -> str:
    """Write a float so that it reads back exactly and no suffix can be misread.

    Uses ``repr`` of the float in exponent form (``1e-06``, ``2.2e+03``): 17 significant
    digits at most, no SPICE suffix letters at all.

    Examples
    --------
    >>> format_value(1e-6), format_value(2200.0)
    ('1e-06', '2.2e+03')
    """
    value = float(value)
    for ndigits in range(1, 18):
        text = f"{value:.{ndigits - 1}e}"
        if float(text) == value:
            return text
    return f"{value:.16e}"


def _parse_string(text: str, *, what: str, unit: str | None) -> float:
    """Parse ``<number><suffix><unit>`` into an SI float."""
    match = _NUMBER.match(text)
    if match is None:
        raise InvalidNetworkError(
            f"{what}: {text!r} is not a number or a string such as "
            "'10u', '2.2k', '1Meg'"
        )
    mantissa, tail = match.group(1), (match.group(2) or "").replace("μ", "µ")
    lowered = tail.lower()
    if unit == "kg" and lowered == "g":
        raise InvalidNetworkError(
            f"{what}: {text!r} would read as giga (SPICE suffix g); write kilograms, "
            "e.g. 0.5 or '500m'"
        )

    # Longest suffix first, so that 'meg' and 'mil' win over 'm'.
    for suffix in ("meg", "mil", "t", "g", "k", "m", "u", "µ", "n", "p", "f"):
        if lowered.startswith(suffix):
            rest = lowered[len(suffix) :]
            if rest == "" or _is_unit(rest, unit):
                return _scale(mantissa, suffix)
    if lowered == "" or _is_unit(lowered, unit):
        return float(mantissa)
    raise InvalidNetworkError(
        f"{what}: {text!r} has an unknown suffix {tail!r}; "
        "use f p n u m k Meg G T (case-insensitive) or exponent notation"
    )


def _scale(mantissa: str, suffix: str) -> float:
    """Apply a suffix by shifting the decimal exponent, so '10u' is exactly 1e-05."""
    if suffix == "mil":
        return float(mantissa) * SUFFIXES["mil"]
    exponent = round(math.log10(SUFFIXES[suffix]))
    if "e" in mantissa.lower():
        base, _, power = mantissa.lower().partition("e")
        return float(f"{base}e{int(power) + exponent}")
    return float(f"{mantissa}e{exponent}")


def _is_unit(text: str, unit: str | None) -> bool:
    """Whether ``text`` is a unit name (the expected one, when given)."""
    if unit is not None:
        return text == unit.lower() or (unit.lower() == "ohm" and text == "ω")
    return text in _UNIT_NAMES
