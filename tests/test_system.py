"""Compiled matrices and modes against textbook results."""

import networkx as nx
import numpy as np
import pytest

from hwep.builders import lc_lattice, spring_chain
from hwep.network import Network
from hwep.system import System


def test_lc_tank_resonance(tank):
    omega, _ = System(tank).modes()
    # 1/sqrt(LC) with L = 10 mH, C = 100 µF: 1000 rad/s, 159.155 Hz.
    assert omega == pytest.approx([1000.0], rel=1e-12)


def test_uniform_chain_modes_are_textbook():
    n, m, k = 6, 0.5, 200.0
    omega, _ = System(Network(spring_chain(n, m=m, k=k))).modes()
    expected = 2 * np.sqrt(k / m) * np.sin(np.arange(1, n + 1) * np.pi / (2 * (n + 1)))
    np.testing.assert_allclose(omega, expected, rtol=1e-12)


def test_matrices_are_symmetric_and_assembled_from_elements():
    system = System(
        Network(lc_lattice(3, 4, L=(1e-3, 2e-3), C=(1e-6, 2e-6), R=1e3, seed=2))
    )
    for matrix in (system.M, system.D, system.K):
        assert abs(matrix - matrix.T).max() == 0
    # Row sums of K vanish except where a node connects to ground (no ground L here).
    np.testing.assert_allclose(np.asarray(system.K.sum(axis=1)).ravel(), 0, atol=1e-9)
    np.testing.assert_allclose(
        system.M.diagonal(),
        [e.value for e in system.network.elements if e.kind.name == "capacitor"],
    )
    np.testing.assert_allclose(system.D.diagonal(), 1e-3)


def test_massless_nodes_are_condensed():
    # Two capacitors joined through a node that only has inductors: a chain
    # C1 - L - (massless node) - L - C2 with both ends inductively grounded.
    G = nx.MultiGraph(ground="g")
    G.add_edge("a", "g", kind="capacitor", value=1.0)
    G.add_edge("b", "g", kind="capacitor", value=1.0)
    G.add_edge("a", "m", kind="inductor", value=1.0)
    G.add_edge("m", "b", kind="inductor", value=1.0)
    G.add_edge("m", "g", kind="inductor", value=1.0)
    omega, vectors = System(Network(G)).modes()
    # Eliminating m: K_eff = [[1,0],[0,1]] - [1,1]^T [1,1] / 3 → eigenvalues 1/3 and 1.
    np.testing.assert_allclose(omega**2, [1 / 3, 1.0], rtol=1e-12)
    assert vectors.shape == (3, 2)


def test_mobility_analogy_gives_identical_responses():
    chain = Network(spring_chain(5, m=(0.5, 2.0), k=(50, 150), c=(0.1, 0.3), seed=7))
    G = nx.MultiGraph(
        ground="gnd", inputs=list(chain.inputs), outputs=list(chain.outputs)
    )
    twin_kind = {"mass": "capacitor", "spring": "inductor", "damper": "resistor"}
    for element in chain.elements:
        kind = twin_kind[element.kind.name]
        value = element.value if kind == "capacitor" else 1.0 / element.value
        G.add_edge(*element.nodes, kind=kind, value=value)
    circuit = System(Network(G))
    mechanical = System(chain)
    for s in (3j, 10j + 0.5):
        np.testing.assert_allclose(
            circuit.dynamic_matrix(s).toarray(),
            mechanical.dynamic_matrix(s).toarray(),
            rtol=1e-14,
        )


def test_quality_factor_of_a_parallel_rlc():
    G = nx.MultiGraph(ground="g")
    G.add_edge("a", "g", kind="capacitor", value=1e-6)
    G.add_edge("a", "g", kind="inductor", value=1e-3)
    G.add_edge("a", "g", kind="resistor", value=1e3)
    omega, Q = System(Network(G)).modal_quality()
    # Parallel RLC: Q = R sqrt(C/L) = 1000 * sqrt(1e-3) = 31.62.
    assert Q == pytest.approx([1e3 * np.sqrt(1e-6 / 1e-3)], rel=1e-12)
    assert omega == pytest.approx([1 / np.sqrt(1e-9)], rel=1e-12)
