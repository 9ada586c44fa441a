"""Read ngspice's results: binary and ASCII rawfiles, and named vectors.

A rawfile (``ngspice -b -r out.raw``, or the ``write`` command) holds one or more
plots, each a header (title, plot name, flags, variables) followed by the values of
every variable at every point: doubles in native byte order (binary) or text
(ASCII, complex values as ``re,im``). ``read_rawfile`` returns one ``SpiceResult`` per
plot; ``to_result`` sorts named vectors, from a rawfile or from the shared library,
into the analysis axis, node voltages and branch currents.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import SimulatorError

__all__ = ["SpiceResult", "read_rawfile", "to_result"]

_SCALE_NAMES = ("time", "frequency", "v-sweep", "i-sweep", "temp-sweep", "res-sweep")
_ANALYSIS_OF_PLOTNAME = {
    "ac analysis": "ac",
    "transient analysis": "tran",
    "operating point": "op",
    "dc transfer characteristic": "dc",
    "noise spectral density curves": "noise",
    "integrated noise": "noise",
}


@dataclass(eq=False)
class SpiceResult:
    """Vectors of one ngspice analysis.

    Parameters
    ----------
    analysis : str
        Kind of analysis: ``"ac"``, ``"tran"``, ``"op"``, ``"dc"`` or ``"noise"``.
    axis : numpy.ndarray
        Sweep variable, shape ``(n_points,)``: frequency f in Hz (``ac``), time t in s
        (``tran``), swept source value (``dc``); empty for ``op``.
    voltages : dict of str to numpy.ndarray
        Node voltage v in V per lower-case net name, each of shape ``(n_points,)``;
        complex phasors for ``ac``, real otherwise.
    currents : dict of str to numpy.ndarray
        Branch current i in A per lower-case device name (inductors and voltage
        sources, from ngspice's ``l1#branch`` or ``i(l1)``), shape ``(n_points,)``.
    log : str
        ngspice's own output, one message per line.
    wall_time : float
        Seconds spent in the simulator, s.
    mode : str
        ``"shared"``, ``"subprocess"`` or ``"rawfile"``.
    title : str
        Title line of the netlist.
    """

    analysis: str
    axis: np.ndarray
    voltages: dict[str, np.ndarray]
    currents: dict[str, np.ndarray]
    log: str = ""
    wall_time: float = 0.0
    mode: str = ""
    title: str = ""

    def voltage(self, net: str) -> np.ndarray:
        """Voltage of ``net`` in V; KeyError naming the available nets if absent."""
        return _lookup(self.voltages, net, "net")

    def current(self, device: str) -> np.ndarray:
        """Branch current of ``device`` in A; KeyError naming those available."""
        return _lookup(self.currents, device, "branch current of device")

    def __repr__(self) -> str:
        return (
            f"SpiceResult(analysis={self.analysis!r}, n_points={len(self.axis)}, "
            f"voltages={list(self.voltages)}, currents={list(self.currents)}, "
            f"mode={self.mode!r}, wall_time={self.wall_time:.3g})"
        )


def read_rawfile(path: str | os.PathLike) -> list[SpiceResult]:
    """Read every plot of an ngspice rawfile, binary or ASCII.

    Parameters
    ----------
    path : path-like
        File written by ``ngspice -b -r path`` or the ``write`` command.

    Returns
    -------
    list of SpiceResult
        One per plot, in file order, with ``mode="rawfile"`` and an empty log.

    Raises
    ------
    SimulatorError
        The file is truncated or not a rawfile.
    """
    data = Path(path).read_bytes()
    plots = []
    offset = 0
    while offset < len(data) and data[offset:].strip():
        result, offset = _read_plot(data, offset, str(path))
        plots.append(result)
    return plots


def _read_plot(data: bytes, offset: int, path: str) -> tuple[SpiceResult, int]:
    """One plot of a rawfile starting at ``offset``; returns it and the next offset."""
    # Parse the header up to the Binary:/Values: marker (absent when no points).
    header: dict[str, str] = {}
    names: list[str] = []
    marker = ""
    while offset < len(data) and not marker:
        end = data.find(b"\n", offset)
        end = len(data) if end < 0 else end
        line = data[offset:end].decode("latin-1").rstrip("\r")
        offset = end + 1
        key, _, value = line.partition(":")
        if line.startswith(("\t", " ")) and "variables" in header:
            names.append(line.split()[1])
        elif key.lower() in ("binary", "values"):
            marker = key.lower()
        elif key:
            header[key.strip().lower()] = value.strip()

    # Decode the values: doubles in native order, or text with "re,im" pairs.
    try:
        n_vars, n_points = int(header["no. variables"]), int(header["no. points"])
    except (KeyError, ValueError) as error:
        raise SimulatorError(f"{path} is not an ngspice rawfile ({error})") from error
    complex_ = "complex" in header.get("flags", "").lower()
    dtype = np.complex128 if complex_ else np.float64
    size = n_vars * n_points * np.dtype(dtype).itemsize
    if n_points == 0:
        table, names = np.zeros(0, dtype), names or [""] * n_vars
    elif marker == "binary" and len(data) >= offset + size:
        table = np.frombuffer(data, dtype, n_vars * n_points, offset)
        offset += size
    elif marker == "values":
        table, offset = _read_ascii_values(data, offset, n_vars, n_points, complex_)
    else:
        raise SimulatorError(f"rawfile {path} is truncated")
    columns = table.reshape(n_points, n_vars).T.copy()

    # Name the plot's analysis and split the columns into axis, voltages, currents.
    plotname = header.get("plotname", "").lower()
    analysis = _ANALYSIS_OF_PLOTNAME.get(plotname, plotname.split(" ")[0])
    vectors = dict(zip(names, columns, strict=True))
    result = to_result(analysis, vectors, header.get("title", ""), [], 0.0, "rawfile")
    return result, offset


def _read_ascii_values(data, offset, n_vars, n_points, complex_):
    """Values of an ASCII rawfile: per point an index then n_vars numbers."""
    tokens = data[offset:].split()
    per_point = n_vars + 1
    wanted = tokens[: per_point * n_points]
    if len(wanted) < per_point * n_points:
        raise SimulatorError("ASCII rawfile is truncated")
    values = [t for i, t in enumerate(wanted) if i % per_point]
    if complex_:
        pairs = [v.split(b",") for v in values]
        table = np.array([complex(float(a), float(b)) for a, b in pairs])
    else:
        table = np.array([float(v) for v in values])
    # Advance past the consumed tokens to the next "Title:" (if any).
    nxt = data.find(b"Title:", offset)
    return table, (nxt if nxt >= 0 else len(data))


def to_result(analysis, vectors, title, log, wall_time, mode) -> SpiceResult:
    """Sort named vectors (rawfile or shared names) into axis, voltages, currents."""
    axis = np.zeros(0)
    voltages: dict[str, np.ndarray] = {}
    currents: dict[str, np.ndarray] = {}
    for raw_name, values in vectors.items():
        name = raw_name.lower()
        inner = name[2:-1] if name[:2] in ("v(", "i(") and name.endswith(")") else name
        if inner in _SCALE_NAMES:
            axis = np.ascontiguousarray(values.real)
        elif name.endswith("#branch"):
            currents[name[: -len("#branch")]] = values
        elif name.startswith("i("):
            currents[inner] = values
        elif not name.startswith("@"):
            voltages[inner] = values
    if analysis != "ac":
        voltages = {k: np.ascontiguousarray(v.real) for k, v in voltages.items()}
        currents = {k: np.ascontiguousarray(v.real) for k, v in currents.items()}
    return SpiceResult(
        analysis,
        axis,
        voltages,
        currents,
        "\n".join(log),
        wall_time,
        mode,
        title.strip(),
    )


def _lookup(vectors: dict[str, np.ndarray], name: str, what: str) -> np.ndarray:
    """Vector by case-insensitive name, or a KeyError that lists the names."""
    try:
        return vectors[name.lower()]
    except KeyError:
        known = ", ".join(vectors) or "none"
        raise KeyError(
            f"no {what} {name!r} in the result; available: {known}"
        ) from None
