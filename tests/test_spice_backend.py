"""Tests of hwep.spice.backend: ngspice phases against the native model.

Tolerances: ``.ac`` is the same linear algebra as the native solver, so node phasors
agree to round-off (asserted: 1e-6 relative, the acceptance bound; observed ~1e-15).
``.tran`` integrates with fixed trapezoid steps: its frequency error (ωh)²/12 and the
start-up transient left by ``settle_tolerance`` bound it to ~1e-3 at 64 steps per
period; gradients through it are held to cosine >= 0.99 on a network of Q >= 1000.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import networkx as nx
import numpy as np
import pytest
from conftest import random_drive, random_network
from spice_cases import (  # noqa: F401
    example_batch,
    harmonic_examples,
    high_q_lattice,
    ngspice,
    random_chain,
    tank,
)

from hwep.backends import Drive, PhasorBackend, make_backend
from hwep.costs import CrossEntropyCost, QuadraticCost
from hwep.elements import FLUX_QUANTUM_WB
from hwep.ep import ep_gradient
from hwep.errors import (
    ConfigError,
    HwepWarning,
    InvalidNetworkError,
    SimulatorError,
    SimulatorMissingError,
)
from hwep.network import Network
from hwep.reference import dissipation_report
from hwep.spice import NgspiceBackend
from hwep.spice import backend as backend_module
from hwep.spice.export import compile_netlist
from hwep.spice.runner import run_netlist
from hwep.system import System
from hwep.train import cosine

pytestmark = pytest.mark.usefixtures("ngspice")

EXAMPLES = harmonic_examples()


def node_phasors(network: Network, drive: Drive, sample: int, harmonic: int):
    """Every node's flux phasor from a plain ngspice run, (n_nodes,)."""
    text = compile_netlist(network, drive, sample=sample, harmonic=harmonic)
    from hwep.spice.netlist import Netlist

    nets = Netlist(network).node_nets
    result = run_netlist(text)
    return np.array([result.voltage(net)[0] for net in nets]) / drive.s[harmonic]


def relative(a, b) -> float:
    """max |a − b| / max |b|."""
    return float(np.max(np.abs(np.asarray(a) - b)) / np.max(np.abs(b)))


# -- .ac against the native phasor solver ----------------------------------------------


def test_examples_are_found():
    assert {"iris_lc_lattice", "ladder_reactance", "spring_chain"} <= set(EXAMPLES)


@pytest.mark.parametrize("name", EXAMPLES)
def test_ac_node_phasors_of_examples_match_native(name):
    network, drive, cost, _ = example_batch(name, samples=2)
    native = PhasorBackend(network)
    X = native.solver(drive.s).solve(_rhs(native, drive))
    for i in range(drive.n_samples):
        for h in range(drive.n_harmonics):
            assert relative(node_phasors(network, drive, i, h), X[i, h]) < 1e-6

    # Through the backend: outputs, branch phasors, conjugates, residual.
    with NgspiceBackend(network) as backend:
        measured = backend.run(drive, record_branches=True)
    reference = native.run(drive, record_branches=True)
    assert relative(measured.outputs, reference.outputs) < 1e-6
    assert relative(measured.branches, reference.branches) < 1e-6
    known = np.isfinite(reference.conjugates)
    assert relative(measured.conjugates[known], reference.conjugates[known]) < 1e-6
    assert measured.residual < 1e-9
    assert measured.extra["spice_runs"] == drive.n_samples * drive.n_harmonics


@pytest.mark.parametrize("seed", range(10))
def test_ac_node_phasors_of_random_lattices_and_chains_match_native(seed):
    rng = np.random.default_rng(seed)
    for network in (random_network(seed, n_nodes=int(rng.integers(3, 9))), None):
        if network is None:
            network = random_chain(seed)
        drive = random_drive(network, rng, n_samples=1, n_harmonics=2)
        native = PhasorBackend(network)
        X = native.solver(drive.s).solve(_rhs(native, drive))
        for h in range(drive.n_harmonics):
            assert relative(node_phasors(network, drive, 0, h), X[0, h]) < 1e-6


