"""EP on lossless linear networks: exact against the adjoint, orders in beta, signs."""

import numpy as np
import pytest
from conftest import random_drive, random_network

from hwep.backends import Drive, PhasorBackend
from hwep.costs import AmplitudeCost, CrossEntropyCost, QuadraticCost
from hwep.ep import ep_gradient
from hwep.errors import ConfigError
from hwep.reference import adjoint_gradient, finite_difference_gradient

CASES = [(seed, "circuit") for seed in range(12)] + [
    (seed, "mechanical") for seed in range(12)
]


def _case(seed, domain, observable="flux"):
    """A random lossless network, drive and quadratic target of matching scale."""
    net = random_network(seed, domain=domain)
    rng = np.random.default_rng(100 + seed)
    drive = random_drive(net, rng)
    free = PhasorBackend(net).run(drive).outputs
    if observable == "voltage":
        free = free * drive.s[None, :, None]
    target = free * (1 + 0.3 * rng.normal(size=free.shape)) + 0.2 * np.abs(
        free
    ).mean() * (rng.normal(size=free.shape) + 1j * rng.normal(size=free.shape))
    return net, drive, QuadraticCost(target, observable=observable)


def _relative(a, b):
    return np.max(np.abs(a - b)) / np.max(np.abs(b))


@pytest.mark.parametrize("seed, domain", CASES)
def test_symmetric_ep_equals_adjoint_on_random_lossless_networks(seed, domain):
    net, drive, cost = _case(seed, domain, observable=("flux", "voltage")[seed % 2])
    backend = PhasorBackend(net)
    exact = adjoint_gradient(backend, drive, cost).grad

    # Adjoint against central differences; every element kind of the domain enters.
    fd = finite_difference_gradient(net, drive, cost, step=1e-6)
    assert _relative(exact, fd) < 1e-6
    assert {e.kind.name for e in net.elements} == (
        {"capacitor", "inductor"} if domain == "circuit" else {"mass", "spring"}
    )

    # Frozen nudges: exact at any beta. Closed loop: O(beta^2).
    frozen = ep_gradient(backend, drive, cost, nudge="frozen", nudge_ratio=0.3).grad
    assert _relative(frozen, exact) < 1e-9
    closed = ep_gradient(backend, drive, cost, nudge="closed", nudge_ratio=1e-3).grad
    assert _relative(closed, exact) < 1e-5
    cos = closed @ exact / np.linalg.norm(closed) / np.linalg.norm(exact)
    assert cos > 0.999999


def _fit_order(backend, drive, cost, exact, estimator, nudge):
    ratios = np.array([3.2e-2, 1.6e-2, 8e-3, 4e-3])
    errors, betas = [], []
    for ratio in ratios:
        estimate = ep_gradient(
            backend, drive, cost, estimator=estimator, nudge=nudge, nudge_ratio=ratio
        )
        errors.append(np.linalg.norm(estimate.grad - exact))
        betas.append(estimate.beta)
    return np.polyfit(np.log(betas), np.log(errors), 1)[0]


@pytest.mark.parametrize(
    "seed, domain", [(1, "circuit"), (2, "mechanical"), (5, "circuit")]
)
def test_error_order_in_beta(seed, domain):
    net, drive, cost = _case(seed, domain)
    backend = PhasorBackend(net)
    exact = adjoint_gradient(backend, drive, cost).grad
    assert _fit_order(
        backend, drive, cost, exact, "one-sided", "closed"
    ) == pytest.approx(1, abs=0.1)
    assert _fit_order(
        backend, drive, cost, exact, "symmetric", "closed"
    ) == pytest.approx(2, abs=0.1)
    assert _fit_order(
        backend, drive, cost, exact, "one-sided", "frozen"
    ) == pytest.approx(1, abs=0.05)


def test_flipping_the_nudge_convention_flips_the_estimate():
    net, drive, cost = _case(3, "circuit")
    backend = PhasorBackend(net)
    for nudge in ("frozen", "closed"):
        right = ep_gradient(backend, drive, cost, nudge=nudge, nudge_ratio=1e-4).grad
        wrong = ep_gradient(
            backend, drive, cost, nudge=nudge, nudge_ratio=1e-4, convention="L+beta*c"
        ).grad
        np.testing.assert_allclose(wrong, -right, rtol=1e-6)
        exact = adjoint_gradient(backend, drive, cost).grad
        assert right @ exact > 0 > wrong @ exact


