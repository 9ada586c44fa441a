"""Random nonlinear networks and well-posed drives shared by the trajectory tests.

One builder per nonlinear element kind: a spring chain with Duffing springs, and 2×2 LC
lattices with Duffing inductors, Josephson junctions (the true flux quantum) or
varactors. Each trains its nonlinear parameters too. Drives are calibrated so that the
largest relative change of an element's stiffness (capacitance) is ``STRENGTH``:
clearly nonlinear, yet on one solution branch (a drive that lands past a fold of a
superharmonic resonance is backed off in amplitude). Periodic drives sit below the
lowest mode; fixed-endpoint horizons stay below the first conjugate time (ω_max T < π).
"""

from __future__ import annotations

import networkx as nx
import numpy as np

from hwep.errors import ConvergenceError
from hwep.network import Network
from hwep.system import System
from hwep.timedomain import TimeDrive, TrajectoryCost

NONLINEAR_KINDS = ("duffing_spring", "duffing_inductor", "josephson", "varactor")
STRENGTH = 0.2
EPS = 1e-30  # complex step


def relative(a, b):
    """‖a − b‖ / ‖b‖ over the parameter vector."""
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def complex_step_system(network, k):
    """A System whose parameter k carries +iε (the element kinds are complex-safe)."""
    system = System(network)
    p = network.parameters[k]
    for group in system.groups:
        hit = np.flatnonzero(group.indices == p.element)
        if hit.size:
            group.params = dict(group.params)
            values = group.params[p.name].astype(complex)
            values[hit[0]] += 1j * EPS
            group.params[p.name] = values
    return system


def complex_step_total(network, drive, cost, solve):
    """dJ/dθ by complex steps through the solver, one parameter at a time."""
    grad = []
    for k in range(len(network.parameters)):
        system = complex_step_system(network, k)
        values = []
        for i in range(drive.n_samples):
            F = np.zeros((drive.n_times, system.n_nodes), complex)
            F[:, system.input_nodes] = drive.force[i]
            Q = solve(system, drive, F, i)
            x_out = Q[None][:, :, system.output_nodes]
            values.append(cost.subset([i]).value(x_out, drive.subset([i]))[0])
        grad.append(np.mean(values).imag / EPS)
    return np.array(grad)


def complex_step_ep(backend, drive, cost):
    """EP with β = iε: −Im Λ(iε)/ε, exact to rounding on a variational model."""
    free = backend.run(drive)
    error = cost.error(free.outputs, drive)
    nudged = backend.run(drive, injection=-1j * EPS * error)
    return -(nudged.conjugates.imag / EPS).mean(axis=0)


def random_network(kind: str, seed: int) -> Network:
    """A small random network whose nonlinear elements are of ``kind``."""
    rng = np.random.default_rng(seed)

    def draw(low, high):
        return float(np.exp(rng.uniform(np.log(low), np.log(high))))

    if kind == "duffing_spring":
        G = nx.MultiGraph(ground="g", inputs=["x1"], outputs=["x3"])
        for node in ("x1", "x2", "x3"):
            G.add_edge(node, "g", kind="mass", value=draw(0.5, 2.0))
        for a, b in (("g", "x1"), ("x1", "x2"), ("x2", "x3"), ("x3", "g")):
            G.add_edge(
                a,
                b,
                kind="duffing_spring",
                value=draw(50, 150),
                k3=draw(1e3, 3e3),
                trainable=["k", "k3"],
            )
        return Network(G)

    # 2×2 lattices: node capacitance to ground, bonds, and two ground inductors.
    nodes = ["n00", "n01", "n10", "n11"]
    bonds = [("n00", "n01"), ("n00", "n10"), ("n01", "n11"), ("n10", "n11")]
    G = nx.MultiGraph(ground="g", inputs=["n00"], outputs=["n11"])
    if kind == "duffing_inductor":
        for node in nodes:
            G.add_edge(node, "g", kind="capacitor", value=draw(1e-6, 3e-6))
        for a, b in bonds + [("n00", "g"), ("n11", "g")]:
            G.add_edge(
                a,
                b,
                kind="duffing_inductor",
                value=draw(1e-3, 3e-3),
                a3=draw(1e5, 1e6),
                trainable=["L", "a3"],
            )
    elif kind == "josephson":
        for node in nodes:
            G.add_edge(node, "g", kind="capacitor", value=draw(1e-12, 3e-12))
        for a, b in bonds:
            G.add_edge(a, b, kind="josephson", value=draw(1e-6, 3e-6))
        for node in ("n00", "n11"):
            G.add_edge(node, "g", kind="inductor", value=draw(2e-10, 6e-10))
    elif kind == "varactor":
        for node in nodes:
            G.add_edge(
                node,
                "g",
                kind="varactor",
                value=draw(1e-9, 3e-9),
                a=draw(0.2, 0.5),
                trainable=["C0", "a"],
            )
        for a, b in bonds + [("n00", "g"), ("n11", "g")]:
            G.add_edge(a, b, kind="inductor", value=draw(1e-6, 3e-6))
    else:
        raise ValueError(f"no random network for kind {kind!r}")
    return Network(G)


def nonlinearity(network: Network, U: np.ndarray, V: np.ndarray) -> float:
    """Largest relative stiffness (capacitance) change along a trajectory.

    U and V are branch coordinates and velocities, (n_times, n_elements).
    """
    worst = 0.0
    for b, element in enumerate(network.elements):
        p, name = element.params, element.kind.name
        if name == "duffing_spring":
            worst = max(worst, np.max(3 * p["k3"] * U[:, b] ** 2 / p["k"]))
        elif name == "duffing_inductor":
            worst = max(worst, np.max(3 * p["a3"] * p["L"] * U[:, b] ** 2))
        elif name == "josephson":
            phase = 2 * np.pi * U[:, b] / p["phi0"]
            worst = max(worst, np.max(1 - np.cos(phase)))
        elif name == "varactor":
            worst = max(worst, np.max(p["a"] * V[:, b] ** 2))
    return float(worst)