def test_sigma_netlist_at_i_omega_equals_native_at_sigma_plus_i_omega():
    # Ladder with uniform loss: node voltages equal; the flux is V / (σ + iω).
    network, drive, _, _ = example_batch("ladder_reactance", samples=1)
    assert drive.sigma > 0
    native = PhasorBackend(network)
    X = native.solver(drive.s).solve(_rhs(native, drive))
    text = compile_netlist(network, drive, harmonic=5)
    assert ".param g_sigma=1e+04" in text
    voltage = run_netlist(text).voltage("n_n1")[0]
    assert voltage == pytest.approx(drive.s[5] * X[0, 5, 0], rel=1e-9)
    assert abs(voltage / (1j * drive.omega[5]) - X[0, 5, 0]) > 0.1 * abs(X[0, 5, 0])


# -- gradients -------------------------------------------------------------------------


@pytest.mark.parametrize("name", EXAMPLES)
def test_ac_gradient_matches_native_exact_on_examples(name):
    network, drive, cost, trainer = example_batch(name, samples=3)
    settings = trainer.gradient.as_kwargs()
    with NgspiceBackend(network) as backend:
        estimate = ep_gradient(backend, drive, cost, **settings)
    exact = ep_gradient(PhasorBackend(network), drive, cost, mode="adjoint")
    assert cosine(estimate.grad, exact.grad) >= 0.9999
    assert relative(estimate.grad, exact.grad) < 1e-6
    assert estimate.loss == pytest.approx(exact.loss, rel=1e-9)


@pytest.mark.parametrize("mode", ["ep", "reciprocal"])
@pytest.mark.parametrize("nudge", ["frozen", "closed"])
def test_ac_gradient_modes_match_native_on_random_networks(mode, nudge):
    rng = np.random.default_rng(7)
    network = random_network(11, n_nodes=6, loss=0.02)
    drive = random_drive(network, rng, n_samples=2, n_harmonics=2)
    target = rng.normal(size=drive.amplitude.shape[:2] + (2,))
    cost = QuadraticCost(target + 0.1j, observable="voltage")
    with NgspiceBackend(network) as backend:
        spice = ep_gradient(backend, drive, cost, mode=mode, nudge=nudge).grad
    native = ep_gradient(PhasorBackend(network), drive, cost, mode=mode, nudge=nudge)
    known = np.isfinite(native.grad)
    assert cosine(spice[known], native.grad[known]) >= 0.9999
    assert relative(spice[known], native.grad[known]) < 1e-6


def test_tran_gradient_on_a_high_q_lattice_and_the_loss_bias():
    network, drive = high_q_lattice(quality=1000.0)
    _, Q = System(network).modal_quality()
    assert Q.min() >= 1000.0
    labels = np.array([1])
    cost = CrossEntropyCost(labels, gain=4.0, reference=1e-7)

    with NgspiceBackend(network, analysis="tran", settle_tolerance=1e-2) as backend:
        start = time.perf_counter()
        spice = ep_gradient(backend, drive, cost)
        seconds = time.perf_counter() - start
    native = PhasorBackend(network)
    exact = ep_gradient(native, drive, cost, mode="adjoint").grad
    plain = ep_gradient(native, drive, cost).grad  # the same estimator, natively

    # Loss biases plain EP: measured natively, and bounded (hwep.reference eq. 2).
    bias = np.abs(plain - exact)
    bound = dissipation_report(native, drive, cost)["bound"]
    assert np.all(bias <= bound + 1e-12 * np.abs(exact).max())
    assert cosine(spice.grad, exact) >= 0.99
    assert cosine(spice.grad, plain) >= 0.999
    print(
        f"\ntran Q>={Q.min():.0f}: cos(ngspice EP, exact) = "
        f"{cosine(spice.grad, exact):.6f}, cos(native EP, exact) = "
        f"{cosine(plain, exact):.6f}, loss bias {bias.max() / np.abs(exact).max():.2e}"
        f" (bound {bound.max() / np.abs(exact).max():.2e}), {seconds:.1f} s"
    )


