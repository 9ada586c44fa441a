"""Periodic backend: the discrete action, EP identities, phasor limit, gauge, folds."""

import warnings

import networkx as nx
import numpy as np
import pytest
from conftest import random_network
from trajectory_cases import (
    EPS,
    NONLINEAR_KINDS,
    case,
    complex_step_ep,
    complex_step_total,
    relative,
)

from hwep.backends import Drive, PhasorBackend, make_backend
from hwep.costs import QuadraticCost
from hwep.ep import ep_gradient
from hwep.errors import ConfigError, ConvergenceError, HwepWarning, InvalidNetworkError
from hwep.network import Network
from hwep.reference import finite_difference_gradient
from hwep.solvers._action import DiscreteAction, JacobianPattern
from hwep.solvers.periodic import PeriodicSolver
from hwep.system import System
from hwep.timedomain import TimeDrive, TrajectoryCost
from hwep.trajectory import PeriodicBackend, dissipation_bias


def duffing_oscillator(damping=0.0, k3=1.0):
    """One mass on a hardening spring (m = 1 kg, k = 1 N/m: ω0 = 1 rad/s)."""
    G = nx.MultiGraph(ground="g", inputs=["x"], outputs=["x"])
    G.add_edge("x", "g", kind="mass", value=1.0)
    G.add_edge("x", "g", kind="duffing_spring", value=1.0, k3=k3)
    if damping:
        G.add_edge("x", "g", kind="damper", value=damping)
    return Network(G)


# -- the discrete action --------------------------------------------------------------


@pytest.mark.parametrize("periodic", [True, False])
@pytest.mark.parametrize("kind", NONLINEAR_KINDS)
def test_equations_are_the_action_gradient_and_jacobian_is_exact(kind, periodic):
    network, drive, _ = case(kind, 0, periodic=periodic)
    backend = make_backend("periodic" if periodic else "boundary", network)
    action = backend._solver(drive).action
    rng = np.random.default_rng(1)
    Q = backend.run(drive, record_branches=True).extra["trajectories"][0]
    Q = Q * (1 + 0.1 * rng.normal(size=Q.shape))
    F = np.zeros_like(Q)
    F[:, backend.system.input_nodes] = drive.force[0]

    # G = (1/h) ∂S_d/∂q and its Jacobian, both by complex steps.
    G = action.gradient(Q, F)
    points = np.arange(action.n_times)
    J = JacobianPattern(action, points, points).matrix(action.curvatures(Q)).toarray()
    for j, k in [(0, 0), (3, 1), (action.n_times - 1, action.n_nodes - 1)]:
        step = Q.astype(complex)
        step[j, k] += 1j * EPS
        dS = action.action(step, F).imag / EPS / action.h
        assert dS == pytest.approx(G[j, k], rel=1e-10, abs=1e-12 * np.abs(G).max())
        column = action.gradient(step, F).imag.ravel() / EPS
        exact = J[:, j * action.n_nodes + k]
        np.testing.assert_allclose(exact, column, rtol=1e-10, atol=1e-12 * abs(J).max())


def test_lossy_jacobian_is_exact_and_unsymmetric():
    network = random_network(3, domain="mechanical", loss=0.2)
    action = DiscreteAction(System(network), 10, 2.0, periodic=True)
    Q = np.random.default_rng(0).normal(size=(10, network.n_nodes))
    J = JacobianPattern(action, np.arange(10), np.arange(10)).matrix(
        action.curvatures(Q)
    )
    step = Q.astype(complex)
    step[4, 0] += 1j * EPS
    column = action.gradient(step, np.zeros_like(Q)).imag.ravel() / EPS
    np.testing.assert_allclose(J.toarray()[:, 4 * network.n_nodes], column, atol=1e-12)
    assert abs(J - J.T).max() > 1e-3 * abs(J).max()


# -- EP on the discrete action -------------------------------------------------------


