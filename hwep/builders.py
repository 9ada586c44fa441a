"""Ready-made networks: LC ladders, 2D LC lattices and spring–mass chains.

Each builder returns a ``networkx.MultiGraph`` with ground, ports and element data set,
ready for ``Network``. Values are given as

- a number or a suffixed string (``"1m"``): every element gets it;
- a pair ``(low, high)`` or a table ``{low, high}``: each element draws log-uniformly
  from that range with the builder's seeded generator, so a seed reproduces the graph
  exactly;
- a list with one value per element (of any length but 2, which reads as a range), or
  a table ``{values = [...]}`` of any length.

Node names are strings (``"n0_1"`` for row 0, column 1 of a lattice) so that graphs
survive GraphML and GML round trips unchanged. Ground is ``"gnd"``.
"""

from __future__ import annotations

from collections.abc import Sequence

import networkx as nx
import numpy as np

from .errors import InvalidNetworkError
from .units import parse_value

__all__ = ["lc_ladder", "lc_lattice", "spring_chain", "draw_values"]

GROUND = "gnd"


def draw_values(
    spec: object, n: int, rng: np.random.Generator, *, what: str = "value"
) -> list[float]:
    """Turn a value spec into ``n`` SI floats (see the module docstring).

    Raises
    ------
    InvalidNetworkError
        When the spec is neither a value, a (low, high) pair nor a list of ``n``.
    """
    if isinstance(spec, (str, int, float)):
        return [parse_value(spec, what=what)] * n
    if isinstance(spec, dict):
        if set(spec) == {"values"} and len(spec["values"]) == n:
            return [parse_value(v, what=what) for v in spec["values"]]
        if set(spec) == {"low", "high"}:
            spec = [spec["low"], spec["high"]]
        else:
            raise InvalidNetworkError(
                f"{what}: a table must be {{values = [{n} values]}} or {{low, high}}, "
                f"got {spec!r}"
            )
    spec = list(spec)
    if len(spec) == n and n != 2:
        return [parse_value(v, what=what) for v in spec]
    if len(spec) == 2:
        low, high = (parse_value(v, what=what) for v in spec)
        if not 0 < low <= high:
            raise InvalidNetworkError(
                f"{what}: range ({low:g}, {high:g}) needs 0 < low <= high"
            )
        return list(np.exp(rng.uniform(np.log(low), np.log(high), size=n)))
    raise InvalidNetworkError(
        f"{what}: expected a value, a (low, high) range or {n} values; got {len(spec)}"
    )