def test_tran_outputs_match_native_with_two_harmonics():
    network = random_chain(3)
    network = Network(
        _with_dampers(network.to_graph(), 0.02),
    )
    omega, _ = System(network).modes()
    drive = Drive(omega.min() * np.array([0.4, 1.2]), np.array([[[1.0], [0.3j]]]))
    with NgspiceBackend(network, analysis="tran", points_per_period=128) as backend:
        measured = backend.run(drive, record_branches=True)
    native = PhasorBackend(network).run(drive, record_branches=True)
    assert relative(measured.outputs, native.outputs) < 2e-3
    assert relative(measured.branches, native.branches) < 2e-3
    assert relative(measured.conjugates, native.conjugates) < 4e-3
    assert measured.extra["periods"] > 10 and measured.residual != measured.residual


# -- nudges ----------------------------------------------------------------------------


@pytest.mark.parametrize("sigma", [0.0, 0.3])
@pytest.mark.parametrize("observable", ["flux", "voltage"])
@pytest.mark.parametrize("element", ["coupling", "source"])
def test_closed_loop_nudges_equal_the_native_closed_loop(element, observable, sigma):
    rng = np.random.default_rng(1)
    network = random_network(1, n_nodes=5)
    drive = random_drive(network, rng, n_samples=2, n_harmonics=2)
    drive = Drive(drive.omega, drive.amplitude, sigma)
    target = 0.3 * (rng.normal(size=(2, 2, 2)) + 1j * rng.normal(size=(2, 2, 2)))
    cost = QuadraticCost(target, weight=[0.7, 1.3], observable=observable)
    native = PhasorBackend(network)
    with NgspiceBackend(network, nudge_element=element) as backend:
        for beta in (0.05, -0.05):
            spice = backend.run(drive, beta=beta, cost=cost)
            reference = native.run(drive, beta=beta, cost=cost)
            assert relative(spice.outputs, reference.outputs) < 1e-9
            assert relative(spice.conjugates, reference.conjugates) < 1e-9
            assert spice.iterations == (
                1 if element == "coupling" else pytest.approx(10, abs=4)
            )


def test_coupling_at_one_frequency_is_passive_for_both_signs():
    network = random_network(2, n_nodes=4)
    drive = random_drive(network, np.random.default_rng(2), n_samples=1, n_harmonics=1)
    cost = QuadraticCost(np.ones((1, 1, 2)))
    with NgspiceBackend(network, nudge_element="coupling") as backend:
        netlist, _ = backend._compile(drive)
        couplings = backend._couplings(drive, 0.1, cost, netlist)
        assert couplings[0][0].kind == "inductor" and np.all(couplings[0][0].value > 0)
        couplings = backend._couplings(drive, -0.1, cost, netlist)
        assert couplings[0][0].kind == "capacitor" and np.all(couplings[0][0].value > 0)


def test_coupling_needs_a_quadratic_cost():
    network, drive, cost, _ = example_batch("iris_lc_lattice", samples=2)
    with NgspiceBackend(network, nudge_element="coupling") as backend:
        with pytest.raises(ConfigError, match=r"coupling' needs a quadratic cost"):
            backend.run(drive, beta=0.1, cost=cost)


def test_tran_coupling_and_sources_agree_with_the_native_nudge():
    network, drive = high_q_lattice()
    native = PhasorBackend(network)
    free = native.run(drive)
    cost = QuadraticCost(free.outputs * (0.5 + 0.3j))
    beta = 0.05 / np.linalg.norm(native.output_compliance(drive)[0], 2)
    expected = native.run(drive, beta=beta, cost=cost).outputs - free.outputs
    for element in ("coupling", "source"):
        with NgspiceBackend(network, analysis="tran", nudge_element=element) as backend:
            response = backend.run(drive, beta=beta, cost=cost).outputs
            response = response - backend.run(drive).outputs
        assert relative(response, expected) < 2e-2


