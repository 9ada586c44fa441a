"""What ngspice cannot solve in a network, and the convergence aid that fixes it.

Two structures have no unique DC state:

- a node without a DC path to ground (reached only through capacitors or masses):
  its DC voltage is free. ngspice's operating point is singular there, and in
  ``.tran`` from rest the DC voltage left by the start-up never decays;
- a loop of inductors (and voltage sources) without resistance: its circulating DC
  current is free, so the operating point is singular (a DC short).

``plan`` raises ``InvalidNetworkError`` naming the node or the inductor for each
structure the analysis cannot accept, or, with the convergence aid, returns the cards
that fix it: a leak resistor per floating node, R = 1 / (rate · C_node), which makes
its DC voltage decay at ``rate``; a series resistor per inductor in a loop, R =
ratio · ω L, a loss of Q = 1/ratio. Uniform loss σ > 0 already gives every element a
DC path and every loop a resistance.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from ..elements import POTENTIAL
from ..errors import InvalidNetworkError
from ..network import Network
from ..system import System
from ..units import format_value

__all__ = ["AidPlan", "plan", "AID_OP_RATIO"]

AID_OP_RATIO = 1e-9

_TRAN_FLOATING = (
    "in .tran its DC voltage from the start-up would never decay and would bias "
    "the measured energies"
)
_OP_FLOATING = "ngspice's DC operating point is singular there"
_OP_LOOP = "its DC current at ngspice's operating point is undetermined (a DC short)"


@dataclass
class AidPlan:
    """The convergence aid of a netlist.

    Attributes
    ----------
    lines : list of str
        Leak resistor cards.
    series : dict of int to float
        Series resistance in Ω per element index (inductors in loops).
    notes : list of str
        One line per added element, for the header and the user.
    """

    lines: list[str] = field(default_factory=list)
    series: dict[int, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def plan(
    network: Network,
    nets: dict,
    *,
    analysis: str,
    operating_point: bool,
    sigma: float,
    convergence_aid: bool,
    omega_ref: float,
    leak_rate: float,
) -> AidPlan:
    """Refuse, or aid, the structures the analysis cannot solve.

    Parameters
    ----------
    network : Network
    nets : dict
        Graph node -> net name.
    analysis : {"ac", "tran"}
    operating_point : bool
        Whether ngspice computes a DC operating point before ``.ac``.
    sigma : float
        The netlist's uniform loss σ, 1/s.
    convergence_aid : bool
        Add resistors instead of raising.
    omega_ref : float
        Reference ω in rad/s for the series and operating-point leak resistors.
    leak_rate : float
        Decay rate in 1/s of ``.tran`` leak resistors.

    Returns
    -------
    AidPlan

    Raises
    ------
    InvalidNetworkError
        Naming the first floating nodes or the first inductor of a loop.
    """
    aid = AidPlan()
    if sigma > 0 or (analysis == "ac" and not operating_point):
        return aid
    floating = network.dc_floating_nodes()
    if analysis == "tran":
        _floating(
            network, nets, floating, leak_rate, _TRAN_FLOATING, aid, convergence_aid
        )
        return aid
    rate = AID_OP_RATIO * omega_ref
    _floating(network, nets, floating, rate, _OP_FLOATING, aid, convergence_aid)
    _loops(network, omega_ref, aid, convergence_aid)
    return aid


def inductors_in_loops(network: Network) -> list[int]:
    """Indices of potential elements on a cycle of potential elements."""
    graph = nx.MultiGraph()
    graph.add_nodes_from(network.graph.nodes)
    for i, element in enumerate(network.elements):
        if element.kind.role == POTENTIAL:
            graph.add_edge(*element.nodes, key=i)
    bridges = {frozenset(edge) for edge in nx.bridges(nx.Graph(graph))}
    looped = []
    for a, b, i in graph.edges(keys=True):
        parallel = graph.number_of_edges(a, b) > 1
        if parallel or frozenset((a, b)) not in bridges:
            looped.append(i)
    return sorted(looped)


def _floating(network, nets, nodes, rate, why, aid, convergence_aid) -> None:
    """Error naming the nodes without a DC path, or a leak resistor per node."""
    if not nodes:
        return
    if not convergence_aid:
        shown = ", ".join(f"{n!r} (net {nets[n]})" for n in nodes[:5])
        more = f" and {len(nodes) - 5} more" if len(nodes) > 5 else ""
        raise InvalidNetworkError(
            f"node {shown}{more} of {network.name!r} has no DC path to ground "
            f"(only capacitors or masses connect it): {why}; add an inductor or "
            "resistor to ground, or set convergence_aid=True to add a leak resistor"
        )

    # Leak conductance G = rate × (capacitance at the node): decay at ``rate``.
    capacitance = np.asarray(abs(System(network).M).sum(axis=1)).ravel()
    for node in nodes:
        C = max(float(capacitance[network.node_index[node]]), 1e-300)
        R = 1.0 / (rate * C)
        name = f"raid_{nets[node][2:]}"
        aid.lines.append(f"{name} {nets[node]} 0 {format_value(R)}")
        aid.notes.append(
            f"leak resistor {name} = {format_value(R)} Ohm from node "
            f"{_ascii(node)} to ground (no DC path; decay rate "
            f"{format_value(rate)} 1/s)"
        )


def _loops(network, omega_ref, aid, convergence_aid) -> None:
    """Error naming an inductor loop without resistance, or series resistors."""
    looped = inductors_in_loops(network)
    if not looped:
        return
    elements = network.elements
    if not convergence_aid:
        first = elements[looped[0]]
        names = ", ".join(elements[i].name for i in looped[:6])
        more = f" and {len(looped) - 6} more" if len(looped) > 6 else ""
        raise InvalidNetworkError(
            f"{first.describe()} is in a loop of inductors with no resistance "
            f"({names}{more}): {_OP_LOOP}; set convergence_aid=True to add a small "
            "series resistor per inductor in a loop, or operating_point=False"
        )

    # Series resistance R = ratio × ω L: a loss of Q = 1/ratio per inductor.
    for i in looped:
        element = elements[i]
        params = {k: np.asarray(v) for k, v in element.params.items()}
        R = AID_OP_RATIO * omega_ref / float(element.kind.coefficient(params))
        aid.series[i] = R
        aid.notes.append(
            f"series resistor {format_value(R)} Ohm on {_ascii(element.name)} "
            "(inductor loop without resistance)"
        )


def _ascii(value: object) -> str:
    """A printable ASCII rendering of a node or name for comments."""
    return ascii(value) if not isinstance(value, str) else ascii(value)[1:-1]