@pytest.mark.parametrize("nudge", ["frozen", "closed"])
def test_cross_entropy_readout_and_its_gain(nudge):
    net = random_network(4, n_outputs=3)
    rng = np.random.default_rng(4)
    drive = random_drive(net, rng, n_samples=5, n_harmonics=1)
    reference = np.abs(PhasorBackend(net).run(drive).outputs).mean()
    cost = CrossEntropyCost(rng.integers(0, 3, size=5), gain=2.0, reference=reference)
    backend = PhasorBackend(net)
    exact = adjoint_gradient(backend, drive, cost)
    assert _relative(exact.grad, finite_difference_gradient(net, drive, cost)) < 1e-6
    estimate = ep_gradient(backend, drive, cost, nudge=nudge, nudge_ratio=1e-4)
    assert _relative(estimate.grad, exact.grad) < (1e-9 if nudge == "frozen" else 1e-5)

    # The digital gain's gradient against a difference of the cost.
    h = 1e-6
    up = cost.with_digital([2.0 + h]).value(estimate.outputs, drive).mean()
    down = cost.with_digital([2.0 - h]).value(estimate.outputs, drive).mean()
    assert estimate.digital[0] == pytest.approx((up - down) / (2 * h), rel=1e-6)


def test_amplitude_cost_gradient():
    net = random_network(6, domain="mechanical")
    rng = np.random.default_rng(6)
    drive = random_drive(net, rng, n_samples=2)
    outputs = PhasorBackend(net).run(drive).outputs
    cost = AmplitudeCost(np.abs(outputs) * rng.uniform(0.5, 1.5, size=outputs.shape))
    exact = adjoint_gradient(net, drive, cost).grad
    assert _relative(exact, finite_difference_gradient(net, drive, cost)) < 1e-6
    estimate = ep_gradient(PhasorBackend(net), drive, cost, nudge="frozen").grad
    assert _relative(estimate, exact) < 1e-9


def test_perfect_fit_gives_zero_gradient(tank):
    drive = Drive(np.array([500.0]), np.ones((1, 1, 1)))
    outputs = PhasorBackend(tank).run(drive).outputs
    estimate = ep_gradient(PhasorBackend(tank), drive, QuadraticCost(outputs))
    np.testing.assert_array_equal(estimate.grad, 0.0)
    assert estimate.loss == 0.0


def test_unknown_choices_are_rejected(tank):
    drive = Drive(np.array([500.0]), np.ones((1, 1, 1)))
    cost = QuadraticCost(np.zeros((1, 1, 1)))
    with pytest.raises(ConfigError, match="gradient mode 'bptt' is unknown"):
        ep_gradient(PhasorBackend(tank), drive, cost, mode="bptt")
    with pytest.raises(ConfigError, match="gradient nudge 'open' is unknown"):
        ep_gradient(PhasorBackend(tank), drive, cost, nudge="open")


def test_frozen_default_keeps_precision_on_a_stiff_network():
    # Values over nine decades: the nudge reaches some elements very weakly, and a
    # small beta loses their gradient in the rounding of the measured conjugates.
    from hwep.builders import lc_lattice
    from hwep.network import Network

    graph = lc_lattice(
        4,
        4,
        L=["1n", "1"],
        C=["1f", "1m"],
        ground_L=["1n", "1"],
        inputs=["n0_0", "n3_3"],
        outputs=["n0_3", "n3_0"],
        seed=4,
    )
    net = Network(graph)
    backend = PhasorBackend(net)
    rng = np.random.default_rng(1)
    drive = Drive(2 * np.pi * np.array([1e3]), rng.normal(size=(2, 1, 2)) + 0j)
    outputs = backend.run(drive).outputs
    cost = QuadraticCost(outputs * 1.05 + 0.01 * np.abs(outputs).max())
    values = net.values()
    exact = values * adjoint_gradient(backend, drive, cost).grad
    default = values * ep_gradient(backend, drive, cost).grad
    small = values * ep_gradient(backend, drive, cost, nudge_ratio=1e-3).grad
    assert _relative(default, exact) < 1e-3 < 1e-1 < _relative(small, exact)