def test_frozen_injection_superposes_in_tran():
    network, drive = high_q_lattice()
    injection = np.array([[[1e-4, 2e-4j]]])
    with NgspiceBackend(network, analysis="tran", settle_tolerance=1e-2) as backend:
        free = backend.run(drive)
        both = backend.run(drive, injection=injection)
        alone = backend.run(drive.zeros(), injection=injection)
    # One circuit, one grid: the start-up transients cancel to round-off.
    assert relative(both.outputs - free.outputs, alone.outputs) < 1e-10


# -- nonlinear elements in .tran -------------------------------------------------------


def damped_nonlinear(kind: str) -> tuple[Network, Drive]:
    """Two damped nodes (Q = 50); node a holds ``kind``, ~30% nonlinear at the drive."""
    G = nx.MultiGraph(ground="g", inputs=["a"], outputs=["a", "b"])
    L, C = 1e-3, 1e-6
    if kind == "josephson":
        L, C = FLUX_QUANTUM_WB / (2 * np.pi * 1e-6), 1e-12
    w0 = 1 / np.sqrt(L * C)
    flux = {"duffing_inductor": 1e-6, "josephson": 0.8 * FLUX_QUANTUM_WB / (2 * np.pi)}
    flux["varactor"] = 1e-3 / w0
    if kind == "duffing_inductor":
        G.add_edge("a", "g", kind=kind, value=L, a3=0.3 / (L * 1e-12))
    elif kind == "josephson":
        G.add_edge("a", "g", kind=kind, value=1e-6)
    else:
        G.add_edge("a", "g", kind="inductor", value=L)
    if kind == "varactor":
        G.add_edge("a", "g", kind=kind, value=C, a=0.3 / (0.2e-3) ** 2)
    else:
        G.add_edge("a", "g", kind="capacitor", value=C)
    for node in ("a", "b"):
        G.add_edge(node, "g", kind="resistor", value=50 / (w0 * C))
    G.add_edge("a", "b", kind="inductor", value=2 * L)
    G.add_edge("b", "g", kind="capacitor", value=C)
    G.add_edge("b", "g", kind="inductor", value=3 * L)
    network = Network(G)
    w = 0.2 * System(network).modes()[0].min()
    A = System(network).dynamic_matrix(1j * w).toarray()
    amplitude = flux[kind] / abs(np.linalg.inv(A)[0, 0])
    return network, Drive(np.array([w]), np.array([[[amplitude]]]))


@pytest.mark.parametrize(
    "kind", ["duffing_inductor", "josephson", "varactor", "duffing_spring"]
)
def test_nonlinear_elements_as_b_sources_match_the_periodic_backend(kind):
    from hwep.trajectory import PeriodicBackend

    if kind == "duffing_spring":
        network, drive = _duffing_chain()
    else:
        network, drive = damped_nonlinear(kind)
    reference = PeriodicBackend(network, n_steps=512).run(drive)
    options = {"points_per_period": 256, "settle_tolerance": 1e-6}
    with NgspiceBackend(network, **options) as backend:  # "auto": .tran
        assert backend.analysis == "tran"
        measured = backend.run(drive)
    linear = PhasorBackend(_linearized(network)).run(drive)
    nonlinearity = max(
        relative(linear.outputs, reference.outputs),
        relative(linear.conjugates, reference.conjugates),
    )
    assert nonlinearity > 1e-2  # the nonlinear term matters
    assert relative(measured.outputs, reference.outputs) < 2e-3
    assert relative(measured.conjugates, reference.conjugates) < 5e-3


# -- parallel workers ------------------------------------------------------------------


def test_worker_pool_matches_serial_and_ends_its_processes():
    network, drive, cost, _ = example_batch("iris_lc_lattice", samples=6)
    with NgspiceBackend(network) as serial:
        expected = serial.run(drive, record_branches=True)
    backend = NgspiceBackend(network, workers=2, mode="shared")
    first = backend.run(drive, record_branches=True)
    second = backend.run(drive)  # the same pool, reused
    processes = list(backend._pool._processes.values())
    assert len(processes) == 2 and all(p.is_alive() for p in processes)
    np.testing.assert_array_equal(first.outputs, expected.outputs)
    np.testing.assert_array_equal(first.branches, expected.branches)
    np.testing.assert_array_equal(second.conjugates, expected.conjugates)
    backend.close()
    assert backend._pool is None and not any(p.is_alive() for p in processes)


