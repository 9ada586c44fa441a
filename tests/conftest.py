"""Shared fixtures and random network generators for the tests."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from hwep.backends import Drive
from hwep.network import Network
from hwep.system import System

LOSSLESS_KINDS = {
    "circuit": ("capacitor", "inductor"),
    "mechanical": ("mass", "spring"),
}


def random_network(
    seed: int,
    *,
    domain: str = "circuit",
    n_nodes: int | None = None,
    loss: float | None = None,
    n_inputs: int = 2,
    n_outputs: int = 2,
) -> Network:
    """A random connected network of the lossless kinds of a domain.

    Every node has a kinetic element to ground and a potential element to ground or to
    a neighbour; extra potential elements join random pairs, and circuits get floating
    capacitors too. ``loss`` adds a resistor (damper) from every node to ground with
    conductance ``loss`` times the node's kinetic coefficient (so Q ≈ ω / loss).
    """
    rng = np.random.default_rng(seed)
    n = n_nodes or int(rng.integers(3, 9))
    kinetic, potential = LOSSLESS_KINDS[domain]
    G = nx.MultiGraph(ground="g")
    nodes = [f"v{i}" for i in range(n)]
    tree = (
        nx.random_labeled_tree(n, seed=int(rng.integers(1 << 30)))
        if n > 1
        else nx.Graph()
    )
    for node in nodes:
        G.add_edge(node, "g", kind=kinetic, value=float(rng.uniform(0.5, 2.0)))
        if rng.random() < 0.6:
            G.add_edge(node, "g", kind=potential, value=float(rng.uniform(0.5, 2.0)))
        if loss is not None:
            damping = "resistor" if domain == "circuit" else "damper"
            coefficient = loss * G.edges[node, "g", 0]["value"]
            value = 1.0 / coefficient if damping == "resistor" else coefficient
            G.add_edge(node, "g", kind=damping, value=value)
    for a, b in tree.edges:
        G.add_edge(
            nodes[a], nodes[b], kind=potential, value=float(rng.uniform(0.5, 2.0))
        )
    for _ in range(int(rng.integers(0, n))):
        a, b = rng.choice(n, size=2, replace=False)
        G.add_edge(
            nodes[a], nodes[b], kind=potential, value=float(rng.uniform(0.5, 2.0))
        )
        if domain == "circuit" and rng.random() < 0.5:
            G.add_edge(
                nodes[a], nodes[b], kind="capacitor", value=float(rng.uniform(0.2, 1))
            )
    G.graph["inputs"] = [
        str(v) for v in rng.choice(nodes, min(n_inputs, n), replace=False)
    ]
    G.graph["outputs"] = [
        str(v) for v in rng.choice(nodes, min(n_outputs, n), replace=False)
    ]
    return Network(G)


def safe_frequency(
    network: Network, rng: np.random.Generator, margin: float = 0.1
) -> float:
    """An angular frequency at least ``margin`` (relative) away from every mode."""
    omega, _ = System(network).modes()
    for _ in range(1000):
        w = float(rng.uniform(0.2, 1.2 * max(omega.max(), 1.0)))
        if omega.size == 0 or np.min(np.abs(omega - w) / omega) > margin:
            return w
    raise RuntimeError("no frequency away from the modes")


def random_drive(
    network: Network,
    rng: np.random.Generator,
    *,
    n_samples: int = 3,
    n_harmonics: int = 2,
) -> Drive:
    """Random complex drive at frequencies away from the network's modes."""
    omega = np.array(sorted({safe_frequency(network, rng) for _ in range(n_harmonics)}))
    shape = (n_samples, omega.size, len(network.inputs))
    amplitude = rng.normal(size=shape) + 1j * rng.normal(size=shape)
    return Drive(omega, amplitude)


@pytest.fixture
def tank():
    """LC tank: L = 10 mH, C = 100 µF to ground at node 'a'; ω0 = 1000 rad/s."""
    G = nx.MultiGraph(ground="gnd", inputs=["a"], outputs=["a"])
    G.add_edge("a", "gnd", kind="inductor", value="10m")
    G.add_edge("a", "gnd", kind="capacitor", value="100u")
    return Network(G)
