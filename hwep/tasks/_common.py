"""Helpers shared by the task builders: key checks and frequency lists."""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from ..units import parse_value

__all__ = ["check_keys", "read_frequencies"]


def check_keys(table: dict, allowed: set[str], kind: str) -> None:
    """Raise ConfigError for keys of ``[task]`` that ``kind`` does not know."""
    unknown = sorted(set(table) - allowed - {"_dir"})
    if unknown:
        raise ConfigError(
            f"config [task]: unknown key(s) {unknown} for {kind}; "
            f"valid: {sorted(allowed)}"
        )


def read_frequencies(spec: object) -> np.ndarray:
    """Frequencies in Hz from a list, or a table {start, stop, count, spacing}.

    ``spacing`` is "log" (default) or "linear". Frequencies must be positive and
    distinct.
    """
    if isinstance(spec, dict):
        unknown = sorted(set(spec) - {"start", "stop", "count", "spacing"})
        if unknown:
            raise ConfigError(f"config [task] frequencies: unknown key(s) {unknown}")
        start = parse_value(spec.get("start"), what="frequencies start")
        stop = parse_value(spec.get("stop"), what="frequencies stop")
        count = int(spec.get("count", 16))
        spacing = spec.get("spacing", "log")
        if not 0 < start < stop or count < 1:
            raise ConfigError(
                f"config [task] frequencies: need 0 < start < stop and count >= 1, got "
                f"start={start:g}, stop={stop:g}, count={count}"
            )
        if spacing == "log":
            frequencies = np.geomspace(start, stop, count)
        elif spacing == "linear":
            frequencies = np.linspace(start, stop, count)
        else:
            raise ConfigError(f"frequencies spacing {spacing!r}: use 'log' or 'linear'")
    else:
        items = spec if isinstance(spec, (list, tuple)) else [spec]
        frequencies = np.array([parse_value(f, what="task frequency") for f in items])
    if np.any(frequencies <= 0) or len(set(frequencies.tolist())) != frequencies.size:
        raise ConfigError(
            f"task frequencies must be positive and distinct: {frequencies}"
        )
    return frequencies