def test_a_dead_worker_is_reported_and_the_pool_restarts():
    network, drive = high_q_lattice()
    long = Drive(drive.omega, np.repeat(drive.amplitude, 2, axis=0))
    backend = NgspiceBackend(network, analysis="tran", workers=2, periods=20000)
    killer = threading.Timer(3.0, _kill_a_worker, args=(backend,))
    killer.start()
    try:
        with pytest.raises(
            SimulatorError, match=r"worker process died during the free"
        ):
            backend.run(long)
        assert backend._pool is None
        short = NgspiceBackend(network, analysis="tran", workers=2, periods=50)
        short._pool, backend._pool = backend._pool, None
        assert short.run(long).outputs.shape == (2, 1, 2)
        short.close()
    finally:
        killer.cancel()
        backend.close()


# -- errors ----------------------------------------------------------------------------


def test_missing_ngspice_is_a_clear_error(monkeypatch):
    reason = "the ngspice program was not found on PATH; install ngspice"
    monkeypatch.setattr(
        backend_module, "ngspice_available", lambda mode: (False, reason)
    )
    with pytest.raises(SimulatorMissingError, match=r"ngspice backend cannot run: the"):
        make_backend("ngspice", tank())


def test_failure_mid_run_names_the_phase_and_sample(monkeypatch, tmp_path):
    network = random_chain(4)
    omega = np.array([2.0, 5.0])
    amplitude = np.arange(1, 7, dtype=complex).reshape(3, 2, 1)
    drive = Drive(omega, amplitude)
    original = backend_module.Netlist.ac

    def broken(self, amplitude, omega, **kwargs):
        text = original(self, amplitude, omega, **kwargs)
        if amplitude[0] != 6:  # sample 2, harmonic 2
            return text
        return text.replace("c_m1 ", "c_m1 n_nowhere ")  # a capacitor of 3 nodes

    monkeypatch.setattr(backend_module.Netlist, "ac", broken)
    with NgspiceBackend(network, workdir=str(tmp_path)) as backend:
        with pytest.raises(
            SimulatorError,
            match=r"ngspice failed in the free phase, sample 2 of 3, harmonic 2 "
            r"\(0\.795775 Hz\): ngspice could not parse",
        ) as info:
            backend.run(drive)
    assert info.value.netlist_path.startswith(str(tmp_path))


def test_timeout_mid_run_is_reported():
    network, drive = high_q_lattice()
    options = {"analysis": "tran", "periods": 50000, "timeout": 0.2}
    with NgspiceBackend(network, mode="subprocess", **options) as backend:
        with pytest.raises(
            SimulatorError, match=r"sample 0 of 1: ngspice did not finish"
        ):
            backend.run(drive)


def test_convergence_aid_is_reported_and_barely_changes_the_answer():
    network, drive, _, _ = example_batch("iris_lc_lattice", samples=2)
    with pytest.raises(InvalidNetworkError, match=r"is in a loop of inductors"):
        NgspiceBackend(network, operating_point=True).run(drive)
    backend = NgspiceBackend(network, operating_point=True, convergence_aid=True)
    with pytest.warns(HwepWarning, match=r"convergence aid added to 'iris_lc_lattice'"):
        measured = backend.run(drive)
    inductors = [e for e in network.elements if e.kind.name == "inductor"]
    assert len(measured.extra["convergence_aid"]) == len(inductors) == 21
    native = PhasorBackend(network).run(drive)
    assert relative(measured.outputs, native.outputs) < 1e-6


