"""Boundary backend: fixed end states, exact EP, the integrator's discrete energy."""

import networkx as nx
import numpy as np
import pytest
from trajectory_cases import (
    NONLINEAR_KINDS,
    case,
    complex_step_ep,
    complex_step_total,
    relative,
)

from hwep.backends import make_backend
from hwep.ep import ep_gradient
from hwep.network import Network
from hwep.reference import finite_difference_gradient
from hwep.solvers.boundary import BoundarySolver
from hwep.system import System
from hwep.trajectory import BoundaryBackend

# Symmetric EP against the discrete adjoint on ten random networks per nonlinear kind
# is tested for this backend beside the periodic one, in test_periodic.py.


@pytest.mark.parametrize("kind", NONLINEAR_KINDS)
def test_complex_step_ep_equals_complex_step_derivative(kind):
    network, drive, cost = case(kind, 1, periodic=False)

    def solve(system, drive, F, i):
        solver = BoundarySolver(system, drive.n_steps, drive.horizon)
        return solver.solve(F, initial=drive.initial[i], final=drive.final[i]).Q

    total = complex_step_total(network, drive, cost, solve)
    backend = BoundaryBackend(network)
    assert relative(complex_step_ep(backend, drive, cost), total) < 1e-12
    assert relative(backend.adjoint_gradient(drive, cost).grad, total) < 1e-12


def test_adjoint_matches_finite_differences():
    network, drive, cost = case("varactor", 2, periodic=False)
    backend = make_backend("boundary", network)
    exact = backend.adjoint_gradient(drive, cost).grad
    assert relative(finite_difference_gradient(backend, drive, cost), exact) < 1e-6


def test_end_states_are_held_in_every_phase():
    network, drive, cost = case("josephson", 3, periodic=False)
    estimate = ep_gradient(BoundaryBackend(network), drive, cost, nudge_ratio=1e-3)
    for name in ("free", "plus", "minus"):
        measured = estimate.measurements[name]
        outputs = measured.outputs
        out = [network.node_index[n] for n in network.outputs]
        np.testing.assert_array_equal(outputs[:, 0], drive.initial[:, out])
        np.testing.assert_array_equal(outputs[:, -1], drive.final[:, out])


def test_continuation_keeps_the_end_states():
    network, drive, _ = case("duffing_spring", 4, periodic=False)
    direct = BoundaryBackend(network).run(drive).outputs
    continued = BoundaryBackend(network, continuation_steps=4).run(drive).outputs
    np.testing.assert_allclose(continued, direct, rtol=1e-10, atol=0)


def duffing_oscillator():
    """m = 1 kg on a hardening spring k = 1 N/m, k3 = 1 N/m³ (ω0 = 1 rad/s)."""
    G = nx.MultiGraph(ground="g", inputs=["x"], outputs=["x"])
    G.add_edge("x", "g", kind="mass", value=1.0)
    G.add_edge("x", "g", kind="duffing_spring", value=1.0, k3=1.0)
    return Network(G)


def test_undriven_trajectory_keeps_the_discrete_energy_without_drift():
    # 20.25 periods: the linear problem is far from a conjugate point (sin ω0T = 1),
    # and the amplitude's frequency shift (~0.9 rad over the horizon) keeps it so.
    system = System(duffing_oscillator())
    horizon = 20.25 * 2 * np.pi
    oscillations, steps = [], np.array([500, 1000, 2000])
    for n_steps in steps:
        solver = BoundarySolver(system, int(n_steps), horizon, continuation_steps=4)
        solution = solver.solve(
            np.zeros((n_steps + 1, 1)), initial=[0.1], final=[-0.06]
        )
        energy = solver.action.energy(solution.Q)
        quarter = n_steps // 4
        oscillation = energy.max() - energy.min()
        drift = abs(energy[-quarter:].mean() - energy[:quarter].mean())
        assert drift < 0.05 * oscillation, (n_steps, drift, oscillation)
        assert oscillation < 0.05 * energy.mean()
        oscillations.append(oscillation)
    order = np.polyfit(np.log(horizon / steps), np.log(oscillations), 1)[0]
    assert 1.9 < order < 2.1, (order, oscillations)


def test_docstring_example_reaches_the_midpoint():
    G = nx.MultiGraph(ground=0, inputs=[1], outputs=[1])
    G.add_edge(1, 0, kind="mass", value=1.0)
    G.add_edge(1, 0, kind="spring", value=1.0)
    solver = BoundarySolver(System(Network(G)), 64, np.pi / 2)
    q = solver.solve(np.zeros((65, 1)), initial=[0.0], final=[1.0]).Q
    assert q[32, 0] == pytest.approx(np.sin(np.pi / 4), rel=1e-4)
