"""Echo backend: initial-value problems, exact EP by the echo condition, controls."""

import networkx as nx
import numpy as np
import pytest
from trajectory_cases import (
    NONLINEAR_KINDS,
    complex_step_ep,
    complex_step_total,
    echo_case,
    relative,
)

from hwep.backends import make_backend
from hwep.ep import ep_gradient
from hwep.errors import ConfigError, InvalidNetworkError
from hwep.network import Network
from hwep.reference import finite_difference_gradient
from hwep.solvers.transient import VerletSolver
from hwep.timedomain import TimeDrive, TrajectoryCost
from hwep.trajectory import EchoBackend


@pytest.mark.parametrize("kind", NONLINEAR_KINDS)
def test_echo_ep_equals_discrete_adjoint_while_forward_nudging_is_wrong(kind):
    for seed in range(3):
        network, drive, cost = echo_case(kind, seed)
        backend = EchoBackend(network)
        exact = backend.adjoint_gradient(drive, cost).grad
        for nudge in ("frozen", "closed"):
            estimate = ep_gradient(backend, drive, cost, nudge=nudge, nudge_ratio=1e-5)
            assert relative(estimate.grad, exact) < 1e-8, (kind, seed, nudge)

        # Negative control: the nudged run starts from the initial state instead.
        control = EchoBackend(network, nudged_from="initial")
        estimate = ep_gradient(control, drive, cost, nudge_ratio=1e-5)
        assert relative(estimate.grad, exact) > 0.1, (kind, seed)


@pytest.mark.parametrize("kind", ["duffing_spring", "josephson"])
def test_complex_step_echo_is_exact(kind):
    network, drive, cost = echo_case(kind, 1)

    def solve(system, drive, F, i):
        return VerletSolver(system, drive.n_steps, drive.horizon).forward(F)[0]

    total = complex_step_total(network, drive, cost, solve)
    backend = EchoBackend(network)
    assert relative(complex_step_ep(backend, drive, cost), total) < 1e-12
    assert relative(backend.adjoint_gradient(drive, cost).grad, total) < 1e-12


def test_echo_is_exact_from_a_displaced_initial_state():
    network, drive, cost = echo_case("varactor", 4, initial_state=True)
    assert drive.initial is not None
    backend = EchoBackend(network)
    exact = backend.adjoint_gradient(drive, cost).grad
    estimate = ep_gradient(backend, drive, cost, nudge_ratio=1e-5).grad
    assert relative(estimate, exact) < 1e-8


def test_adjoint_matches_finite_differences():
    network, drive, cost = echo_case("duffing_inductor", 5)
    backend = make_backend("echo", network)
    exact = backend.adjoint_gradient(drive, cost).grad
    assert relative(finite_difference_gradient(backend, drive, cost), exact) < 1e-6


def test_backward_run_retraces_the_free_trajectory():
    network, drive, _ = echo_case("josephson", 6)
    backend = EchoBackend(network)
    free = backend.run(drive)
    back = backend.run(drive, injection=np.zeros_like(free.outputs))
    scale = np.abs(free.outputs).max()
    assert np.abs(back.outputs - free.outputs).max() < 1e-12 * scale
    assert free.residual < 1e-12 and back.residual < 1e-12


def test_lossy_network_and_missing_capacitance_are_rejected():
    G = nx.MultiGraph(ground="g", inputs=["a"], outputs=["a"])
    G.add_edge("a", "g", kind="capacitor", value=1.0)
    G.add_edge("a", "g", kind="inductor", value=1.0)
    G.add_edge("a", "g", kind="resistor", value=10.0, name="R1")
    with pytest.raises(InvalidNetworkError, match=r"resistor 'R1'.*lossless"):
        EchoBackend(Network(G))
    G = nx.MultiGraph(ground="g", inputs=["a"], outputs=["b"])
    G.add_edge("a", "g", kind="capacitor", value=1.0)
    G.add_edge("a", "b", kind="inductor", value=1.0)
    G.add_edge("b", "g", kind="inductor", value=1.0)
    with pytest.raises(InvalidNetworkError, match=r"\['b'\] have no capacitor"):
        EchoBackend(Network(G))


def test_options_and_costs_are_checked():
    network, drive, _ = echo_case("duffing_spring", 0)
    with pytest.raises(ConfigError, match=r"nudged_from 'middle' is unknown"):
        EchoBackend(network, nudged_from="middle")
    backend = EchoBackend(network)
    outputs = backend.run(drive).outputs
    voltage = TrajectoryCost(outputs, observable="voltage", periodic=False)
    with pytest.raises(ConfigError, match=r"closed-loop nudge on the echo backend"):
        ep_gradient(backend, drive, voltage, nudge="closed", nudge_ratio=1e-3)
    with pytest.raises(ConfigError, match=r"needs a bounded \(periodic=False\)"):
        backend.run(TimeDrive(1.0, np.zeros((1, 8, 1))))


def test_voltage_costs_are_exact_with_frozen_nudges():
    network, drive, cost = echo_case("duffing_spring", 7)
    backend = EchoBackend(network)
    outputs = backend.run(drive).outputs
    rng = np.random.default_rng(0)
    voltage = TrajectoryCost(
        outputs * (1 + 0.2 * rng.normal(size=outputs.shape)),
        cost.weight,
        observable="voltage",
        periodic=False,
    )
    exact = backend.adjoint_gradient(drive, voltage).grad
    estimate = ep_gradient(backend, drive, voltage, nudge_ratio=1e-5).grad
    assert relative(estimate, exact) < 1e-8
    fd = finite_difference_gradient(backend, drive, voltage)
    assert relative(fd, exact) < 1e-6
