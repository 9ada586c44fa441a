r"""Time-domain tasks of the trajectory backends: waveforms, XOR, waypoints, states.

Four ``[task] kind``s, each with the backend it was designed for:

    waveform      periodic   map a tone to a target output waveform that holds
                             harmonics of the drive (a frequency multiplier)
    xor           periodic   XOR of two drive amplitudes, read as the output's
                             second harmonic by a lock-in
    waypoints     boundary   pass target output values at given times between
                             fixed end states
    target_state  echo       from rest, bring the output to a target trajectory
                             at the end of the horizon

Targets of ``waveform``, ``waypoints`` and ``target_state`` come from a teacher: the
task's network with its trainable values multiplied by exp(s·N(0, 1)), s the
``teacher_spread``. The target is then reachable by construction, and it holds what
the network's nonlinearity makes: a linear network driven by one tone answers with
that tone alone, so its error on ``waveform`` can never drop below the target's
harmonic content (``info["linear_floor"]``). Costs are divided by the target's mean
power, so that J is half the relative mean-square error whatever the units.

Lossless nonlinear steady states have narrow superharmonic resonances wherever a
harmonic of the drive meets a mode, and Newton reports each as a fold. The periodic
tasks therefore drive well below the lowest mode and sample the period with few enough
points (``n_steps``) that every harmonic of the grid stays below it.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from ..network import Network
from ..system import System
from ..timedomain import LockInClassCost, TimeDrive, TrajectoryCost
from ..trajectory import BoundaryBackend, EchoBackend, PeriodicBackend
from ..units import parse_value
from . import Task, register_task
from ._common import check_keys

__all__ = ["waveform_task", "xor_task", "waypoints_task", "target_state_task"]


@register_task("waveform")
def waveform_task(table: dict, network: Network, rng: np.random.Generator) -> Task:
    """Map a tone to a teacher's output waveform, harmonics included.

    Keys of ``[task]``: ``amplitudes`` (drive amplitude of each sample, A or N;
    default [0.5, 0.75, 1.0]), ``drive_fraction`` (drive frequency over the lowest
    mode's; default 0.1) or ``frequency`` (Hz), ``n_steps`` (points per period;
    default: as many as keep every grid harmonic below the lowest mode, at most 64),
    ``teacher_spread`` (default 0.2), ``observable`` (default "flux"),
    ``test_fraction`` (default 0).
    """
    check_keys(
        table,
        {
            "amplitudes",
            "drive_fraction",
            "frequency",
            "n_steps",
            "teacher_spread",
            "observable",
            "test_fraction",
        },
        "waveform",
    )
    _need_nonlinear(network, "waveform")
    amplitudes = _values(table.get("amplitudes", [0.5, 0.75, 1.0]), "amplitudes")
    omega, n_steps = _periodic_grid(table, network, default_fraction=0.1)

    # Every input port carries the sample's tone.
    n_inputs = len(network.inputs)
    phasors = np.repeat(amplitudes[:, None, None], n_inputs, axis=2).astype(complex)
    drive = TimeDrive.from_harmonics(2 * np.pi / omega, n_steps, [omega], phasors)

    # The teacher's outputs are the targets; the harmonics beyond the drive's are the
    # part no linear network can produce.
    teacher = _teacher(network, table, rng)
    target = PeriodicBackend(teacher, continuation_steps=4).run(drive).outputs
    observable = table.get("observable", "flux")
    cost = TrajectoryCost(target, observable=observable)
    target_y = cost.observe(target, drive)
    floor = _linear_floor(cost, target_y, drive.times, omega)
    cost = TrajectoryCost(target, _normalized(cost, target_y), observable=observable)
    train, test = _split(len(amplitudes), table, rng)
    return Task(
        name="waveform",
        network=network,
        drive=drive,
        cost=cost,
        train=train,
        test=test,
        backend="periodic",
        info={
            "frequency_hz": omega / (2 * np.pi),
            "n_steps": n_steps,
            "amplitudes": amplitudes.tolist(),
            "teacher_values": teacher.values().tolist(),
            "linear_floor": floor.tolist(),
            "times": drive.times,
        },
    )


@register_task("xor")
def xor_task(table: dict, network: Network, rng: np.random.Generator) -> Task:
    """XOR of two drive amplitudes, read at the output's second harmonic.

    The first two input ports carry tones a_i cos ωt with a_i = ±``amplitude`` for the
    bits 0 and 1; the third carries a constant ``bias`` force, which turns symmetric
    (odd-force) nonlinearities into a quadratic one. The output's component at 2ω is
    then about c (g₁a₁ + g₂a₂)², large for equal bits and small for different ones. A
    lock-in reads that component; the templates are ``template_ratio`` times the
    initial network's largest reading (with its sign: a lossless response is locked in
    phase, and reversing it would need a mode to cross 2ω) for XOR = 0, and zero for
    XOR = 1.

    A linear network answers a tone at ω and a constant force with ω and DC only: its
    2ω reading is zero for every sample, so it classifies at most half of the points.

    Keys of ``[task]``: ``amplitude`` (A or N; default 3), ``bias`` (default 10),
    ``drive_fraction`` (default 0.2) or ``frequency`` (Hz), ``n_steps`` (default 32),
    ``template_ratio`` (default 3).
    """
    check_keys(
        table,
        {
            "amplitude",
            "bias",
            "drive_fraction",
            "frequency",
            "n_steps",
            "template_ratio",
        },
        "xor",
    )
    if len(network.inputs) != 3 or len(network.outputs) != 1:
        raise ConfigError(
            "task 'xor' needs three input ports (two bits and the bias) and one "
            f"output; network {network.name!r} has inputs {list(network.inputs)} and "
            f"outputs {list(network.outputs)}"
        )
    _need_nonlinear(network, "xor")
    amplitude = parse_value(table.get("amplitude", 3.0), what="xor amplitude")
    bias = parse_value(table.get("bias", 10.0), what="xor bias")
    omega, _ = _periodic_grid(table, network, default_fraction=0.2)
    n_steps = int(table.get("n_steps", 32))

    # The four points, their tones, and the bias force on the third input.
    bits = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    labels = bits[:, 0] ^ bits[:, 1]
    phasors = np.zeros((4, 1, 3), dtype=complex)
    phasors[:, 0, :2] = amplitude * (2 * bits - 1)
    offset = np.zeros((4, 3))
    offset[:, 2] = bias
    drive = TimeDrive.from_harmonics(
        2 * np.pi / omega, n_steps, [omega], phasors, offset=offset
    )

    # Templates from the initial network's own 2ω reading.
    reference = 2.0 * np.cos(2 * omega * drive.times)[None]
    probe = LockInClassCost(reference, np.zeros((2, 1, 1)), labels)
    outputs = PeriodicBackend(network, continuation_steps=4).run(drive).outputs
    reading = probe.amplitudes(outputs)[:, 0, 0]
    level = float(table.get("template_ratio", 3.0)) * reading[np.argmax(abs(reading))]
    templates = np.array([[[level]], [[0.0]]])
    cost = LockInClassCost(reference, templates, labels, weight=1.0 / level**2)
    everything = np.arange(4)
    return Task(
        name="xor",
        network=network,
        drive=drive,
        cost=cost,
        train=everything,
        test=everything,
        backend="periodic",
        classes=["xor=0", "xor=1"],
        info={
            "frequency_hz": omega / (2 * np.pi),
            "bits": bits.tolist(),
            "templates": templates[:, 0, 0].tolist(),
            "initial_reading": reading.tolist(),
            "times": drive.times,
        },
    )


@register_task("waypoints")
def waypoints_task(table: dict, network: Network, rng: np.random.Generator) -> Task:
    """Pass a teacher's output values at given times, between rest at both ends.

    Each sample drives the inputs with a half-sine pulse a sin(π t / T). The end states
    are rest (zero) at t = 0 and t = T; the cost weighs the output only at the
    waypoints.

    Keys of ``[task]``: ``amplitudes`` (A or N; default [0.5, 1.0]), ``horizon`` (s;
    default 0.6 π / ω_max, below the first conjugate time), ``n_steps`` (default 32),
    ``waypoints`` (fractions of the horizon; default [0.25, 0.5, 0.75]),
    ``teacher_spread`` (default 0.2).
    """
    check_keys(
        table,
        {"amplitudes", "horizon", "n_steps", "waypoints", "teacher_spread"},
        "waypoints",
    )
    amplitudes = _values(table.get("amplitudes", [0.5, 1.0]), "amplitudes")
    omega_max = _modes(network).max()
    horizon = parse_value(
        table.get("horizon", 0.6 * np.pi / omega_max), what="waypoints horizon"
    )
    n_steps = int(table.get("n_steps", 32))

    # Half-sine pulses between rest and rest; the cost looks at the waypoints only.
    times = np.arange(n_steps + 1) * horizon / n_steps
    pulse = np.sin(np.pi * times / horizon)
    force = amplitudes[:, None, None] * pulse[None, :, None]
    force = np.repeat(force, len(network.inputs), axis=2)
    drive = TimeDrive(horizon, force, periodic=False)
    fractions = _values(table.get("waypoints", [0.25, 0.5, 0.75]), "waypoints")
    if np.any((fractions <= 0) | (fractions >= 1)):
        raise ConfigError(
            f"task 'waypoints': waypoints {fractions.tolist()} must lie strictly "
            "between 0 and 1 (fractions of the horizon)"
        )
    index = np.unique(np.round(fractions * n_steps).astype(int))
    weight = np.zeros((len(amplitudes), n_steps + 1, len(network.outputs)))
    weight[:, index] = 1.0

    teacher = _teacher(network, table, rng)
    target = BoundaryBackend(teacher, continuation_steps=4).run(drive).outputs
    cost = TrajectoryCost(target, weight, periodic=False)
    cost = TrajectoryCost(target, _normalized(cost, target), periodic=False)
    return Task(
        name="waypoints",
        network=network,
        drive=drive,
        cost=cost,
        train=np.arange(len(amplitudes)),
        test=np.arange(len(amplitudes)),
        backend="boundary",
        info={
            "horizon_s": horizon,
            "waypoint_times": (index * horizon / n_steps).tolist(),
            "teacher_values": teacher.values().tolist(),
            "times": drive.times,
        },
    )


@register_task("target_state")
def target_state_task(table: dict, network: Network, rng: np.random.Generator) -> Task:
    """From rest, reach a teacher's output trajectory at the end of the horizon.

    Each sample drives the inputs with a tone a sin(ωt) from rest; the cost weighs the
    output over the last ``window`` of the horizon: a state to reach, and hold, at
    time T. Designed for the ``echo`` backend (lossless initial-value runs, exact EP).

    Keys of ``[task]``: ``amplitudes`` (A or N; default [0.5, 1.0]), ``periods``
    (horizon in periods of the lowest mode; default 3), ``drive_fraction`` (tone over
    the lowest mode; default 0.7), ``n_steps`` (default 300), ``window`` (default
    0.15), ``teacher_spread`` (default 0.2).
    """
    check_keys(
        table,
        {
            "amplitudes",
            "periods",
            "drive_fraction",
            "n_steps",
            "window",
            "teacher_spread",
        },
        "target_state",
    )
    amplitudes = _values(table.get("amplitudes", [0.5, 1.0]), "amplitudes")
    omega_1 = _modes(network).min()
    horizon = float(table.get("periods", 3.0)) * 2 * np.pi / omega_1
    omega = float(table.get("drive_fraction", 0.7)) * omega_1
    n_steps = int(table.get("n_steps", 300))

    # Tones from rest; the cost window at the end of the horizon.
    times = np.arange(n_steps + 1) * horizon / n_steps
    force = amplitudes[:, None, None] * np.sin(omega * times)[None, :, None]
    force = np.repeat(force, len(network.inputs), axis=2)
    drive = TimeDrive(horizon, force, periodic=False)
    window = float(table.get("window", 0.15))
    if not 0 < window < 1:
        raise ConfigError(f"task 'target_state': window {window!r} must be in (0, 1)")
    weight = np.zeros((len(amplitudes), n_steps + 1, len(network.outputs)))
    weight[:, times >= (1 - window) * horizon] = 1.0

    teacher = _teacher(network, table, rng)
    target = EchoBackend(teacher).run(drive).outputs
    cost = TrajectoryCost(target, weight, periodic=False)
    cost = TrajectoryCost(target, _normalized(cost, target), periodic=False)
    return Task(
        name="target_state",
        network=network,
        drive=drive,
        cost=cost,
        train=np.arange(len(amplitudes)),
        test=np.arange(len(amplitudes)),
        backend="echo",
        info={
            "horizon_s": horizon,
            "frequency_hz": omega / (2 * np.pi),
            "window_s": window * horizon,
            "teacher_values": teacher.values().tolist(),
            "times": drive.times,
        },
    )


def _normalized(cost: TrajectoryCost, target_y: np.ndarray) -> np.ndarray:
    """The cost's weights divided by the target's weighted mean power.

    J is then half the relative mean-square error, of order one whatever the units
    (a flux in Wb² would otherwise be ~1e-20, below any optimizer's epsilon).
    """
    weights = cost.quadrature()[None, :, None] * cost.weight
    power = np.sum(weights * target_y**2) / max(np.sum(weights), 1e-300)
    if not power > 0:
        raise ConfigError("task target is zero: the teacher network does not respond")
    return cost.weight / power


def _linear_floor(cost, y: np.ndarray, times: np.ndarray, omega: float) -> np.ndarray:
    """Smallest relative RMS error of any pure tone at ω against y, per sample.

    A linear network driven by one tone answers with that tone alone (any amplitude
    and phase), so its error on the task cannot be lower.
    """
    b = cost.quadrature()
    basis = np.stack([np.cos(omega * times), np.sin(omega * times)], axis=1)
    weighted = basis * np.sqrt(b)[:, None]
    floors = []
    for sample in y:
        target = sample * np.sqrt(b)[:, None]
        fit, *_ = np.linalg.lstsq(weighted, target, rcond=None)
        residual = np.linalg.norm(target - weighted @ fit)
        floors.append(residual / max(np.linalg.norm(target), 1e-300))
    return np.array(floors)


def _teacher(network: Network, table: dict, rng: np.random.Generator) -> Network:
    """The network with its trainable values spread by exp(s N(0, 1))."""
    spread = float(table.get("teacher_spread", 0.2))
    values = network.values()
    factor = np.exp(spread * rng.normal(size=values.size))
    return network.with_values(values * factor)


def _periodic_grid(
    table: dict, network: Network, *, default_fraction: float
) -> tuple[float, int]:
    """Drive ω (rad/s) and points per period with every grid harmonic below ω_1."""
    omega_1 = _modes(network).min()
    if "frequency" in table:
        omega = 2 * np.pi * parse_value(table["frequency"], what="task frequency")
    else:
        omega = float(table.get("drive_fraction", default_fraction)) * omega_1
    if not omega > 0:
        raise ConfigError(f"task drive frequency must be positive, got {omega:g} rad/s")
    band_limited = 2 * int(np.floor(0.9 * omega_1 / omega))
    n_steps = int(table.get("n_steps", min(max(band_limited, 8), 64)))
    if n_steps < 4:
        raise ConfigError(f"task n_steps must be >= 4, got {n_steps}")
    return omega, n_steps


def _modes(network: Network) -> np.ndarray:
    """Small-signal angular frequencies of the network, rad/s (positive ones)."""
    omega, _ = System(network).modes()
    omega = omega[omega > 0]
    if not omega.size:
        raise ConfigError(
            f"network {network.name!r} has no oscillation mode (no capacitance or "
            "mass with a restoring inductor or spring); a time-domain task needs one"
        )
    return omega


def _need_nonlinear(network: Network, kind: str) -> None:
    """These tasks are about what only a nonlinear network can do."""
    if network.is_linear:
        raise ConfigError(
            f"task {kind!r} needs a nonlinear element (duffing_spring, "
            "duffing_inductor, josephson or varactor with a nonzero nonlinearity); "
            f"network {network.name!r} is linear"
        )


def _values(spec: object, what: str) -> np.ndarray:
    """A list of numbers (suffixes allowed) as a float array."""
    items = spec if isinstance(spec, (list, tuple)) else [spec]
    return np.array([parse_value(v, what=f"task {what}") for v in items], dtype=float)


def _split(n: int, table: dict, rng: np.random.Generator):
    """Train/test split; every sample trains when test_fraction is 0."""
    from . import split_indices

    fraction = float(table.get("test_fraction", 0.0))
    if fraction == 0.0:
        everything = np.arange(n)
        return everything, everything
    return split_indices(n, fraction, rng)
