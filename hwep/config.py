"""TOML run configurations: reading, checking, and building the network they describe.

A configuration has the sections ``[network]``, ``[task]``, ``[backend]``,
``[gradient]`` and ``[training]``; only ``[network]`` and ``[task]`` are required.
The network comes from a builder or a graph file:

.. code-block:: toml

    [network]
    builder = "lattice"        # lattice | ladder | chain | file
    rows = 3
    cols = 3
    L = ["1m", "3m"]           # a value, a (low, high) range, or one value per element
    C = ["1u", "3u"]
    ground_L = ["1m", "3m"]
    inputs = ["n0_0", "n0_1"]
    outputs = ["n2_0", "n2_2"]
    seed = 0

    [network.bounds]           # per-kind training bounds of the element values
    capacitor = ["100n", "100u"]

    # or
    [network]
    file = "my_graph.graphml"  # relative to the config file

Values accept SPICE suffixes. Unknown keys are errors, so that a typo is never ignored.
"""

from __future__ import annotations

import copy
import os
import sys
from pathlib import Path

import networkx as nx

from .builders import lc_ladder, lc_lattice, spring_chain
from .elements import get_kind
from .errors import ConfigError, HwepError
from .network import Network, load_graph
from .units import parse_value

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["load_config", "build_network", "section", "SECTIONS"]

SECTIONS = (
    "name",
    "seed",
    "network",
    "task",
    "backend",
    "gradient",
    "training",
    "hardware",
)

_BUILDERS = {
    "lattice": (
        lc_lattice,
        {
            "rows",
            "cols",
            "geometry",
            "L",
            "C",
            "ground_L",
            "R",
            "inputs",
            "outputs",
            "seed",
        },
    ),
    "ladder": (lc_ladder, {"n_elements", "L", "C", "seed"}),
    "chain": (
        spring_chain,
        {"n_masses", "m", "k", "c", "walls", "inputs", "outputs", "seed"},
    ),
}


def load_config(path: str | os.PathLike) -> dict:
    """Read a TOML configuration and record where it came from.

    Returns
    -------
    dict
        The parsed tables, plus ``_path`` (absolute path of the file) and ``_dir``.

    Raises
    ------
    ConfigError
        When the file is missing, is not valid TOML, or has an unknown top-level key.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} does not exist")
    try:
        config = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config {str(path)!r} is not valid TOML: {exc}") from None
    unknown = sorted(set(config) - set(SECTIONS))
    if unknown:
        raise ConfigError(
            f"config {str(path)!r}: unknown key(s) {unknown}; valid: {list(SECTIONS)}"
        )
    for required in ("network", "task"):
        if not isinstance(config.get(required), dict):
            raise ConfigError(f"config {str(path)!r} has no [{required}] table")
    config["_path"] = str(path.resolve())
    config["_dir"] = str(path.resolve().parent)
    config.setdefault("name", path.stem)
    return config


def section(config: dict, name: str, allowed: set[str] | None = None) -> dict:
    """A copy of one table (empty when absent), checked against ``allowed`` keys."""
    table = config.get(name, {})
    if not isinstance(table, dict):
        raise ConfigError(f"config: [{name}] must be a table")
    if allowed is not None:
        unknown = sorted(set(table) - allowed)
        if unknown:
            raise ConfigError(
                f"config [{name}]: unknown key(s) {unknown}; valid: {sorted(allowed)}"
            )
    return copy.deepcopy(table)


def build_network(config: dict) -> Network:
    """Build the Network of a configuration's ``[network]`` table.

    Raises
    ------
    ConfigError
        For an unknown builder or option.
    InvalidNetworkError
        When the resulting graph breaks a network rule.
    """
    table = section(config, "network")
    bounds = table.pop("bounds", {})
    trainable = table.pop("trainable", None)
    name = table.pop("name", None)
    ground = table.pop("ground", None)
    if "file" in table:
        extra = sorted(set(table) - {"file", "inputs", "outputs"})
        if extra:
            raise ConfigError(f"config [network]: with 'file', unknown key(s) {extra}")
        path = Path(config.get("_dir", ".")) / table.pop("file")
        graph = load_graph(path)
        for port in ("inputs", "outputs"):
            if port in table:
                graph.graph[port] = table.pop(port)
    else:
        builder_name = table.pop("builder", None)
        if builder_name not in _BUILDERS:
            raise ConfigError(
                f"config [network]: builder {builder_name!r} is unknown; use one of "
                f"{sorted(_BUILDERS)} or give 'file'"
            )
        builder, allowed = _BUILDERS[builder_name]
        unknown = sorted(set(table) - allowed)
        if unknown:
            raise ConfigError(
                f"config [network]: unknown key(s) {unknown} for builder "
                f"{builder_name!r}; valid: {sorted(allowed)}"
            )
        if builder_name == "lattice":
            graph = builder(table.pop("rows", 3), table.pop("cols", 3), **table)
        elif builder_name == "ladder":
            graph = builder(**table)
        else:
            graph = builder(table.pop("n_masses", 4), **table)
    _apply_kind_options(graph, bounds, trainable)
    return Network(graph, ground=ground, name=name or config.get("name"))


def _apply_kind_options(graph: nx.Graph, bounds: dict, trainable: object) -> None:
    """Set per-kind bounds and trainable flags on edges that do not set their own."""
    if not isinstance(bounds, dict):
        raise ConfigError(
            "config [network.bounds] must be a table of kind = [low, high]"
        )
    kinds = {
        get_kind(k, where="config [network.bounds]").name: v for k, v in bounds.items()
    }
    flags = {}
    if isinstance(trainable, dict):
        flags = {
            get_kind(k, where="config [network.trainable]").name: v
            for k, v in trainable.items()
        }
    elif trainable is not None:
        raise ConfigError(
            "config [network.trainable] must be a table of kind = true/false"
        )
    edges = (
        graph.edges(keys=True, data=True)
        if graph.is_multigraph()
        else ((a, b, None, d) for a, b, d in graph.edges(data=True))
    )
    for *_ends, data in edges:
        try:
            kind = get_kind(data.get("kind")).name
        except HwepError:
            continue  # Network reports unknown kinds with the edge's name.
        if kind in kinds and "bounds" not in data:
            pair = kinds[kind]
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                raise ConfigError(
                    f"config [network.bounds] {kind}: expected [low, high]"
                )
            data["bounds"] = [parse_value(v, what=f"bounds of {kind}") for v in pair]
        if kind in flags and "trainable" not in data:
            data["trainable"] = bool(flags[kind])