@pytest.mark.parametrize("name", ["periodic", "boundary"])
@pytest.mark.parametrize("nudge", ["frozen", "closed"])
@pytest.mark.parametrize("kind", NONLINEAR_KINDS)
def test_symmetric_ep_equals_adjoint_on_ten_random_networks(kind, nudge, name):
    errors = []
    for seed in range(10):
        network, drive, cost = case(kind, seed, periodic=name == "periodic")
        backend = make_backend(name, network)
        exact = backend.adjoint_gradient(drive, cost).grad
        estimate = ep_gradient(backend, drive, cost, nudge=nudge, nudge_ratio=1e-5)
        errors.append(relative(estimate.grad, exact))
    assert max(errors) < 1e-6, errors


@pytest.mark.parametrize("kind", NONLINEAR_KINDS)
def test_complex_step_ep_equals_complex_step_derivative(kind):
    network, drive, cost = case(kind, 1, periodic=True)

    def solve(system, drive, F, i):
        solver = PeriodicSolver(system, drive.n_steps, drive.horizon)
        return solver.solve(F).Q

    total = complex_step_total(network, drive, cost, solve)
    backend = PeriodicBackend(network)
    assert relative(complex_step_ep(backend, drive, cost), total) < 1e-12
    assert relative(backend.adjoint_gradient(drive, cost).grad, total) < 1e-12


def test_adjoint_matches_finite_differences():
    network, drive, cost = case("duffing_spring", 2, periodic=True)
    backend = PeriodicBackend(network)
    exact = backend.adjoint_gradient(drive, cost).grad
    assert relative(finite_difference_gradient(backend, drive, cost), exact) < 1e-6


def test_finite_beta_errors_shrink_at_their_orders():
    network, drive, cost = case("duffing_inductor", 3, periodic=True)
    backend = PeriodicBackend(network)
    exact = backend.adjoint_gradient(drive, cost).grad

    def error(estimator, ratio):
        g = ep_gradient(
            backend, drive, cost, estimator=estimator, nudge="closed", nudge_ratio=ratio
        ).grad
        return relative(g, exact)

    for estimator, low, high in (("symmetric", 3.6, 4.4), ("one-sided", 1.8, 2.2)):
        e = [error(estimator, r) for r in (1e-2, 5e-3, 2.5e-3)]
        assert low < e[0] / e[1] < high and low < e[1] / e[2] < high, (estimator, e)


def test_nudged_phases_reuse_the_free_factorization():
    network, drive, cost = case("varactor", 4, periodic=True)
    estimate = ep_gradient(PeriodicBackend(network), drive, cost, nudge_ratio=1e-3)
    free, plus = estimate.measurements["free"], estimate.measurements["plus"]
    assert free.iterations >= 3
    assert plus.iterations <= 3
    assert plus.residual < 1e-12


# -- the phasor limit ------------------------------------------------------------------


def test_linear_solution_converges_to_phasors_at_second_order():
    network = random_network(5, domain="circuit", loss=0.3)
    omega = np.array([1.0, 3.0]) * 0.3
    rng = np.random.default_rng(5)
    amplitude = rng.normal(size=(2, 2, len(network.inputs))) + 0j
    drive = Drive(omega, amplitude)
    exact = PhasorBackend(network).run(drive).outputs

    # The periodic backend samples a phasor Drive and returns DFT phasors. Grids this
    # coarse draw the backend's warning on purpose.
    steps = np.array([16, 32, 64, 128])
    errors = []
    for n_steps in steps:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", HwepWarning)
            outputs = PeriodicBackend(network, n_steps=int(n_steps)).run(drive).outputs
        errors.append(np.abs(outputs - exact).max() / np.abs(exact).max())
    order = -np.polyfit(np.log(steps), np.log(errors), 1)[0]
    assert 1.9 < order < 2.1, (order, errors)
    assert errors[-1] < 1e-2


def test_phasor_costs_run_on_the_periodic_backend():
    network = random_network(6, domain="mechanical")
    drive = Drive(np.array([0.4, 0.8]), np.ones((2, 2, len(network.inputs))) + 0j)
    phasor = PhasorBackend(network)
    target = 1.1 * phasor.run(drive).outputs
    cost = QuadraticCost(target)
    reference = ep_gradient(phasor, drive, cost, mode="adjoint").grad

    # EP is exact on each discrete model, whose gradient tends to the phasor one at
    # O(h²).
    distances = []
    for n_steps in (64, 128):
        backend = PeriodicBackend(network, n_steps=n_steps)
        exact = backend.adjoint_gradient(drive, cost).grad
        estimate = ep_gradient(backend, drive, cost, nudge_ratio=1e-4).grad
        assert relative(estimate, exact) < 1e-8
        distances.append(relative(exact, reference))
    assert 3.5 < distances[0] / distances[1] < 4.5, distances


