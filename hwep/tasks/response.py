"""Frequency-response fitting: make a network's response match a target.

The network is driven at its input port by a multi-tone current (one harmonic per
sampled frequency, amplitude ``drive``) and observed at its output port. With the
output on the input node and a voltage observable, the response is the driving-point
impedance Z(s) = V/I. The target is either given or computed from the same network with
known ``reference`` values, so the answer is known and the fit can be scored.

With ``sigma`` > 0 both are evaluated at s = σ + iω: the response of the network with
series R = σL on every inductor and shunt G = σC on every capacitor. Resonances then
have a width σ and the cost landscape is smoother. Plain EP is biased by that loss;
use gradient mode "reciprocal" (exact) for such fits.

Config keys of ``[task]`` (kind = "response"):

    frequencies    list of Hz, or {start, stop, count, spacing = "log" | "linear"}
    reference      {element name = value}: the known network; every trainable
                   element must be given
    target         or explicit target response, [[re, im], ...] per frequency
    drive          drive current (force) amplitude, A (N); default 1
    observable     "voltage" (default) or "flux"
    sigma          uniform loss σ, 1/s; default 0
    weight         "relative" (default; each frequency weighs 1/|target|²) or "absolute"
"""

from __future__ import annotations

import numpy as np

from ..backends import Drive, PhasorBackend
from ..costs import QuadraticCost
from ..errors import ConfigError, DataError
from ..network import Network
from ..units import parse_value
from . import Task, register_task
from ._common import check_keys, read_frequencies

__all__ = ["response_task", "reference_values"]

_KEYS = {"frequencies", "reference", "target", "drive", "observable", "sigma", "weight"}


@register_task("response")
def response_task(table: dict, network: Network, rng: np.random.Generator) -> Task:
    """Build a response-fitting task from a ``[task]`` table (see the module docstring).

    Raises
    ------
    ConfigError
        For unknown keys, no target, or a reference that misses a trainable element.
    """
    check_keys(table, _KEYS, "response")
    if len(network.inputs) != 1 or len(network.outputs) != 1:
        raise DataError(
            f"response task needs one input and one output port; network "
            f"{network.name!r} has {len(network.inputs)} and {len(network.outputs)}"
        )
    frequencies = read_frequencies(table.get("frequencies", {"start": 1, "stop": 1e3}))
    amplitude = parse_value(table.get("drive", 1.0), what="task drive")
    sigma = parse_value(table.get("sigma", 0.0), what="task sigma")
    observable = table.get("observable", "voltage")
    drive = Drive(
        2 * np.pi * frequencies, np.full((1, frequencies.size, 1), amplitude), sigma
    )

    # Target: explicit, or the response of the known network.
    info = {"frequencies_hz": frequencies.tolist(), "sigma": sigma}
    if "reference" in table:
        answer = reference_values(network, table["reference"])
        probe = QuadraticCost(np.zeros((1, frequencies.size, 1)), observable=observable)
        outputs = PhasorBackend(network.with_values(answer)).run(drive).outputs
        target = probe.observe(outputs, drive)
        info["answer"] = answer.tolist()
    elif "target" in table:
        pairs = np.asarray(table["target"], dtype=float)
        if pairs.shape != (frequencies.size, 2):
            raise ConfigError(
                f"config [task] target must be {frequencies.size} pairs [re, im], "
                f"got shape {pairs.shape}"
            )
        target = (pairs[:, 0] + 1j * pairs[:, 1]).reshape(1, -1, 1)
    else:
        raise ConfigError("config [task]: response needs 'reference' or 'target'")

    weight = table.get("weight", "relative")
    if weight not in ("relative", "absolute"):
        raise ConfigError(
            f"config [task] weight {weight!r}: use 'relative' or 'absolute'"
        )
    w = 1.0 / np.maximum(np.abs(target) ** 2, 1e-300) if weight == "relative" else 1.0
    cost = QuadraticCost(target, weight=w, observable=observable)
    info["target"] = [[float(z.real), float(z.imag)] for z in target[0, :, 0]]
    return Task(
        name="response",
        network=network,
        drive=drive,
        cost=cost,
        train=np.array([0]),
        test=np.array([], dtype=int),
        info=info,
    )


def reference_values(network: Network, reference: dict) -> np.ndarray:
    """Parameter vector from {element name: value}; every trainable value must appear.

    Raises
    ------
    ConfigError
        When a name is not an element, or a trainable parameter is missing.
    """
    if not isinstance(reference, dict):
        raise ConfigError("config [task] reference must be a table {element = value}")
    labels = {p.label: i for i, p in enumerate(network.parameters)}
    values = network.values()
    for name, value in reference.items():
        if name not in labels:
            raise ConfigError(
                f"config [task] reference: {name!r} is not a trainable parameter of "
                f"{network.name!r}; parameters: {sorted(labels)}"
            )
        values[labels[name]] = parse_value(value, what=f"reference {name}")
    missing = sorted(set(labels) - set(reference))
    if missing:
        raise ConfigError(f"config [task] reference: missing value(s) for {missing}")
    return values
