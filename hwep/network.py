r"""Network: a validated view of a networkx graph of two-terminal elements.

Nodes carry one generalized coordinate each (a flux φ in Wb for circuits, a displacement
x in m for mechanical networks); ground is a node too, fixed at zero. Each edge is one
element with data

    kind       capacitor, inductor, resistor, mass, spring, damper, or a nonlinear kind
               (see ``hwep.elements``)
    value      SI float, or a string with a SPICE suffix ("10u", "2.2k", "1Meg")
    name       optional, unique; default: symbol and a running number (C1, L2, k3)
    trainable  optional bool, or a list of parameter names; default: True for the
               values of kinetic and potential elements, False for resistors and dampers
    bounds     optional (low, high) for the value, numbers or suffixed strings
    <param>    extra parameters of nonlinear kinds (k3, a3, phi0, a)

Parallel elements need a ``MultiGraph``. The graph names its ground and ports in
``G.graph``: ``ground`` (a node; or one node with attribute ``ground=True``), ``inputs``
and ``outputs`` (lists of nodes, or comma-separated strings as GraphML stores them).
Inputs are driven by current (force) sources to ground; outputs are observed against
ground. A node may be both.

Rules checked on construction, each failure naming the culprit: a known kind, a finite
positive value, no self-loops, a ground node that is in the graph, ports that are
non-ground nodes of the graph, every node joined to ground through some element, masses
attached to ground, and one analogy (circuit or mechanical) per network.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from xml.etree import ElementTree

import networkx as nx
import numpy as np
import scipy.sparse as sp

from .elements import POTENTIAL, RAYLEIGH, ElementKind, get_kind
from .errors import InvalidNetworkError
from .units import parse_value

__all__ = ["Element", "Parameter", "Network", "load_graph", "save_graph"]


@dataclass(frozen=True)
class Element:
    """One two-terminal element of a network.

    Attributes
    ----------
    name : str
        Unique name, used in error messages, netlists and parameter files.
    kind : ElementKind
        What the element is.
    nodes : tuple
        The two graph nodes (a, b); the branch variable is x_a − x_b.
    params : dict of str to float
        Every parameter of the kind, in SI units (the value under its symbol).
    trainable : frozenset of str
        Names of the parameters that training may change.
    bounds : dict of str to (float, float)
        Allowed range of each parameter.
    """

    name: str
    kind: ElementKind
    nodes: tuple
    params: dict
    trainable: frozenset = field(default_factory=frozenset)
    bounds: dict = field(default_factory=dict)

    @property
    def value(self) -> float:
        """The element's main value (C, L, R, m, k, c, Ic or C0)."""
        return self.params[self.kind.symbol]

    def describe(self) -> str:
        """``"capacitor 'C1' between 'a' and 'gnd'"``, for messages."""
        a, b = self.nodes
        return f"{self.kind.name} {self.name!r} between {a!r} and {b!r}"


@dataclass(frozen=True)
class Parameter:
    """One trainable parameter: an element's parameter by name.

    Attributes
    ----------
    element : int
        Index of the element in ``Network.elements``.
    name : str
        Parameter name (``C``, ``L``, ``k``, ``k3``, ...).
    label : str
        ``"C1"`` for a main value, ``"k2.k3"`` for an extra parameter.
    unit : str
        SI unit.
    bounds : tuple of float
        (low, high).
    positive : bool
        Whether the parameter is strictly positive (optimizers then step its log).
    """

    element: int
    name: str
    label: str
    unit: str
    bounds: tuple
    positive: bool