# -- gauge, options, errors ----------------------------------------------------------


def floating_pair():
    """Nodes a, b tied to each other by an inductor and to ground by capacitors only."""
    G = nx.MultiGraph(ground="g", inputs=["a"], outputs=["b"])
    G.add_edge("a", "g", kind="capacitor", value=1.0)
    G.add_edge("b", "g", kind="capacitor", value=2.0)
    G.add_edge("a", "b", kind="duffing_inductor", value=1.0, a3=0.5, trainable=True)
    G.add_edge("c", "g", kind="capacitor", value=1.0)
    G.add_edge("c", "g", kind="inductor", value=1.0)
    G.add_edge("a", "c", kind="capacitor", value=0.5)
    return Network(G)


def test_floating_group_has_zero_mean_and_exact_ep():
    network = floating_pair()
    drive = TimeDrive.from_harmonics(2 * np.pi / 0.7, 24, [0.7], [[[0.3]], [[0.5j]]])
    backend = PeriodicBackend(network)
    free = backend.run(drive, record_branches=True)
    Q = free.extra["trajectories"]
    index = network.node_index
    group = Q[:, :, [index["a"], index["b"]]]
    assert np.abs(group.mean(axis=(1, 2))).max() < 1e-14 * np.abs(Q).max()
    assert free.residual < 1e-12

    # A target with a DC part: the nudge pushes on the gauge, which stays fixed.
    cost = TrajectoryCost(free.outputs * 0.8 + 0.01)
    exact = backend.adjoint_gradient(drive, cost).grad
    estimate = ep_gradient(backend, drive, cost, nudge_ratio=1e-5).grad
    assert relative(estimate, exact) < 1e-6


def test_dc_drive_into_floating_group_is_rejected():
    network = floating_pair()
    drive = TimeDrive.from_harmonics(
        2 * np.pi, 16, [1.0], [[[0.1]]], offset=np.array([[0.2]])
    )
    with pytest.raises(InvalidNetworkError, match=r"\['a', 'b'\] have no inductive"):
        PeriodicBackend(network).run(drive)


def test_backend_options_are_checked_and_named():
    network = duffing_oscillator()
    with pytest.raises(ConfigError, match=r"tolerance = -1 must be a number in"):
        make_backend("periodic", network, tolerance=-1)
    with pytest.raises(ConfigError, match=r"continuation_steps = 1.5 must be"):
        make_backend("periodic", network, continuation_steps=1.5)
    with pytest.raises(ConfigError, match=r"periodic TimeDrive"):
        make_backend("periodic", network).run(
            TimeDrive(1.0, np.zeros((1, 5, 1)), periodic=False)
        )
    with pytest.raises(ConfigError, match=r"drive has 2 inputs but network"):
        make_backend("periodic", network).run(TimeDrive(1.0, np.zeros((1, 8, 2))))


def test_reciprocal_mode_is_refused_with_a_reason():
    network = random_network(7, domain="circuit")
    drive = TimeDrive.from_harmonics(
        2 * np.pi, 16, [1.0], np.ones((1, 1, len(network.inputs)))
    )
    backend = PeriodicBackend(network)
    cost = TrajectoryCost(backend.run(drive).outputs + 0.1)
    with pytest.raises(ConfigError, match=r"'reciprocal' gradient mode"):
        ep_gradient(backend, drive, cost, mode="reciprocal")


# -- folds and continuation ----------------------------------------------------------


