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
import math
import os
import sys
from dataclasses import dataclass
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

__all__ = [
    "load_config",
    "build_network",
    "section",
    "read_settings",
    "Setting",
    "config_seed",
    "SECTIONS",
]

SECTIONS = (
    "name",
    "seed",
    "network",
    "task",
    "backend",
    "gradient",
    "training",
)


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


@dataclass(frozen=True)
class Setting:
    """The type, default and valid range of one setting.

    ``kind`` is "int", "float", "bool" or "str"; ``low``/``high`` bound numbers
    (``open_low`` excludes the lower bound); ``choices`` lists valid strings.
    """

    kind: str
    default: object = None
    low: float | None = None
    high: float | None = None
    open_low: bool = False
    choices: tuple = ()

    def read(self, value: object, where: str) -> object:
        """The value, checked; raises ConfigError naming ``where`` and the rule."""
        if value is None:
            return None
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise ConfigError(f"{where} = {value!r}: expected true or false")
            return value
        if self.kind == "str":
            if not isinstance(value, str) or (
                self.choices and value not in self.choices
            ):
                valid = f"one of {list(self.choices)}" if self.choices else "a string"
                raise ConfigError(f"{where} = {value!r}: expected {valid}")
            return value
        integer = self.kind == "int"
        if isinstance(value, bool) or not isinstance(
            value, int if integer else (int, float)
        ):
            expected = "an integer" if integer else "a number"
            raise ConfigError(f"{where} = {value!r}: expected {expected}")
        if not math.isfinite(value):
            raise ConfigError(f"{where} = {value!r}: expected a finite number")
        too_low = self.low is not None and (
            value <= self.low if self.open_low else value < self.low
        )
        if too_low or (self.high is not None and value > self.high):
            raise ConfigError(f"{where} = {value!r}: must be {self._range()}")
        return int(value) if integer else float(value)

    def _range(self) -> str:
        """The valid range in words."""
        low = (
            None
            if self.low is None
            else f"{'>' if self.open_low else '>='} {self.low:g}"
        )
        high = None if self.high is None else f"<= {self.high:g}"
        return " and ".join(part for part in (low, high) if part)


def read_settings(table: dict, settings: dict[str, Setting], where: str) -> dict:
    """Check a table against typed settings; return every setting's value.

    Raises
    ------
    ConfigError
        For an unknown key (listing the valid ones), a wrong type or a value out of
        range, naming the table and key.
    """
    unknown = sorted(set(table) - set(settings))
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {unknown}; valid: {sorted(settings)}"
        )
    return {
        key: setting.read(table.get(key, setting.default), f"{where} {key}")
        for key, setting in settings.items()
    }


def config_seed(config: dict) -> int:
    """The top-level ``seed`` (default 0), checked to be a non-negative integer."""
    return Setting("int", 0, low=0).read(config.get("seed", 0), "config seed")


_SPEC = object()  # a value spec, checked by hwep.builders.draw_values
_PORTS = object()  # a list of node names

_BUILDERS = {
    "lattice": (
        lc_lattice,
        {
            "rows": Setting("int", 3, low=1),
            "cols": Setting("int", 3, low=1),
            "geometry": Setting("str", "square", choices=("square", "triangular")),
            "L": _SPEC,
            "C": _SPEC,
            "ground_L": _SPEC,
            "R": _SPEC,
            "inputs": _PORTS,
            "outputs": _PORTS,
            "seed": Setting("int", None, low=0),
        },
    ),
    "ladder": (
        lc_ladder,
        {
            "n_elements": Setting("int", 5, low=1),
            "L": _SPEC,
            "C": _SPEC,
            "seed": Setting("int", None, low=0),
        },
    ),
    "chain": (
        spring_chain,
        {
            "n_masses": Setting("int", 4, low=1),
            "m": _SPEC,
            "k": _SPEC,
            "c": _SPEC,
            "walls": Setting("str", "both", choices=("both", "left", "none")),
            "inputs": _PORTS,
            "outputs": _PORTS,
            "seed": Setting("int", None, low=0),
        },
    ),
}


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
        graph = _build_graph(table, config_seed(config))
    _apply_kind_options(graph, bounds, trainable)
    return Network(graph, ground=ground, name=name or config.get("name"))


def _build_graph(table: dict, seed: int) -> nx.Graph:
    """Call the named builder with checked arguments; the seed defaults to ``seed``."""
    name = table.pop("builder", None)
    if name not in _BUILDERS:
        raise ConfigError(
            f"config [network]: builder {name!r} is unknown; use one of "
            f"{sorted(_BUILDERS)} or give 'file'"
        )
    builder, settings = _BUILDERS[name]
    unknown = sorted(set(table) - set(settings))
    if unknown:
        raise ConfigError(
            f"config [network]: unknown key(s) {unknown} for builder {name!r}; "
            f"valid: {sorted(settings)}"
        )
    arguments = {}
    for key, value in table.items():
        setting = settings[key]
        if setting is _PORTS:
            if not isinstance(value, (list, str)):
                raise ConfigError(
                    f"config [network] {key} = {value!r}: expected a list"
                )
            arguments[key] = value
        elif setting is _SPEC:
            arguments[key] = value
        else:
            arguments[key] = setting.read(value, f"config [network] {key}")
    arguments.setdefault("seed", seed)
    positional = [k for k in ("rows", "cols", "n_masses") if k in settings]
    args = [arguments.pop(k, settings[k].default) for k in positional]
    return builder(*args, **arguments)


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