def test_floating_node_in_tran_with_a_leak():
    G = nx.MultiGraph(ground="g", inputs=["a"], outputs=["f"])
    G.add_edge("a", "g", kind="inductor", value=1.0)
    G.add_edge("a", "g", kind="capacitor", value=1.0)
    G.add_edge("a", "f", kind="capacitor", value=0.5)
    G.add_edge("f", "g", kind="capacitor", value=2.0)
    G.add_edge("a", "g", kind="resistor", value=300.0)
    network = Network(G)
    drive = Drive(np.array([0.5]), np.ones((1, 1, 1)))
    with pytest.raises(InvalidNetworkError, match=r"node 'f' \(net n_f\)"):
        NgspiceBackend(network, analysis="tran").run(drive)
    backend = NgspiceBackend(network, analysis="tran", convergence_aid=True)
    with pytest.warns(HwepWarning, match=r"leak resistor raid_f"):
        measured = backend.run(drive)
    native = PhasorBackend(network).run(drive)
    assert relative(measured.outputs, native.outputs) < 2e-2


def test_bad_options_and_drives_are_named():
    with pytest.raises(
        ConfigError, match=r"analysis = 'dc' is unknown .* 'ac', 'tran'"
    ):
        NgspiceBackend(tank(), analysis="dc")
    with pytest.raises(ConfigError, match=r"workers must be an integer >= 1, got 0"):
        NgspiceBackend(tank(), workers=0)
    drive = Drive(np.array([1.0, np.pi]), np.ones((1, 2, 1)))
    with pytest.raises(ConfigError, match=r"have no common period"):
        NgspiceBackend(tank(R=10.0), analysis="tran").run(drive)
    with pytest.raises(ConfigError, match=r"takes a harmonic Drive, not ndarray"):
        NgspiceBackend(tank()).run(np.ones(3))


# -- helpers ---------------------------------------------------------------------------


def _rhs(native: PhasorBackend, drive: Drive) -> np.ndarray:
    """Node currents of the drive, (n_samples, n_harmonics, n_nodes)."""
    rhs = np.zeros((drive.n_samples, drive.n_harmonics, native.system.n_nodes), complex)
    rhs[:, :, native.system.input_nodes] = drive.amplitude
    return rhs


def _with_dampers(graph: nx.MultiGraph, ratio: float) -> nx.MultiGraph:
    """A damper c = ratio·k̄ at every mass (Q of tens to hundreds)."""
    for node in [n for n in graph.nodes if n != graph.graph["ground"]]:
        graph.add_edge(node, graph.graph["ground"], kind="damper", value=ratio * 10)
    return graph


def _duffing_chain() -> tuple[Network, Drive]:
    """Two masses, Duffing springs, dampers (Q ~ 200); drive at 0.2 of mode 1."""
    G = nx.MultiGraph(ground="g", inputs=["x1"], outputs=["x2"])
    for i, node in enumerate(["x1", "x2"]):
        G.add_edge(node, "g", kind="mass", value=1.0 + 0.2 * i)
        G.add_edge(node, "g", kind="damper", value=0.05)
    G.add_edge("g", "x1", kind="duffing_spring", value=100.0, k3=3e4)
    G.add_edge("x1", "x2", kind="duffing_spring", value=80.0, k3=2e4)
    G.add_edge("x2", "g", kind="spring", value=120.0)
    network = Network(G)
    w = 0.2 * System(network).modes()[0].min()
    return network, Drive(np.array([w]), np.array([[[5.0]]]))


def _linearized(network: Network) -> Network:
    """The network with every nonlinear coefficient set to zero (or a linear L)."""
    graph = network.to_graph()
    for *_, data in graph.edges(data=True):
        if "k3" in data:
            data["k3"] = 0.0
        if "a3" in data:
            data["a3"] = 0.0
        if data["kind"] == "varactor":
            data["a"] = 0.0
        if data["kind"] == "josephson":
            data.update(
                kind="inductor",
                value=data["phi0"] / (2 * np.pi * data["value"]),
            )
            data.pop("phi0")
            data["trainable"] = True
    return Network(graph)


def _kill_a_worker(backend: NgspiceBackend) -> None:
    """SIGKILL one of the backend's own worker processes (the test started them)."""
    pool = backend._pool
    if pool is not None and pool._processes:
        pid = next(iter(pool._processes))
        os.kill(pid, signal.SIGKILL)