class Network:
    """A validated Lagrangian network built from a networkx graph.

    Parameters
    ----------
    graph : networkx.Graph or networkx.MultiGraph
        Elements on edges, as described in the module docstring. Directed graphs are
        read as undirected (elements are two-terminal and symmetric).
    ground : node, optional
        Overrides ``graph.graph["ground"]``.
    inputs, outputs : sequence of nodes, optional
        Override ``graph.graph["inputs"]`` and ``graph.graph["outputs"]``.
    name : str, optional
        A label for reports and netlists.

    Raises
    ------
    InvalidNetworkError
        When the graph breaks a rule; the message names the element or node.

    Examples
    --------
    An LC tank resonates at 1/(2π√(LC)) = 159.15 Hz for L = 10 mH, C = 100 µF:

    >>> import networkx as nx
    >>> G = nx.MultiGraph(ground="gnd", inputs=["a"], outputs=["a"])
    >>> G.add_edge("a", "gnd", kind="inductor", value="10m")
    0
    >>> G.add_edge("a", "gnd", kind="capacitor", value="100u")
    1
    >>> net = Network(G)
    >>> [e.name for e in net.elements], net.nodes
    (['L1', 'C1'], ['a'])
    """

    def __init__(
        self,
        graph: nx.Graph,
        *,
        ground: object = None,
        inputs: Sequence | None = None,
        outputs: Sequence | None = None,
        name: str | None = None,
    ):
        if not isinstance(graph, nx.Graph):
            raise InvalidNetworkError(
                f"a network is built from a networkx graph, not {type(graph).__name__}"
            )
        self.name = name or str(graph.graph.get("name", "") or "network")
        self.graph = graph

        # Ground first: every other rule refers to it.
        self.ground = self._find_ground(graph, ground)
        self.nodes = [n for n in graph.nodes if n != self.ground]
        self.node_index = {n: i for i, n in enumerate(self.nodes)}

        # Elements in edge order, which is stable for a given graph.
        self._elements = tuple(self._read_elements(graph))
        self._pending: np.ndarray | None = None
        self._nonlinear_kinds = any(e.kind.nonlinear for e in self._elements)
        self._check_domain()
        self._check_connected()

        self.inputs = tuple(self._read_ports(graph, "inputs", inputs))
        self.outputs = tuple(self._read_ports(graph, "outputs", outputs))
        self.parameters = tuple(self._list_parameters())

    # -- views ----------------------------------------------------------------

    @property
    def n_nodes(self) -> int:
        """Number of non-ground nodes (coordinates)."""
        return len(self.nodes)

    @property
    def domain(self) -> str:
        """``"circuit"`` or ``"mechanical"``."""
        return self.elements[0].kind.domain if self.elements else "circuit"

    @property
    def units(self) -> dict[str, str]:
        """Units of the coordinate, velocity and drive of this network's domain."""
        if self.domain == "mechanical":
            return {"coordinate": "m", "velocity": "m/s", "drive": "N"}
        return {"coordinate": "Wb", "velocity": "V", "drive": "A"}

    @property
    def is_linear(self) -> bool:
        """Whether every element's energy is quadratic (the phasor solver applies)."""
        if not self._nonlinear_kinds:
            return True  # no element's parameters need reading
        return all(
            bool(e.kind.is_linear({k: np.asarray(v) for k, v in e.params.items()}))
            for e in self.elements
        )

    @property
    def has_loss(self) -> bool:
        """Whether any resistor or damper is present."""
        return any(e.kind.role == RAYLEIGH for e in self.elements)

    def element(self, name: str) -> Element:
        """The element called ``name``."""
        for element in self.elements:
            if element.name == name:
                return element
        raise InvalidNetworkError(f"no element named {name!r} in {self.name!r}")

    @property
    def elements(self) -> tuple[Element, ...]:
        """The elements, in edge order, with their current values."""
        if self._pending is not None:
            # Values set by with_values are applied when the elements are first read.
            new_params = [dict(e.params) for e in self._elements]
            for p, v in zip(self.parameters, self._pending, strict=True):
                new_params[p.element][p.name] = float(v)
            self._elements = tuple(
                replace(e, params=params)
                for e, params in zip(self._elements, new_params, strict=True)
            )
            self._pending = None
        return self._elements

    def values(self) -> np.ndarray:
        """Trainable parameter values, shape (n_params,), SI units."""
        if self._pending is not None:
            return self._pending.copy()
        return np.array(
            [self._elements[p.element].params[p.name] for p in self.parameters],
            dtype=float,
        )

    def lower_bounds(self) -> np.ndarray:
        """Lower bounds of the trainable parameters, shape (n_params,)."""
        return np.array([p.bounds[0] for p in self.parameters], dtype=float)

    def upper_bounds(self) -> np.ndarray:
        """Upper bounds of the trainable parameters, shape (n_params,)."""
        return np.array([p.bounds[1] for p in self.parameters], dtype=float)

    def with_values(self, values: Iterable[float]) -> Network:
        """A copy with the trainable parameters set to ``values`` (SI units).

        Raises
        ------
        InvalidNetworkError
            When a value is not finite, or a positive parameter is not positive.
        """
        values = np.asarray(list(values), dtype=float)
        if values.shape != (len(self.parameters),):
            raise InvalidNetworkError(
                f"expected {len(self.parameters)} parameter values, got {values.shape}"
            )
        bad = ~np.isfinite(values) | (self._positive_mask() & ~(values > 0))
        if bad.any():
            p = self.parameters[int(np.flatnonzero(bad)[0])]
            v = values[int(np.flatnonzero(bad)[0])]
            raise InvalidNetworkError(
                f"parameter {p.label}: value {float(v)!r} must be finite"
                + (" and positive" if p.positive else "")
            )
        clone = object.__new__(Network)
        clone.__dict__.update(self.__dict__)
        clone._pending = values.copy()
        return clone

    def _positive_mask(self) -> np.ndarray:
        """Which parameters must be positive, (n_params,)."""
        if "_positive" not in self.__dict__:
            self._positive = np.array([p.positive for p in self.parameters], dtype=bool)
        return self._positive

    def incidence(self) -> sp.csr_matrix:
        """Signed incidence matrix E, shape (n_elements, n_nodes).

        Row b holds +1 at node a and −1 at node b of element b (ground columns dropped),
        so the branch variables are u = E x.
        """
        rows, cols, vals = [], [], []
        for b, element in enumerate(self.elements):
            for node, sign in zip(element.nodes, (1.0, -1.0), strict=True):
                if node != self.ground:
                    rows.append(b)
                    cols.append(self.node_index[node])
                    vals.append(sign)
        shape = (len(self.elements), self.n_nodes)
        return sp.csr_matrix((vals, (rows, cols)), shape=shape)

    def dc_floating_nodes(self, roles: tuple[str, ...] = (POTENTIAL, RAYLEIGH)) -> list:
        """Nodes with no path to ground through elements of the given roles.

        With the default roles these are the nodes without a DC path (only capacitors
        or masses connect them): their static coordinate is undetermined, which a
        time-domain solve or a SPICE operating point cannot accept.
        """
        sub = nx.Graph()
        sub.add_nodes_from(self.graph.nodes)
        sub.add_edges_from(e.nodes for e in self.elements if e.kind.role in roles)
        grounded = nx.node_connected_component(sub, self.ground)
        return [n for n in self.nodes if n not in grounded]

    def to_graph(self) -> nx.MultiGraph:
        """A MultiGraph holding the current values, ports and ground.

        Attribute values are SI floats; bounds and trainable flags are kept.
        """
        graph = nx.MultiGraph(
            name=self.name,
            ground=self.ground,
            inputs=list(self.inputs),
            outputs=list(self.outputs),
        )
        graph.add_nodes_from(self.graph.nodes(data=True))
        for element in self.elements:
            data = {"kind": element.kind.name, "name": element.name}
            for spec in element.kind.parameters:
                key = "value" if spec.name == element.kind.symbol else spec.name
                data[key] = element.params[spec.name]
            data["trainable"] = sorted(element.trainable)
            lo, hi = element.bounds[element.kind.symbol]
            if np.isfinite(hi) or lo > 0:
                data["bounds"] = [lo, hi]
            graph.add_edge(*element.nodes, **data)
        return graph

    def summary(self) -> dict:
        """Counts of nodes, elements by kind and parameters, for reports."""
        counts: dict[str, int] = {}
        for element in self.elements:
            counts[element.kind.name] = counts.get(element.kind.name, 0) + 1
        return {
            "name": self.name,
            "domain": self.domain,
            "nodes": self.n_nodes,
            "ground": str(self.ground),
            "elements": counts,
            "parameters": len(self.parameters),
            "inputs": [str(n) for n in self.inputs],
            "outputs": [str(n) for n in self.outputs],
        }

    def __repr__(self) -> str:
        return (
            f"Network({self.name!r}, {self.n_nodes} nodes, {len(self.elements)} "
            f"elements, {len(self.parameters)} parameters, {self.domain})"
        )

    @classmethod
    def from_file(cls, path: str | os.PathLike, **kwargs) -> Network:
        """Load a network from GraphML, GML or node-link JSON (``load_graph``)."""
        return cls(load_graph(path), **kwargs)

    # -- construction helpers -------------------------------------------------

    @staticmethod
    def _find_ground(graph: nx.Graph, ground: object) -> object:
        """The ground node: the argument, ``graph.graph['ground']`` or a marked node."""
        if ground is None:
            ground = graph.graph.get("ground")
        if ground is None:
            marked = [n for n, d in graph.nodes(data=True) if _truthy(d.get("ground"))]
            if len(marked) > 1:
                raise InvalidNetworkError(
                    f"several nodes are marked ground=True ({marked!r}); "
                    "mark exactly one"
                )
            ground = marked[0] if marked else None
        if ground is None:
            raise InvalidNetworkError(
                "network has no ground node: set G.graph['ground'] = <node> or mark "
                "one node with ground=True"
            )
        node = _match_node(graph, ground)
        if node is None:
            raise InvalidNetworkError(f"ground node {ground!r} is not in the graph")
        return node

    def _read_elements(self, graph: nx.Graph) -> Iterable[Element]:
        """Parse and check the element on every edge."""
        if graph.is_multigraph():
            edges = graph.edges(keys=True, data=True)
        else:
            edges = ((a, b, None, d) for a, b, d in graph.edges(data=True))
        counters: dict[str, int] = {}
        seen: set[str] = set()
        for a, b, _key, data in edges:
            where = f"edge ({a!r}, {b!r})"
            kind = get_kind(data.get("kind"), where=where)
            counters[kind.symbol] = counters.get(kind.symbol, 0) + 1
            name = str(data.get("name") or f"{kind.symbol}{counters[kind.symbol]}")
            where = f"{kind.name} {name!r} between {a!r} and {b!r}"
            if name in seen:
                automatic = ""
                if not data.get("name"):
                    automatic = " (an automatic name, given to another element by hand)"
                raise InvalidNetworkError(
                    f"{where}: name {name!r} is used twice{automatic}"
                )
            seen.add(name)
            if a == b:
                raise InvalidNetworkError(f"{where}: both terminals on one node")
            if kind.to_ground and self.ground not in (a, b):
                raise InvalidNetworkError(
                    f"{where}: a {kind.name} must connect a node to ground "
                    f"({self.ground!r})"
                )
            params = _read_params(kind, data, where)
            bounds = _read_bounds(kind, data, params, where)
            trainable = _read_trainable(kind, data, where)
            yield Element(name, kind, (a, b), params, trainable, bounds)

    def _check_domain(self) -> None:
        """One analogy per network: circuit or mechanical elements, not both."""
        first: dict[str, Element] = {}
        for element in self.elements:
            first.setdefault(element.kind.domain, element)
        if len(first) > 1:
            circuit, mechanical = first["circuit"], first["mechanical"]
            raise InvalidNetworkError(
                f"network mixes circuit ({circuit.describe()}) and mechanical "
                f"({mechanical.describe()}) elements; use one analogy per network"
            )

    def _check_connected(self) -> None:
        """Every node must reach ground through some element."""
        if not self.elements:
            raise InvalidNetworkError(f"network {self.name!r} has no elements")
        undirected = nx.Graph(self.graph)
        reached = nx.node_connected_component(undirected, self.ground)
        for node in self.nodes:
            if node not in reached:
                raise InvalidNetworkError(
                    f"node {node!r} has no path to ground ({self.ground!r}) through "
                    "any element; connect it or remove it"
                )

    def _read_ports(self, graph: nx.Graph, which: str, given: Sequence | None) -> list:
        """Resolve input or output nodes and check they are non-ground graph nodes."""
        raw = given if given is not None else graph.graph.get(which, [])
        if isinstance(raw, str):
            raw = [part.strip() for part in raw.split(",") if part.strip()]
        ports = []
        for item in raw:
            node = _match_node(graph, item)
            if node is None:
                raise InvalidNetworkError(
                    f"{which[:-1]} port {item!r} is not in the graph"
                )
            if node == self.ground:
                raise InvalidNetworkError(
                    f"{which[:-1]} port {item!r} is the ground node; ports are "
                    "measured against ground and cannot be ground"
                )
            if node in ports:
                raise InvalidNetworkError(f"{which[:-1]} port {item!r} is listed twice")
            ports.append(node)
        return ports

    def _list_parameters(self) -> Iterable[Parameter]:
        """Trainable parameters in element order, main value first."""
        for index, element in enumerate(self.elements):
            for spec in element.kind.parameters:
                if spec.name not in element.trainable:
                    continue
                main = spec.name == element.kind.symbol
                label = element.name if main else f"{element.name}.{spec.name}"
                yield Parameter(
                    index,
                    spec.name,
                    label,
                    spec.unit,
                    element.bounds[spec.name],
                    spec.positive,
                )