def case(kind: str, seed: int, *, periodic: bool, n_samples: int = 2, n_steps=32):
    """(network, drive, cost) of one random, well-posed trajectory problem."""
    from hwep.trajectory import BoundaryBackend, PeriodicBackend

    network = random_network(kind, seed)
    rng = np.random.default_rng(seed + 1000)
    omega, _ = System(network).modes()
    n_nodes = network.n_nodes

    # Periodic: a fundamental at 0.4 ω_1 and its second harmonic. Bounded: a horizon
    # of 0.6 π / ω_max and two harmonics of it.
    if periodic:
        w = 0.4 * omega.min()
        horizon = 2 * np.pi / w
    else:
        horizon = 0.6 * np.pi / omega.max()
        w = 2 * np.pi / horizon
    amplitude = rng.normal(size=(n_samples, 2, 1)) + 1j * rng.normal(
        size=(n_samples, 2, 1)
    )
    probe = TimeDrive.from_harmonics(
        horizon,
        n_steps,
        [w, 2 * w],
        1e-3 * _linear_size(network) * amplitude,
        periodic=periodic,
    )

    # A tiny drive is linear; end states of the driven response's size.
    backend = PeriodicBackend(network) if periodic else BoundaryBackend(network)
    size = np.sqrt(np.mean(_trajectories(backend, probe) ** 2))
    if not periodic:
        ends = rng.normal(size=(2, n_samples, n_nodes)) * size
        probe = TimeDrive(horizon, probe.force, False, initial=ends[0], final=ends[1])

    # The nonlinearity grows as amplitude²: scale to STRENGTH.
    solver = backend._solver(probe)
    strength = max(
        nonlinearity(network, solver.action.branches(q), _velocities(solver, q))
        for q in _trajectories(backend, probe)
    )
    drive = probe.scaled(np.sqrt(STRENGTH / strength))

    # A lossless drive can sit just past a fold of a superharmonic resonance: back
    # off in amplitude until the free phase solves.
    for _ in range(4):
        try:
            outputs = backend.run(drive).outputs
            break
        except ConvergenceError:
            drive = drive.scaled(0.7)
    else:
        raise AssertionError(f"{kind} case {seed}: no drive level solves")

    # Target: a random waveform of the output's size.
    size = np.sqrt(np.mean(outputs**2))
    target = outputs + size * rng.normal(size=outputs.shape)
    return network, drive, TrajectoryCost(target, periodic=periodic)


def _linear_size(network: Network) -> float:
    """A drive amplitude (A or N) of the order that reaches the nonlinear regime."""
    scales = {
        "duffing_spring": 1.0,
        "duffing_inductor": 1e-3,
        "josephson": 1e-6,
        "varactor": 1e-2,
    }
    kinds = {e.kind.name for e in network.elements}
    return next(scales[k] for k in scales if k in kinds)


def _trajectories(backend, drive: TimeDrive) -> np.ndarray:
    """Free trajectories of every node, (n_samples, n_times, n_nodes)."""
    return backend.run(drive, record_branches=True).extra["trajectories"]


def _velocities(solver, q: np.ndarray) -> np.ndarray:
    """Branch velocities on the steps of a trajectory."""
    return solver.action.step_velocities(solver.action.branches(q))


def echo_case(kind: str, seed: int, *, n_samples: int = 2, initial_state=False):
    """(network, drive, cost) of an initial-value problem for the echo backend.

    Tones from rest (or from a random state) over three periods of the lowest mode,
    with steps that resolve the highest one; the cost window covers the last 30% of
    the horizon, final point included.
    """
    from hwep.trajectory import EchoBackend

    network = random_network(kind, seed)
    rng = np.random.default_rng(seed + 2000)
    omega, _ = System(network).modes()
    horizon = 3 * 2 * np.pi / omega.min()
    n_steps = int(np.ceil(horizon * omega.max() / 0.2))
    times = np.arange(n_steps + 1) * horizon / n_steps
    w = rng.uniform(0.5, 1.5, size=(n_samples, 1, 1)) * omega.min()
    phase = rng.uniform(0, 2 * np.pi, size=(n_samples, 1, 1))
    shape = np.sin(w * times[None, :, None] + phase) * rng.normal(
        size=(n_samples, 1, 1)
    )
    backend = EchoBackend(network)

    # Calibrate the amplitude on a linear-size probe, as for the periodic cases.
    probe = TimeDrive(horizon, 1e-3 * _linear_size(network) * shape, periodic=False)
    Q = _trajectories(backend, probe)
    if initial_state:
        size = np.sqrt(np.mean(Q**2))
        ends = {"initial": rng.normal(size=(n_samples, network.n_nodes)) * size}
        probe = TimeDrive(horizon, probe.force, False, **ends)
        Q = _trajectories(backend, probe)
    solver = backend._solver(probe)
    strength = max(
        nonlinearity(network, solver.action.branches(q), _velocities(solver, q))
        for q in Q
    )
    drive = probe.scaled(np.sqrt(STRENGTH / strength))

    # A random target of the output's size over the last 30% of the horizon.
    outputs = backend.run(drive).outputs
    size = np.sqrt(np.mean(outputs**2))
    target = outputs + size * rng.normal(size=outputs.shape)
    weight = (times >= 0.7 * horizon)[None, :, None] * np.ones(outputs.shape)
    return network, drive, TrajectoryCost(target, weight / size**2, periodic=False)
