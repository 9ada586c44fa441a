"""Phasor solver: analytic responses, singular drives, Woodbury and adjoint solves."""

import networkx as nx
import numpy as np
import pytest
from conftest import random_drive, random_network

from hwep.backends import Drive, PhasorBackend
from hwep.builders import lc_ladder
from hwep.errors import InvalidNetworkError, SingularSystemError
from hwep.network import Network
from hwep.solvers.phasor import PhasorSolver
from hwep.system import System


def test_parallel_rlc_impedance():
    R, L, C = 50.0, 1e-3, 1e-6
    G = nx.MultiGraph(ground="g", inputs=["a"], outputs=["a"])
    G.add_edge("a", "g", kind="resistor", value=R)
    G.add_edge("a", "g", kind="inductor", value=L)
    G.add_edge("a", "g", kind="capacitor", value=C)
    omega = np.array([1e4, 3.1e4, 1e5])
    out = (
        PhasorBackend(Network(G)).run(Drive(omega, np.ones((1, 3, 1)))).outputs[0, :, 0]
    )
    s = 1j * omega
    Z = 1.0 / (1 / R + 1 / (s * L) + s * C)
    np.testing.assert_allclose(s * out, Z, rtol=1e-13)


def test_ladder_driving_point_impedance_is_the_continued_fraction():
    L1, C2, L3, C4, L5 = 1e-3, 2e-6, 3e-3, 1e-6, 2e-3
    net = Network(lc_ladder(5, L=[L1, L3, L5], C={"values": [C2, C4]}))
    omega = np.geomspace(1e3, 1e5, 7)
    s = 1j * omega
    x = PhasorBackend(net).run(Drive(omega, np.ones((1, 7, 1)))).outputs[0, :, 0]
    Z = s * L1 + 1 / (s * C2 + 1 / (s * L3 + 1 / (s * C4 + 1 / (s * L5))))
    np.testing.assert_allclose(s * x, Z, rtol=1e-12)


def test_complex_frequency_equals_uniform_loss():
    # Series R = σL and shunt G = σC on every element: the response at σ + iω.
    L, C, sigma = 1e-3, 1e-6, 300.0
    lossless = nx.MultiGraph(ground="g", inputs=["a"], outputs=["a"])
    lossless.add_edge("a", "g", kind="inductor", value=L)
    lossless.add_edge("a", "g", kind="capacitor", value=C)
    lossy = nx.MultiGraph(ground="g", inputs=["a"], outputs=["a"])
    lossy.add_edge("a", "b", kind="inductor", value=L)
    lossy.add_edge("b", "g", kind="resistor", value=sigma * L)
    lossy.add_edge("a", "g", kind="capacitor", value=C)
    lossy.add_edge("a", "g", kind="resistor", value=1 / (sigma * C))
    omega = np.array([2e4, 3e4, 4e4])
    shifted = PhasorBackend(Network(lossless)).run(
        Drive(omega, np.ones((1, 3, 1)), sigma)
    )
    physical = PhasorBackend(Network(lossy)).run(Drive(omega, np.ones((1, 3, 1))))
    s, s_shift = 1j * omega, sigma + 1j * omega
    np.testing.assert_allclose(
        s_shift * shifted.outputs[0, :, 0], s * physical.outputs[0, :, 0], rtol=1e-12
    )


def test_drive_on_a_resonance_is_explained(tank):
    with pytest.raises(
        SingularSystemError,
        match=r"drive at 159.155 Hz is on a resonance of the lossless network "
        r"\(mode at 159.155 Hz\)",
    ):
        PhasorBackend(tank).run(Drive(np.array([1000.0]), np.ones((1, 1, 1))))


def test_nonlinear_network_is_rejected():
    G = nx.MultiGraph(ground="g")
    G.add_edge("a", "g", kind="capacitor", value=1.0)
    G.add_edge("a", "g", kind="josephson", value=1e-6)
    with pytest.raises(
        InvalidNetworkError,
        match="josephson 'Ic1' .* is nonlinear; the phasor backend handles linear",
    ):
        PhasorSolver(System(Network(G)), [1j])


@pytest.mark.parametrize("seed", range(4))
def test_woodbury_matches_a_direct_solve(seed):
    net = random_network(seed, loss=0.05)
    rng = np.random.default_rng(seed)
    drive = random_drive(net, rng)
    system = System(net)
    solver = PhasorSolver(system, drive.s)
    rhs = np.zeros((drive.n_samples, drive.n_harmonics, system.n_nodes), complex)
    rhs[:, :, system.input_nodes] = drive.amplitude
    C = rng.uniform(
        0.1, 2.0, size=(drive.n_samples, drive.n_harmonics, len(net.outputs))
    )
    x = solver.solve_nudged(rhs, C)
    P = system.P.toarray()
    for i in range(drive.n_samples):
        for h, s_h in enumerate(drive.s):
            A = system.dynamic_matrix(s_h).toarray() + P.T @ np.diag(C[i, h]) @ P
            np.testing.assert_allclose(
                x[i, h], np.linalg.solve(A, rhs[i, h]), rtol=1e-10
            )


def test_adjoint_solve():
    net = random_network(11, loss=0.1)
    rng = np.random.default_rng(0)
    drive = random_drive(net, rng)
    system = System(net)
    solver = PhasorSolver(system, drive.s)
    e = rng.normal(size=(2, drive.n_harmonics, system.n_nodes)) + 0j
    lam = solver.solve_adjoint(e)
    for h, s_h in enumerate(drive.s):
        A = system.dynamic_matrix(s_h).toarray()
        np.testing.assert_allclose(A.conj().T @ lam[:, h].T, e[:, h].T, atol=1e-10)


def test_measured_conjugates_are_time_averages(tank):
    # ⟨½V²⟩ per capacitor and ⟨½I²⟩ per inductor for a single tone: ¼|V|², ¼|I|².
    omega = 500.0
    m = PhasorBackend(tank).run(Drive(np.array([omega]), np.full((1, 1, 1), 2.0)))
    x = m.outputs[0, 0, 0]
    L, C = 1e-2, 1e-4
    assert x == pytest.approx(2.0 / (1 / L - omega**2 * C))
    voltage, current = 1j * omega * x, x / L
    np.testing.assert_allclose(
        m.conjugates[0],
        [0.25 * abs(current) ** 2, 0.25 * abs(voltage) ** 2],
        rtol=1e-13,
    )

    # The same by direct sampling of one period of the real signals.
    t = np.linspace(0, 2 * np.pi / omega, 4001)[:-1]
    v = np.real(voltage * np.exp(1j * omega * t))
    i = np.real(current * np.exp(1j * omega * t))
    np.testing.assert_allclose(
        m.conjugates[0], [np.mean(0.5 * i**2), np.mean(0.5 * v**2)], rtol=1e-12
    )
