"""Vibration shaping: drive a spring chain, reach target amplitudes at chosen masses.

One force tone (or several) at the input masses; the cost compares the vibration
amplitudes |X| at the output masses with targets, phases free
(``hwep.costs.AmplitudeCost``). Works for any network; it is meant for spring–mass
chains, where the masses and spring constants are trained.

Config keys of ``[task]`` (kind = "vibration"):

    frequencies    drive frequencies, Hz (a list, or {start, stop, count})
    force          force amplitude at each input, N (A); default 1
    amplitudes     target amplitudes, m (Wb) or m/s (V): one row per frequency, one
                   column per output
    observable     "displacement" (default) or "velocity"
"""

from __future__ import annotations

import numpy as np

from ..backends import Drive
from ..costs import AmplitudeCost
from ..errors import ConfigError
from ..network import Network
from ..units import parse_value
from . import Task, register_task
from ._common import check_keys, read_frequencies

__all__ = ["vibration_task"]

_KEYS = {"frequencies", "force", "amplitudes", "observable"}


@register_task("vibration")
def vibration_task(table: dict, network: Network, rng: np.random.Generator) -> Task:
    """Build a vibration task from a ``[task]`` table (see the module docstring).

    Raises
    ------
    ConfigError
        For unknown keys, or targets that do not match frequencies and outputs.
    """
    check_keys(table, _KEYS, "vibration")
    frequencies = read_frequencies(table.get("frequencies", [1.0]))
    force = parse_value(table.get("force", 1.0), what="task force")
    n_inputs, n_outputs = len(network.inputs), len(network.outputs)
    drive = Drive(
        2 * np.pi * frequencies, np.full((1, frequencies.size, n_inputs), force)
    )

    if "amplitudes" not in table:
        raise ConfigError(
            "config [task]: vibration needs 'amplitudes' (one row per frequency)"
        )
    target = np.array(
        [
            [parse_value(a, what="target amplitude") for a in row]
            for row in table["amplitudes"]
        ]
    )
    if target.shape != (frequencies.size, n_outputs) or np.any(target < 0):
        raise ConfigError(
            f"config [task] amplitudes must be {frequencies.size} row(s) of "
            f"{n_outputs} non-negative value(s) (frequencies x outputs), "
            f"got {target.tolist()}"
        )
    cost = AmplitudeCost(
        target[None],
        weight=1.0 / max(np.mean(target**2), 1e-300),
        observable=table.get("observable", "displacement"),
    )
    return Task(
        name="vibration",
        network=network,
        drive=drive,
        cost=cost,
        train=np.array([0]),
        test=np.array([], dtype=int),
        info={"frequencies_hz": frequencies.tolist(), "amplitudes": target.tolist()},
    )