def test_newton_failure_suggests_continuation_which_then_converges():
    network = duffing_oscillator()
    drive = TimeDrive.from_harmonics(2 * np.pi / 0.2, 8, [0.2], [[[1e6]]])
    with pytest.raises(ConvergenceError, match=r"free phase of sample 0.*set ") as info:
        PeriodicBackend(network).run(drive)
    assert "continuation_steps" in str(info.value)
    assert info.value.iterations > 0 and info.value.residual > 1e-6
    measured = PeriodicBackend(network, continuation_steps=8).run(drive)
    assert measured.residual < 1e-12
    # Quasi-static: k x + k3 x³ = F at the peak, x ≈ 100 m for F = 1e6 N.
    assert np.abs(measured.outputs).max() == pytest.approx(99.99, rel=1e-3)


def test_continuation_across_a_fold_says_so():
    # Above resonance the hardening oscillator's low branch ends at a saddle-node
    # (the jump up); every grid harmonic lies above the single mode, so there is no
    # superharmonic resonance.
    network = duffing_oscillator(damping=0.05)
    drive = TimeDrive.from_harmonics(2 * np.pi / 1.5, 16, [1.5], [[[2.0]]])
    with pytest.raises(ConvergenceError, match=r"stopped at .*folds back"):
        PeriodicBackend(network, continuation_steps=8).run(drive)

    # From rest at once, Newton lands on the upper (resonant) branch instead: its
    # amplitude lies beyond the backbone crossing ω(A) = 1.5, A = 1.29 m.
    upper = PeriodicBackend(network).run(drive)
    assert np.abs(upper.outputs).max() > 1.29


def test_ep_continues_in_beta_when_a_strong_nudge_fails_from_the_free_solution():
    network, drive, cost = case("duffing_spring", 5, periodic=True)
    backend = PeriodicBackend(network)
    free = backend.run(drive)
    error = cost.error(free.outputs, drive)
    beta = 30 * ep_gradient(backend, drive, cost, nudge_ratio=1e-3).beta
    nudged = backend.run(drive, injection=-beta * error)
    assert nudged.residual < 1e-12
    assert nudged.iterations > 1


# -- dissipation ----------------------------------------------------------------------


def lossy_chain(damping):
    """The Duffing chain of the test cases with a damper on every mass."""
    G = case("duffing_spring", 0, periodic=True)[0].to_graph()
    for node in ("x1", "x2", "x3"):
        G.add_edge(node, "g", kind="damper", value=damping)
    return Network(G)


def test_dissipation_bias_is_measured_and_vanishes_without_loss():
    lossless, drive, cost = case("duffing_spring", 0, periodic=True)
    networks = [lossless] + [lossy_chain(c) for c in (0.01, 0.1, 1.0)]
    biases = []
    for network in networks:
        report = dissipation_bias(
            PeriodicBackend(network), drive, cost, nudge_ratio=1e-5
        )
        biases.append(report["relative_bias"])
        assert report["lossless"] == (network is lossless)
        assert np.all(np.isfinite(report["bias"]))
    assert biases[0] < 1e-6
    assert 1e-5 < biases[1] < biases[2] < biases[3]
    assert biases[3] > 1e-2


@pytest.mark.parametrize("periodic", [True, False])
def test_the_other_sign_convention_flips_the_estimate(periodic):
    network, drive, cost = case("josephson", 6, periodic=periodic)
    backend = make_backend("periodic" if periodic else "boundary", network)
    usual = ep_gradient(backend, drive, cost, nudge_ratio=1e-5).grad
    other = ep_gradient(
        backend, drive, cost, nudge_ratio=1e-5, convention="L+beta*c"
    ).grad
    assert relative(other, -usual) < 1e-12
    assert relative(usual, backend.adjoint_gradient(drive, cost).grad) < 1e-6


def test_default_grid_follows_the_highest_harmonic():
    from hwep.builders import lc_lattice

    network = Network(lc_lattice(3, 3, L=("1m", "3m"), C=("1u", "3u"), seed=2))
    omega = 2 * np.pi * np.array([500.0, 7000.0])
    drive = Drive(omega, np.ones((1, 2, 1)) + 0j)
    exact = PhasorBackend(network).run(drive).outputs
    outputs = PeriodicBackend(network).run(drive).outputs
    assert np.abs(outputs - exact).max() / np.abs(exact).max() < 0.01
    with pytest.warns(HwepWarning, match="points per cycle of the drive's harmonic 14"):
        PeriodicBackend(network, n_steps=64).run(drive)
