"""Loss: plain EP's bias is bounded and reported; the reciprocal mode stays exact."""

import networkx as nx
import numpy as np
import pytest
from conftest import random_drive, random_network

from hwep.backends import Drive, PhasorBackend
from hwep.costs import QuadraticCost
from hwep.ep import ep_gradient
from hwep.network import Network
from hwep.reference import (
    adjoint_gradient,
    dissipation_report,
    finite_difference_gradient,
)
from hwep.system import System


def _lossy_case(seed, Q, domain="circuit", trainable_loss=False):
    """Random network with node loss set for quality factor ~Q at its mean mode."""
    probe = random_network(seed, domain=domain)
    omega, _ = System(probe).modes()
    net = random_network(seed, domain=domain, loss=float(np.mean(omega)) / Q)
    if trainable_loss:
        graph = net.to_graph()
        for *_, data in graph.edges(data=True):
            data["trainable"] = True
        net = Network(graph)
    rng = np.random.default_rng(seed)
    drive = random_drive(net, rng)
    free = PhasorBackend(net).run(drive).outputs
    target = free + 0.5 * np.abs(free).mean() * (
        rng.normal(size=free.shape) + 1j * rng.normal(size=free.shape)
    )
    return net, drive, QuadraticCost(target)


@pytest.mark.parametrize("Q", [10.0, 1e2, 1e3, 1e4, 1e5])
@pytest.mark.parametrize("seed", range(4))
def test_plain_ep_bias_respects_the_bound(seed, Q):
    net, drive, cost = _lossy_case(seed, Q, domain=("circuit", "mechanical")[seed % 2])
    backend = PhasorBackend(net)
    exact = adjoint_gradient(backend, drive, cost).grad
    ep = ep_gradient(backend, drive, cost, nudge="frozen").grad
    report = dissipation_report(backend, drive, cost)
    bias = np.abs(ep - exact)
    assert np.all(bias <= report["bound"] * (1 + 1e-9) + 1e-15 * np.abs(exact).max())
    assert bias.max() > 0  # loss biases plain EP: the bias is measured, not hidden
    assert not report["lossless"]


def test_bias_shrinks_with_quality_factor():
    errors = []
    for Q in (1e2, 1e3, 1e4):
        net, drive, cost = _lossy_case(3, Q)
        backend = PhasorBackend(net)
        exact = adjoint_gradient(backend, drive, cost).grad
        ep = ep_gradient(backend, drive, cost, nudge="frozen").grad
        errors.append(np.linalg.norm(ep - exact) / np.linalg.norm(exact))
    assert errors[0] > 5 * errors[1] > 25 * errors[2]


def _single_mode(detuning):
    """Mass-spring-damper (m = k = 1, Q = 50) driven at (1 + detuning) ω0."""
    G = nx.MultiGraph(ground="g", inputs=["x"], outputs=["x"])
    G.add_edge("x", "g", kind="mass", value=1.0)
    G.add_edge("x", "g", kind="spring", value=1.0)
    G.add_edge("x", "g", kind="damper", value=1.0 / 50.0)
    drive = Drive(np.array([1.0 + detuning]), np.ones((1, 1, 1)))
    cost = QuadraticCost(np.full((1, 1, 1), 10.0 + 5.0j))
    return Network(G), drive, cost


def test_plain_ep_flips_sign_at_a_damped_resonance():
    net, drive, cost = _single_mode(0.0)
    backend = PhasorBackend(net)
    exact = adjoint_gradient(backend, drive, cost).grad
    ep = ep_gradient(backend, drive, cost, nudge="frozen").grad
    np.testing.assert_allclose(ep, -exact, rtol=1e-12)
    assert np.all(np.abs(exact) > 1.0)
    report = dissipation_report(backend, drive, cost)
    assert any(
        "within 3 linewidths of the mode at 0.159155 Hz" in f
        for f in report["near_resonance"]
    )

    # Off resonance the same network is nearly right.
    net, drive, cost = _single_mode(0.3)
    backend = PhasorBackend(net)
    exact = adjoint_gradient(backend, drive, cost).grad
    ep = ep_gradient(backend, drive, cost, nudge="frozen").grad
    assert np.linalg.norm(ep - exact) / np.linalg.norm(exact) < 0.1


@pytest.mark.parametrize("seed", range(6))
def test_reciprocal_mode_is_exact_with_loss(seed):
    domain = ("circuit", "mechanical")[seed % 2]
    net, drive, cost = _lossy_case(seed, 20.0, domain=domain, trainable_loss=True)
    kinds = {net.elements[p.element].kind.name for p in net.parameters}
    assert kinds & {"resistor", "damper"}
    backend = PhasorBackend(net)
    exact = adjoint_gradient(backend, drive, cost).grad
    reciprocal = ep_gradient(backend, drive, cost, mode="reciprocal").grad
    np.testing.assert_allclose(
        reciprocal, exact, rtol=1e-8, atol=1e-8 * np.abs(exact).max()
    )
    fd = finite_difference_gradient(net, drive, cost)
    assert np.max(np.abs(exact - fd)) < 1e-6 * np.abs(exact).max()

    # Plain EP cannot measure resistor and damper values at all.
    ep = ep_gradient(backend, drive, cost).grad
    rayleigh = [net.elements[p.element].kind.role == "rayleigh" for p in net.parameters]
    assert np.all(np.isnan(ep[rayleigh])) and np.all(
        np.isfinite(ep[~np.array(rayleigh)])
    )


def test_reciprocal_mode_with_complex_frequency():
    net, drive, cost = _lossy_case(2, 1e3)
    shifted = Drive(drive.omega, drive.amplitude, sigma=0.05 * float(drive.omega.min()))
    backend = PhasorBackend(net)
    exact = adjoint_gradient(backend, shifted, cost).grad
    reciprocal = ep_gradient(backend, shifted, cost, mode="reciprocal").grad
    np.testing.assert_allclose(
        reciprocal, exact, rtol=1e-8, atol=1e-10 * np.abs(exact).max()
    )
    assert (
        np.max(np.abs(exact - finite_difference_gradient(net, shifted, cost)))
        < 1e-6 * np.abs(exact).max()
    )