def load_graph(path: str | os.PathLike) -> nx.Graph:
    """Read a graph from GraphML (.graphml, .xml), GML (.gml) or node-link JSON (.json).

    Raises
    ------
    InvalidNetworkError
        When the file is missing, has an unknown extension or cannot be parsed.
    """
    path = Path(path)
    if path.is_dir():
        raise InvalidNetworkError(f"graph file {str(path)!r} is a directory")
    if not path.is_file():
        raise InvalidNetworkError(f"graph file {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    try:
        if suffix in (".graphml", ".xml"):
            return nx.read_graphml(path)
        if suffix == ".gml":
            return nx.read_gml(path)
        if suffix == ".json":
            data = json.loads(path.read_text())
            if not isinstance(data, dict):
                raise ValueError("expected a node-link object with 'nodes' and 'edges'")
            key = "links" if "links" in data else "edges"
            return nx.node_link_graph(data, edges=key)
    except (
        nx.NetworkXError,
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
        ElementTree.ParseError,
    ) as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InvalidNetworkError(
            f"cannot read graph {str(path)!r}: {first_line}"
        ) from None
    raise InvalidNetworkError(
        f"graph file {str(path)!r}: unknown extension {suffix!r}; "
        "use .graphml, .gml or .json (node-link)"
    )


def save_graph(graph: nx.Graph, path: str | os.PathLike) -> None:
    """Write a graph as GraphML, GML or node-link JSON, chosen by the file extension.

    Lists in graph or edge attributes (ports, bounds, trainable) are written as
    comma-separated strings in GraphML, which has no list type; ``load_graph`` and
    ``Network`` read them back.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".graphml", ".xml"):
        nx.write_graphml(_flatten_lists(graph), path)
    elif suffix == ".gml":
        nx.write_gml(_flatten_lists(graph), path, stringizer=str)
    elif suffix == ".json":
        data = nx.node_link_data(graph, edges="edges")
        path.write_text(json.dumps(data, indent=1, default=str))
    else:
        raise InvalidNetworkError(
            f"graph file {str(path)!r}: unknown extension {suffix!r}; "
            "use .graphml, .gml or .json (node-link)"
        )


def _flatten_lists(graph: nx.Graph) -> nx.Graph:
    """A copy with list-valued attributes joined into comma-separated strings."""
    flat = graph.copy()
    for key, value in list(flat.graph.items()):
        if isinstance(value, (list, tuple)):
            flat.graph[key] = ",".join(str(v) for v in value)
    for *_ends, data in flat.edges(data=True):
        for key, value in list(data.items()):
            if isinstance(value, (list, tuple)):
                data[key] = ",".join(str(v) for v in value)
    return flat


def _match_node(graph: nx.Graph, item: object) -> object:
    """The graph node equal to ``item``, or whose string form equals it; else None."""
    if item in graph:
        if type(item) in (str, int):
            return item
        return next(node for node in graph.nodes if node == item)
    text = str(item)
    for node in graph.nodes:
        if str(node) == text:
            return node
    return None


def _truthy(value: object) -> bool:
    """Interpret booleans stored as strings or numbers by graph file formats."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def _read_params(kind: ElementKind, data: dict, where: str) -> dict[str, float]:
    """Every parameter of the element, parsed to SI floats and checked."""
    params = {}
    for spec in kind.parameters:
        main = spec is kind.value_spec
        key = "value" if main else spec.name
        raw = data.get(key, data.get(spec.name) if main else None)
        if raw is None:
            if spec.default is None:
                raise InvalidNetworkError(
                    f"{where}: missing {'value' if main else spec.name!r} "
                    f"({spec.name} in {spec.unit})"
                )
            raw = spec.default
        what = f"{where}: {'value' if main else spec.name}"
        value = parse_value(raw, what=what, unit=spec.unit if main else None)
        if spec.positive and value <= 0:
            raise InvalidNetworkError(
                f"{what} {raw!r} must be positive ({spec.name} > 0 {spec.unit})"
            )
        params[spec.name] = value
    return params


def _read_bounds(
    kind: ElementKind, data: dict, params: dict, where: str
) -> dict[str, tuple]:
    """Bounds per parameter: the edge's ``bounds`` for the value, defaults otherwise."""
    bounds = {}
    for spec in kind.parameters:
        low = 0.0 if spec.positive else -np.inf
        bounds[spec.name] = (low, np.inf)
    raw = data.get("bounds")
    if raw is None:
        return bounds
    if isinstance(raw, str):
        raw = [part.strip() for part in raw.strip("[]()").split(",")]
    if not isinstance(raw, (list, tuple)) or len(raw) != 2:
        raise InvalidNetworkError(f"{where}: bounds {raw!r} must be a pair (low, high)")
    low = parse_value(raw[0], what=f"{where}: lower bound")
    high = parse_value(raw[1], what=f"{where}: upper bound")
    value = params[kind.symbol]
    if not low < high:
        raise InvalidNetworkError(
            f"{where}: bounds ({low:g}, {high:g}) need low < high"
        )
    if kind.value_spec.positive and low < 0:
        raise InvalidNetworkError(f"{where}: lower bound {low:g} must be >= 0")
    if not low <= value <= high:
        raise InvalidNetworkError(
            f"{where}: value {value:g} {kind.unit} lies outside its bounds "
            f"({low:g}, {high:g})"
        )
    bounds[kind.symbol] = (low, high)
    return bounds


def _read_trainable(kind: ElementKind, data: dict, where: str) -> frozenset:
    """Names of the trainable parameters from the edge's ``trainable`` attribute."""
    raw = data.get("trainable")
    if raw is None:
        return frozenset([kind.symbol]) if kind.trainable else frozenset()
    if isinstance(raw, (bool, int, float)) or (
        isinstance(raw, str) and raw.lower() in _BOOLS
    ):
        # Graph formats store booleans as strings (GraphML) or 0/1 (GML).
        return frozenset([kind.symbol]) if _truthy(raw) else frozenset()
    if isinstance(raw, str):
        raw = [part.strip() for part in raw.strip("[]").split(",") if part.strip()]
    names = {spec.name for spec in kind.parameters}
    chosen = set()
    for item in raw:
        item = kind.symbol if item == "value" else str(item)
        if item not in names:
            raise InvalidNetworkError(
                f"{where}: trainable names {item!r}, which is not a parameter of a "
                f"{kind.name} (parameters: {', '.join(sorted(names))})"
            )
        chosen.add(item)
    return frozenset(chosen)


_BOOLS = {"true", "false", "1", "0", "yes", "no"}