def lc_ladder(
    n_elements: int = 5,
    *,
    L: object = "1m",
    C: object = "1u",
    seed: int | None = 0,
) -> nx.MultiGraph:
    """A Cauer ladder: series inductors alternating with shunt capacitors.

    Element 1 is a series inductor from the port node ``n1``; odd elements are series
    inductors, even ones shunt capacitors to ground; a final series inductor closes to
    ground. The driving-point impedance at ``n1`` is the continued fraction

        Z(s) = sL1 + 1 / (sC2 + 1 / (sL3 + 1 / (sC4 + ...))).

    Parameters
    ----------
    n_elements : int
        Number of elements, >= 1.
    L, C : value spec
        Inductances in H and capacitances in F (see ``draw_values``).
    seed : int or None
        Seed of the value generator.

    Returns
    -------
    networkx.MultiGraph
        Port ``n1`` is both the input and the output.
    """
    if n_elements < 1:
        raise InvalidNetworkError(f"a ladder needs n_elements >= 1, got {n_elements}")
    rng = np.random.default_rng(seed)
    n_L, n_C = (n_elements + 1) // 2, n_elements // 2
    Ls = draw_values(L, n_L, rng, what="ladder inductance")
    Cs = draw_values(C, n_C, rng, what="ladder capacitance")

    graph = nx.MultiGraph(name=f"lc_ladder_{n_elements}", ground=GROUND)
    node = "n1"
    for i in range(n_elements):
        if i % 2 == 0:
            last = i == n_elements - 1
            nxt = GROUND if last else f"n{i // 2 + 2}"
            graph.add_edge(
                node, nxt, kind="inductor", value=Ls[i // 2], name=f"L{i + 1}"
            )
            node = nxt
        else:
            graph.add_edge(
                node, GROUND, kind="capacitor", value=Cs[i // 2], name=f"C{i + 1}"
            )
    if n_elements % 2 == 0:
        graph.graph["name"] = f"lc_ladder_{n_elements}_open"
    graph.graph["inputs"] = ["n1"]
    graph.graph["outputs"] = ["n1"]
    return graph


def lc_lattice(
    rows: int,
    cols: int,
    *,
    geometry: str = "square",
    L: object = "1m",
    C: object = "1u",
    ground_L: object | None = None,
    R: object | None = None,
    inputs: Sequence[str] | None = None,
    outputs: Sequence[str] | None = None,
    seed: int | None = 0,
) -> nx.MultiGraph:
    """A 2D lattice: inductors on bonds, capacitors from every node to ground.

    Parameters
    ----------
    rows, cols : int
        Lattice size; nodes are ``n{row}_{col}``.
    geometry : {"square", "triangular"}
        Bond pattern. The triangular lattice adds one diagonal per square cell.
    L : value spec
        Bond inductances, H.
    C : value spec
        Node capacitances to ground, F.
    ground_L : value spec, optional
        Inductors from every node to ground, H. Without them the lattice's lowest mode
        is at zero frequency.
    R : value spec, optional
        Resistors from every node to ground, Ω (loss; Q_n ≈ ω_n R C).
    inputs, outputs : sequence of node names, optional
        Port nodes; default the first and the last node.
    seed : int or None
        Seed of the value generator.

    Returns
    -------
    networkx.MultiGraph
    """
    if rows < 1 or cols < 1:
        raise InvalidNetworkError(f"lattice size must be positive, got {rows}x{cols}")
    if geometry == "square":
        base = nx.grid_2d_graph(rows, cols)
    elif geometry == "triangular":
        base = nx.grid_2d_graph(rows, cols)
        base.add_edges_from(
            ((i, j), (i + 1, j + 1)) for i in range(rows - 1) for j in range(cols - 1)
        )
    else:
        raise InvalidNetworkError(
            f"lattice geometry {geometry!r} is unknown; use 'square' or 'triangular'"
        )
    rng = np.random.default_rng(seed)
    nodes = [f"n{i}_{j}" for i in range(rows) for j in range(cols)]
    bonds = sorted(base.edges())

    # Draw values in a fixed order: bonds, capacitors, ground inductors, resistors.
    Ls = draw_values(L, len(bonds), rng, what="lattice bond inductance")
    Cs = draw_values(C, len(nodes), rng, what="lattice capacitance")
    gLs = (
        draw_values(ground_L, len(nodes), rng, what="ground inductance")
        if ground_L
        else None
    )
    Rs = draw_values(R, len(nodes), rng, what="lattice resistance") if R else None

    graph = nx.MultiGraph(name=f"lc_lattice_{geometry}_{rows}x{cols}", ground=GROUND)
    graph.add_nodes_from(nodes)
    graph.add_node(GROUND)
    for b, ((i, j), (k, m)) in enumerate(bonds):
        graph.add_edge(
            f"n{i}_{j}", f"n{k}_{m}", kind="inductor", value=Ls[b], name=f"L{b + 1}"
        )
    for n, node in enumerate(nodes):
        graph.add_edge(node, GROUND, kind="capacitor", value=Cs[n], name=f"C{n + 1}")
        if gLs is not None:
            graph.add_edge(
                node, GROUND, kind="inductor", value=gLs[n], name=f"Lg{n + 1}"
            )
        if Rs is not None:
            graph.add_edge(node, GROUND, kind="resistor", value=Rs[n], name=f"R{n + 1}")
    graph.graph["inputs"] = list(inputs) if inputs is not None else [nodes[0]]
    graph.graph["outputs"] = list(outputs) if outputs is not None else [nodes[-1]]
    return graph


def spring_chain(
    n_masses: int,
    *,
    m: object = 1.0,
    k: object = 100.0,
    c: object | None = None,
    walls: str = "both",
    inputs: Sequence[str] | None = None,
    outputs: Sequence[str] | None = None,
    seed: int | None = 0,
) -> nx.MultiGraph:
    """A 1D chain of masses joined by springs, optionally damped, between walls.

    Masses ``x1 … xN`` attach to ground (the inertial frame) as the mobility analogy
    requires; springs join neighbours, and the end springs attach to the walls (ground).

    Parameters
    ----------
    n_masses : int
        Number of masses, >= 1.
    m : value spec
        Masses, kg.
    k : value spec
        Spring constants, N/m (n_masses + 1 springs with both walls, n_masses with
        one, n_masses − 1 with none).
    c : value spec, optional
        Dampers from every mass to ground, N·s/m.
    walls : {"both", "left", "none"}
        Which chain ends are tied to a wall by a spring. With "none" the chain's
        centre of mass is free (a zero-frequency mode).
    inputs, outputs : sequence of node names, optional
        Driven and observed masses; default the first and the last.
    seed : int or None
        Seed of the value generator.

    Returns
    -------
    networkx.MultiGraph
    """
    if n_masses < 1:
        raise InvalidNetworkError(f"a chain needs n_masses >= 1, got {n_masses}")
    if walls not in ("both", "left", "none"):
        raise InvalidNetworkError(
            f"walls {walls!r} is unknown; use 'both', 'left' or 'none'"
        )
    rng = np.random.default_rng(seed)
    nodes = [f"x{i + 1}" for i in range(n_masses)]
    ends = [GROUND] if walls in ("both", "left") else []
    sequence = ends + nodes + ([GROUND] if walls == "both" else [])
    links = [(a, b) for a, b in zip(sequence[:-1], sequence[1:], strict=True)]
    ms = draw_values(m, n_masses, rng, what="chain mass")
    ks = draw_values(k, len(links), rng, what="chain spring constant")
    cs = draw_values(c, n_masses, rng, what="chain damper") if c is not None else None

    graph = nx.MultiGraph(name=f"spring_chain_{n_masses}", ground=GROUND)
    graph.add_node(GROUND)
    for i, node in enumerate(nodes):
        graph.add_edge(node, GROUND, kind="mass", value=ms[i], name=f"m{i + 1}")
    for b, (a, z) in enumerate(links):
        graph.add_edge(a, z, kind="spring", value=ks[b], name=f"k{b + 1}")
    if cs is not None:
        for i, node in enumerate(nodes):
            graph.add_edge(node, GROUND, kind="damper", value=cs[i], name=f"c{i + 1}")
    graph.graph["inputs"] = list(inputs) if inputs is not None else [nodes[0]]
    graph.graph["outputs"] = list(outputs) if outputs is not None else [nodes[-1]]
    return graph
