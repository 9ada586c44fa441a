"""Shared fixture and networks of the ngspice tests (tests/test_spice_*.py).

Tests that need ngspice use the ``ngspice`` fixture: it skips them with the reason
when ngspice is missing, and fails them when HWEP_REQUIRE_NGSPICE=1 (as in CI).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from hwep.backends import Drive
from hwep.builders import lc_lattice, spring_chain
from hwep.config import load_config
from hwep.network import Network
from hwep.spice.runner import require_ngspice

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"


@pytest.fixture(scope="session")
def ngspice():
    """Skip when ngspice is missing, unless HWEP_REQUIRE_NGSPICE asks to fail."""
    available, reason = require_ngspice("both")
    if not available:
        pytest.skip(reason)


def harmonic_examples() -> list[str]:
    """Names of the example configs whose task drives harmonics (phasor tasks)."""
    names = []
    for path in sorted(EXAMPLES.glob("*.toml")):
        trainer = example_trainer(path.stem)
        if isinstance(trainer.task.drive, Drive) and trainer.network.is_linear:
            names.append(path.stem)
    return names


def example_trainer(name: str, **overrides):
    """A Trainer of ``examples/<name>.toml`` on the phasor backend (files untouched)."""
    from hwep.train import Trainer

    config = load_config(EXAMPLES / f"{name}.toml")
    with tempfile.TemporaryDirectory() as scratch:
        return Trainer(config, out_dir=scratch, backend="phasor", **overrides)


def example_batch(name: str, samples: int = 4):
    """(network, drive, cost, gradient settings) of an example's first samples."""
    trainer = example_trainer(name)
    drive, cost = trainer.task.batch(trainer.task.train[:samples])
    return trainer.network, drive, cost.with_digital(trainer.digital()), trainer


def random_chain(seed: int) -> Network:
    """A spring chain with random masses, springs, walls and ports."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 7))
    walls = ("both", "left")[int(rng.integers(2))]
    graph = spring_chain(
        n,
        m=[0.2, 5.0],
        k=[20.0, 500.0],
        walls=walls,
        inputs=[f"x{1 + int(rng.integers(n))}"],
        outputs=[f"x{n}", f"x{1 + n // 2}"] if n > 2 else [f"x{n}"],
        seed=seed,
    )
    return Network(graph)


def high_q_lattice(quality: float = 1000.0, seed: int = 0) -> tuple[Network, Drive]:
    """3x3 LC lattice with a resistor per node giving every mode Q >= ``quality``.

    Each node's R = quality / (ω_max C): a mode at ω_n has Q_n ≈ ω_n R C, smallest
    for the lowest mode; R is sized on the highest to leave margin. The drive is a
    1 kHz tone, below every mode (near 2.5 kHz and up), into two nodes.
    """
    graph = lc_lattice(
        3,
        3,
        L=["1m", "3m"],
        C=["1u", "3u"],
        ground_L=["1m", "3m"],
        inputs=["n0_0", "n2_2"],
        outputs=["n0_2", "n1_1"],
        seed=seed,
    )
    lossless = Network(graph)
    from hwep.system import System

    omega, _ = System(lossless).modes()
    for node in [f"n{i}_{j}" for i in range(3) for j in range(3)]:
        C = next(
            d["value"]
            for _, other, d in graph.edges(node, data=True)
            if d["kind"] == "capacitor"
        )
        graph.add_edge(
            node,
            "gnd",
            kind="resistor",
            value=4 * quality / (omega.max() * C),
            name=f"R_{node}",
        )
    amplitude = np.array([[[1e-3, 0.5e-3j]]])
    return Network(graph), Drive(np.array([2 * np.pi * 1e3]), amplitude)


def tank(*, R: float | None = None) -> Network:
    """LC tank at node 'a': L = 10 mH, C = 100 µF (ω0 = 1000 rad/s), optional R."""
    graph = nx.MultiGraph(ground="gnd", inputs=["a"], outputs=["a"])
    graph.add_edge("a", "gnd", kind="inductor", value="10m")
    graph.add_edge("a", "gnd", kind="capacitor", value="100u")
    if R is not None:
        graph.add_edge("a", "gnd", kind="resistor", value=R)
    return Network(graph)
