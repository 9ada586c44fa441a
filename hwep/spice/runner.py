r"""Run a complete ngspice netlist and return its vectors as numpy arrays.

A netlist compiled from a network (or written by hand) is simulated by ngspice in one of
two ways that return bit-identical data:

- ``"shared"``: the ngspice shared library (``libngspice``) inside this process, driven
  through PySpice's ``NgSpiceShared``. About 0.3 ms per small run; no files.
- ``"subprocess"``: ``ngspice -b -r out.raw netlist.cir`` in a child process, whose
  binary rawfile is read back. About 10 ms per small run, but a crash in ngspice
  cannot take the caller down, and a timeout is a plain kill.

``"auto"`` uses the shared library when it loads and falls back to the executable.

Every node voltage :math:`v_n(t)` (V) or phasor :math:`V_n(f)` and every branch current
of an inductor or voltage source :math:`i_L` (A) comes back keyed by the lower-case
net or device name, on the analysis axis: frequency :math:`f` (Hz) for ``.ac``, time
:math:`t` (s) for ``.tran``. ngspice's own output is kept in the result; its notes and
warnings ("Note: v1: has no value, DC 0 assumed") are not errors, its failures (singular
matrix, timestep too small, no convergence, parse errors, no data) raise
:class:`~hwep.errors.SimulatorError` with ngspice's own lines and the path of a copy of
the failing netlist, to be rerun by hand with ``ngspice -b <path>``.

Processes and threads. ngspice keeps its whole state in global variables of the shared
library, so one process holds at most one simulator. It is loaded lazily, on the first
shared-mode run in each process, and is reloaded in a child after ``fork``; runs from
several threads of one process are serialized by a lock. For parallel runs use one
worker process per simulator (``spawn``, ``forkserver`` or ``fork``; all are safe).
Do not use PySpice's own ``NgSpiceShared`` in the same process: both would drive the
same library.

Not handled: ``.control`` blocks, several analyses in one netlist (the last one is
returned) and sources fed by Python callbacks. Rawfiles and the ``SpiceResult`` they
become live in ``hwep.spice.rawfile``.
"""

from __future__ import annotations

import contextlib
import ctypes.util
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import numpy as np

from ..errors import ConfigError, SimulatorError, SimulatorMissingError
from .rawfile import SpiceResult, read_rawfile, to_result

__all__ = [
    "SpiceResult",
    "run_netlist",
    "read_rawfile",
    "find_ngspice_library",
    "find_ngspice_executable",
    "ngspice_available",
    "require_ngspice",
    "ENV_LIBRARY",
    "ENV_EXECUTABLE",
    "ENV_REQUIRE",
]

logger = logging.getLogger(__name__)

ENV_LIBRARY = "HWEP_NGSPICE_LIBRARY"
ENV_EXECUTABLE = "HWEP_NGSPICE_EXECUTABLE"
ENV_REQUIRE = "HWEP_REQUIRE_NGSPICE"

MODES = ("auto", "shared", "subprocess")
INSTALL_HINT = (
    "install ngspice and its shared library (Debian/Ubuntu: "
    "`apt-get install ngspice libngspice0`; macOS: `brew install ngspice`) and PySpice "
    "(`pip install PySpice==1.5`), or point {var} at the file"
)
HALT_WAIT_S = 10.0

_LIBRARY_NAMES = ("libngspice.so", "libngspice.so.0", "libngspice.dylib")
_LIBRARY_DIRS = (
    "/usr/lib/x86_64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/usr/lib64",
    "/usr/lib",
    "/usr/local/lib",
    "/opt/homebrew/lib",
)
_EXECUTABLE_PATHS = (
    "/usr/bin/ngspice",
    "/usr/local/bin/ngspice",
    "/opt/homebrew/bin/ngspice",
)
_ERROR_RE = re.compile(
    r"^error|fatal error|error on line|timestep too small|no convergence|doanalyses:"
    r"|simulation\(s\) aborted|simulation interrupted|solution failed|unknown subckt"
    r"|unknown parameter|unknown device|unimplemented|undefined parameter"
    r"|cannot compute substitute|cannot recover|unable to find definition"
    r"|there aren't any circuits loaded|circuit not parsed|too few nodes",
    re.IGNORECASE,
)
_ECHO_PREFIXES = ("Circuit:", "Title:", "binary raw file", "ascii raw file")
# ngspice names one node ("check node out") or two ("check nodes l1#branch and ...").
_SINGULAR_RE = re.compile(r"singular matrix:?\s*check nodes? (\S+)", re.IGNORECASE)
_GMIN_PREFIX_RE = re.compile(r"^Trying gmin =\s*\S+\s*")
_NOISE_RE = re.compile(
    r"^(trying gmin|supplies reduced|note: one successful|warning: further gmin"
    r"|reference value|total |dram|maximum ngspice|current ngspice|shared ngspice"
    r"|text \(code\)|stack =|library pages|binary raw file|-+$|$)",
    re.IGNORECASE,
)


def run_netlist(
    netlist: str,
    *,
    mode: str = "auto",
    workdir: str | os.PathLike | None = None,
    timeout: float | None = None,
    strict: bool = True,
) -> SpiceResult:
    """Simulate a complete netlist with ngspice and return its last analysis.

    Parameters
    ----------
    netlist : str
        Whole netlist: title line, elements, optional ``.param``/``.options`` lines,
        one analysis card (``.ac lin 1 1000 1000``, ``.tran 1e-6 1e-3 0 1e-7``, ...)
        and ``.end`` (appended when missing). Nothing is added that changes the
        analysis.
    mode : {"auto", "shared", "subprocess"}
        Where ngspice runs; see the module docstring.
    workdir : path-like, optional
        Folder for the netlist and rawfile of subprocess runs (kept) and for copies
        of failing netlists. By default a temporary folder, removed after a success.
    timeout : float, optional
        Wall-clock limit in s. A shared run is halted, a subprocess killed.
    strict : bool
        When True (default) a singular matrix in the operating point is an error even
        if ngspice rescued it by gmin or source stepping or its transient-op fallback:
        the rescued operating point (the DC state of a floating node, the current in
        an inductor-source loop) is arbitrary. With False it is accepted; the warnings
        stay in the log. Linear ``.ac`` results do not depend on it.

    Returns
    -------
    SpiceResult
        Axis, node voltages and branch currents of the last analysis that ran.

    Raises
    ------
    SimulatorError
        ngspice failed; the message carries ngspice's own lines and the path of the
        netlist. Attributes ``log`` (all output) and ``ngspice_lines`` (the error
        lines) hold them too.
    SimulatorMissingError
        The requested mode's library or executable is missing.
    ConfigError
        ``mode`` is not one of the three above.

    Notes
    -----
    One analysis per netlist is expected; when several run, the last one is returned.
    ``.control`` blocks are passed through untouched and are not supported.

    Examples
    --------
    A tank of L = 1 mH and C = 1 µF in parallel with R = 1 kΩ, driven by a 1 A current,
    resonates at f = 1/(2π√(LC)) ≈ 5032.9 Hz, where L and C cancel and v = 1 A × R:

    >>> net = '''lc tank
    ... i1 0 a dc 0 ac 1
    ... l1 a 0 1m
    ... c1 a 0 1u
    ... r1 a 0 1k
    ... .ac lin 1 5032.9212 5032.9212
    ... .end'''
    >>> result = run_netlist(net)  # doctest: +SKIP
    >>> round(abs(result.voltage("a")[0]), 3)  # doctest: +SKIP
    1000.0
    """
    # Check the options and make the netlist complete and identical for both modes.
    if mode not in MODES:
        raise ConfigError(f"mode={mode!r} is not one of {', '.join(MODES)}")
    lines = _complete_lines(netlist)

    # Prefer the in-process simulator and fall back to the executable in auto mode.
    if mode == "auto":
        try:
            _get_engine()
        except SimulatorMissingError as error:
            logger.debug("shared ngspice unavailable, using the executable: %s", error)
            mode = "subprocess"
        else:
            mode = "shared"
    if mode == "shared":
        result = _run_shared(lines, workdir, timeout, strict)
    else:
        result = _run_subprocess(lines, workdir, timeout, strict)
    logger.debug("ngspice %s run of %r: %s", result.mode, result.title, result)
    return result


def find_ngspice_library(*, configure_pyspice: bool = True) -> str:
    """Locate the ngspice shared library and point PySpice at it.

    The variable ``HWEP_NGSPICE_LIBRARY`` wins when set (and must name an existing
    file); then ``ctypes.util.find_library("ngspice")``; then the usual folders, for
    ``libngspice.so``, ``libngspice.so.0`` (what Debian ships; PySpice 1.5 looks only
    for ``libngspice.so``) and ``libngspice.dylib``.

    Parameters
    ----------
    configure_pyspice : bool
        Also set ``PySpice...NgSpiceShared.LIBRARY_PATH`` when PySpice is installed.

    Returns
    -------
    str
        Path (or loader name) of the library.

    Raises
    ------
    SimulatorMissingError
        No library was found, or the variable names a missing file.
    """
    path = _library_path()
    if configure_pyspice:
        with contextlib.suppress(ImportError):
            # PySpice formats LIBRARY_PATH with the instance id: escape the braces.
            _import_pyspice().LIBRARY_PATH = path.replace("{", "{{").replace("}", "}}")
    return path


def find_ngspice_executable() -> str:
    """Locate the ``ngspice`` program.

    ``HWEP_NGSPICE_EXECUTABLE`` wins when set; then ``PATH``; then the usual folders.

    Returns
    -------
    str
        Path of the executable.

    Raises
    ------
    SimulatorMissingError
        Nothing was found, or the variable names a missing file.
    """
    override = os.environ.get(ENV_EXECUTABLE)
    if override:
        if not os.access(override, os.X_OK) or not os.path.isfile(override):
            raise SimulatorMissingError(
                f"{ENV_EXECUTABLE}={override!r} is not an executable file; "
                f"unset it or point it at the ngspice program"
            )
        return override
    found = shutil.which("ngspice")
    found = found or next((p for p in _EXECUTABLE_PATHS if os.access(p, os.X_OK)), None)
    if found is None:
        raise SimulatorMissingError(
            "the ngspice program was not found on PATH; "
            + INSTALL_HINT.format(var=ENV_EXECUTABLE)
        )
    return found


def ngspice_available(mode: str = "auto") -> tuple[bool, str]:
    """Whether ngspice can run in ``mode``, and why not.

    Parameters
    ----------
    mode : {"auto", "shared", "subprocess", "both"}
        ``"auto"`` needs either way, ``"both"`` needs both.

    Returns
    -------
    available : bool
    reason : str
        What is missing and how to install it; empty when available.
    """
    if mode not in (*MODES, "both"):
        raise ConfigError(f"mode={mode!r} is not one of {', '.join(MODES)}, both")
    reasons = {}
    for kind in ("shared", "subprocess"):
        try:
            _check_shared() if kind == "shared" else find_ngspice_executable()
        except SimulatorMissingError as error:
            reasons[kind] = str(error)
    needed = {"auto": (), "both": ("shared", "subprocess")}.get(mode, (mode,))
    missing = [reasons[k] for k in needed if k in reasons]
    if mode == "auto" and len(reasons) == 2:
        missing = list(reasons.values())
    return not missing, "; ".join(missing)


def require_ngspice(mode: str = "auto") -> tuple[bool, str]:
    """:func:`ngspice_available`, but raise when ``HWEP_REQUIRE_NGSPICE`` is set.

    Test suites call this to skip ngspice tests on machines without it while letting
    CI (with ``HWEP_REQUIRE_NGSPICE=1``) fail instead of silently skipping.

    Raises
    ------
    SimulatorMissingError
        ngspice is unavailable and the variable is set to anything but 0/false/no.
    """
    available, reason = ngspice_available(mode)
    required = os.environ.get(ENV_REQUIRE, "").strip().lower()
    if not available and required not in ("", "0", "false", "no"):
        raise SimulatorMissingError(f"{ENV_REQUIRE}={required} but {reason}")
    return available, reason


def _complete_lines(netlist: str) -> list[str]:
    """Netlist lines, with ``.end`` appended when missing (shared mode needs it)."""
    lines = netlist.splitlines()
    if not lines or not netlist.strip():
        raise ConfigError(
            "the netlist is empty; expected a title line, elements and .end"
        )
    if not any(line.strip().lower() == ".end" for line in lines[1:]):
        lines.append(".end")
    return lines


# -- locating ngspice --------------------------------------------------------------


def _library_path() -> str:
    """Library path from the variable, the loader or the usual folders."""
    override = os.environ.get(ENV_LIBRARY)
    if override:
        if not os.path.isfile(override):
            raise SimulatorMissingError(
                f"{ENV_LIBRARY}={override!r} does not exist; unset it or point it at "
                f"libngspice (Debian/Ubuntu: `apt-get install libngspice0`)"
            )
        return override
    candidates = [os.path.join(d, n) for d in _LIBRARY_DIRS for n in _LIBRARY_NAMES]
    found = ctypes.util.find_library("ngspice")
    if found and not os.path.isabs(found):
        found = next((c for c in candidates if c.endswith("/" + found)), found)
    found = found or next((c for c in candidates if os.path.isfile(c)), None)
    if found is None:
        raise SimulatorMissingError(
            "the ngspice shared library (libngspice) was not found; "
            + INSTALL_HINT.format(var=ENV_LIBRARY)
        )
    return found


def _import_pyspice():
    """PySpice's NgSpiceShared class, imported with its known warnings silenced."""
    with warnings.catch_warnings():
        # PySpice 1.5 has invalid escape sequences in docstrings; compiling them warns.
        warnings.filterwarnings("ignore", "invalid escape sequence", DeprecationWarning)
        warnings.filterwarnings("ignore", "invalid escape sequence", SyntaxWarning)
        from PySpice.Spice.NgSpice.Shared import NgSpiceShared
    for name in ("PySpice", "PySpice.Spice.NgSpice.Shared"):
        pyspice_logger = logging.getLogger(name)
        if not any(isinstance(h, logging.NullHandler) for h in pyspice_logger.handlers):
            pyspice_logger.addHandler(logging.NullHandler())
    return NgSpiceShared


def _check_shared() -> str:
    """Library path when PySpice imports and the library exists, else raise."""
    path = _library_path()
    try:
        _import_pyspice()
    except ImportError as error:
        raise SimulatorMissingError(
            f"PySpice is not importable ({error}); `pip install PySpice==1.5`"
        ) from error
    return path


# -- shared library ------------------------------------------------------------------

_engine = None
_engine_failure: tuple[int, SimulatorMissingError] | None = None
_engine_lock = threading.Lock()
_engine_class = None


def _reset_lock_in_child() -> None:
    """Give a forked child a fresh lock; the engine is reloaded on first use."""
    global _engine_lock
    _engine_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_lock_in_child)


def _get_engine():
    """This process's shared ngspice, loaded on first use (and again after fork)."""
    with _engine_lock:
        return _current_engine()


def _current_engine():
    """Engine of this process; the caller holds ``_engine_lock``."""
    global _engine, _engine_failure
    pid = os.getpid()
    if _engine_failure is not None and _engine_failure[0] == pid:
        raise _engine_failure[1]
    if _engine is not None and _engine.stuck and _engine.pid == pid:
        _engine_failure = (pid, SimulatorMissingError(_STUCK))
        raise _engine_failure[1]
    if _engine is not None and (_engine.pid != pid or _engine.dead):
        _engine.close()
        _engine = None
    if _engine is None:
        try:
            _engine = _make_engine(_check_shared())
        except SimulatorMissingError as error:
            _engine_failure = (pid, error)
            raise
    return _engine


def _make_engine(path: str):
    """Load ngspice from ``path`` into a quiet NgSpiceShared subclass."""
    global _engine_class
    if _engine_class is None:
        _engine_class = _define_engine_class(_import_pyspice())
    _engine_class.LIBRARY_PATH = path.replace("{", "{{").replace("}", "}}")
    try:
        return _engine_class(path)
    except OSError as error:
        raise SimulatorMissingError(
            f"the ngspice shared library {path!r} did not load ({error}); "
            + INSTALL_HINT.format(var=ENV_LIBRARY)
        ) from error


class _DebugLogger:
    """Stands in for PySpice's class logger: everything it says goes to DEBUG."""

    def __init__(self, target: logging.Logger):
        self._target = target

    def _log(self, message, *args, **kwargs):
        self._target.debug(message, *args)

    debug = info = warning = error = exception = critical = _log


def _define_engine_class(base):
    """Subclass of PySpice's NgSpiceShared that collects output instead of judging it.

    PySpice 1.5 treats any stderr line as a failure, logs ngspice's notes as errors,
    returns None from an ``int`` callback and can only ``cdef`` its API once per
    process; each of these is overridden here.
    """
    from cffi import CDefError
    from PySpice.Spice.NgSpice.Shared import ffi

    class _Engine(base):
        _logger = _DebugLogger(logger.getChild("pyspice"))

        def __init__(self, path: str):
            self.pid = os.getpid()
            self.dead = False  # ngspice asked to be unloaded: reload before next use
            self.stuck = False  # a run could not be halted: never touch it again
            self.lines: list[str] = []
            self.exit_status: int | None = None
            self.finished = threading.Event()
            self._path = path
            super().__init__(ngspice_id=0, send_data=False, verbose=False)
            self.ffi = ffi
            self.lib = self._ngspice_shared

        @property
        def library_path(self):
            return self._path

        def _load_library(self, verbose):
            # The API is declared once per process on PySpice's module-level FFI.
            try:
                ffi.typeof("pvecinfoall")
            except CDefError:
                ffi.cdef(
                    (
                        Path(sys.modules[base.__module__].__file__).parent / "api.h"
                    ).read_text()
                )
            self._ngspice_shared = ffi.dlopen(self._path)

        @staticmethod
        def _send_char(message_c, ngspice_id, user_data):
            self = ffi.from_handle(user_data)
            text = ffi.string(message_c).decode("utf-8", "replace")
            stream, _, content = text.partition(" ")
            if stream not in ("stdout", "stderr"):
                content = text
            content = content.strip("\r\n")
            self.lines.append(content)
            (self._stderr if stream == "stderr" else self._stdout).append(content)
            return 0

        @staticmethod
        def _send_stat(message_c, ngspice_id, user_data):
            return 0

        @staticmethod
        def _exit(status, immediate, quit_exit, ngspice_id, user_data):
            self = ffi.from_handle(user_data)
            self.exit_status = int(status)
            self.dead = True
            return 0

        @staticmethod
        def _background_thread_running(not_running, ngspice_id, user_data):
            # True means the thread has *stopped*; PySpice reads it inverted.
            if not_running:
                ffi.from_handle(user_data).finished.set()
            return 0

        def command(self, text: str) -> None:
            self.lib.ngSpice_Command(text.encode("ascii"))

        def clear(self) -> None:
            # Free the plots, the circuit and the command history of this run;
            # without this, memory grows by ~150 KiB and runs slow down every run.
            self.command("destroy all")
            self.command("remcirc")
            self.lib.ngSpice_Command(ffi.NULL)

        def plots(self) -> list[str]:
            return self._convert_string_array(self.lib.ngSpice_AllPlots())

        def close(self) -> None:
            lib, self.lib, self._ngspice_shared = self.lib, None, None
            if lib is not None:
                with contextlib.suppress(Exception):
                    ffi.dlclose(lib)

    return _Engine


def _run_shared(lines, workdir, timeout, strict) -> SpiceResult:
    """Run the netlist in the shared library; clean up plots and circuit afterwards."""
    with _engine_lock:
        engine = _current_engine()
        start = time.perf_counter()
        try:
            plot, timed_out = _simulate_shared(engine, lines, timeout)
        finally:
            if not (engine.dead or engine.stuck):
                engine.clear()
        wall_time = time.perf_counter() - start
        log, exited = list(engine.lines), engine.dead
    if timed_out:
        _fail(
            f"ngspice did not finish within {timeout} s", lines, log, workdir, "shared"
        )
    note = "; ngspice stopped with a fatal error and is reloaded on the next run"
    _check_log(log, lines, workdir, "shared", strict, note=note if exited else "")
    if plot is None:
        _fail(_NO_DATA, lines, log, workdir, "shared")
    analysis, vectors = plot
    result = to_result(analysis, vectors, lines[0], log, wall_time, "shared")
    _check_data(result, lines, workdir)
    return result


def _simulate_shared(engine, lines, timeout):
    """Load, run and read back one circuit; returns (plot or None, timed_out)."""
    # Hand the circuit over; a fatal parse error calls the exit callback instead.
    engine.lines.clear()
    engine.clear_output()
    ffi = engine.ffi
    keep = [ffi.new("char[]", line.encode("utf-8")) for line in lines]
    before = set(engine.plots())
    if engine.lib.ngSpice_Circ(ffi.new("char *[]", [*keep, ffi.NULL])) or engine.dead:
        return None, False

    # Run synchronously, or in ngspice's thread when a timeout must be enforced.
    if timeout is None:
        engine.command("run")
    else:
        engine.finished.clear()
        engine.command("bg_run")
        if not engine.finished.wait(timeout):
            engine.command("bg_halt")
            engine.stuck = not engine.finished.wait(HALT_WAIT_S)
            return None, True

    # Read the newest plot this run made (ngspice lists plots newest first).
    new = [name for name in engine.plots() if name not in before and name != "const"]
    if engine.dead or not new:
        return None, False
    return _read_shared_plot(engine, new[0]), False


def _read_shared_plot(engine, plot: str):
    """(analysis, {name: array}) of one plot, vectors copied out of ngspice."""
    ffi, lib = engine.ffi, engine.lib
    vectors = {}
    for name in reversed(
        engine._convert_string_array(lib.ngSpice_AllVecs(plot.encode()))
    ):
        info = lib.ngGet_Vec_Info(f"{plot}.{name}".encode())
        n = info.v_length
        if info.v_compdata != ffi.NULL:
            raw = np.frombuffer(
                ffi.buffer(info.v_compdata, 16 * n), dtype=np.complex128
            )
        else:
            raw = np.frombuffer(ffi.buffer(info.v_realdata, 8 * n), dtype=np.float64)
        vectors[name] = raw.copy()
    return re.sub(r"\d+$", "", plot), vectors


# -- subprocess ---------------------------------------------------------------------


def _run_subprocess(lines, workdir, timeout, strict) -> SpiceResult:
    """Run ``ngspice -b`` on a file and read its binary rawfile."""
    # Write the netlist where the user asked, or in a folder removed after success.
    executable = find_ngspice_executable()
    folder = (
        Path(workdir) if workdir is not None else Path(tempfile.mkdtemp("", "hwep-"))
    )
    folder.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(".cir", "hwep-", dir=folder)
    with os.fdopen(handle, "w", encoding="utf-8") as file:
        file.write("\n".join(lines) + "\n")
    rawfile = Path(name).with_suffix(".raw")

    # Run it in batch mode, with stdin closed and a binary rawfile forced.
    command = [executable, "-b", "-r", str(rawfile), name]
    env = {**os.environ, "SPICE_ASCIIRAWFILE": "0"}
    start = time.perf_counter()
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            env=env,
            errors="replace",
        )
    except subprocess.TimeoutExpired as error:
        log = _decode(error.stdout).splitlines() + _decode(error.stderr).splitlines()
        _fail(
            f"ngspice did not finish within {timeout} s",
            lines,
            log,
            None,
            "subprocess",
            path=name,
        )
    wall_time = time.perf_counter() - start

    # Judge ngspice's output before trusting the rawfile.
    log = [line.rstrip("\r") for line in (done.stdout + done.stderr).splitlines()]
    _check_log(log, lines, None, "subprocess", strict, path=name)
    if done.returncode != 0:
        _fail(
            f"ngspice exited with status {done.returncode}",
            lines,
            log,
            None,
            "subprocess",
            path=name,
        )
    if not rawfile.exists() or rawfile.stat().st_size == 0:
        _fail(_NO_DATA, lines, log, None, "subprocess", path=name)
    plot = read_rawfile(rawfile)[-1]
    result = SpiceResult(
        plot.analysis,
        plot.axis,
        plot.voltages,
        plot.currents,
        "\n".join(log),
        wall_time,
        "subprocess",
        lines[0].strip(),
    )
    _check_data(result, lines, None, path=name)
    if workdir is None:
        shutil.rmtree(folder, ignore_errors=True)
    return result


def _decode(output) -> str:
    """Text of a captured stream that may be None or bytes."""
    if isinstance(output, bytes):
        return output.decode("utf-8", "replace")
    return output or ""


# -- shared post-processing ----------------------------------------------------------

_STUCK = (
    "the shared ngspice of this process is stuck in a run that did not halt after "
    "its timeout; use mode='subprocess' or a new process"
)
_NO_DATA = (
    "ngspice produced no data: the netlist has no analysis card (.ac, .tran, .op, "
    ".dc), the card did not run, or it asks for zero points"
)


def _check_log(log, lines, workdir, mode, strict, path=None, note="") -> None:
    """Raise SimulatorError when ngspice's output reports a failure."""
    errors = _error_lines(log, strict)
    if errors or note:
        summary = _explain(errors, log) + note
        _fail(summary, lines, log, workdir, mode, path=path, errors=errors)


def _error_lines(log: list[str], strict: bool) -> list[str]:
    """ngspice's lines that report a failure, with the netlist line they quote."""
    errors = []
    for i, line in enumerate(log):
        text = _GMIN_PREFIX_RE.sub("", line.strip())
        if text.startswith(_ECHO_PREFIXES):
            continue
        if _ERROR_RE.search(text) or (strict and _SINGULAR_RE.search(text)):
            errors.append(text)
            if text.lower().startswith("error on line") and i + 1 < len(log):
                errors.append(log[i + 1].strip())
    return list(dict.fromkeys(errors))


def _check_data(result: SpiceResult, lines, workdir, path=None) -> None:
    """Raise when an analysis returned no vectors, or no points on a sweep axis."""
    if not result.voltages or (result.analysis != "op" and len(result.axis) == 0):
        _fail(_NO_DATA, lines, result.log.splitlines(), workdir, result.mode, path=path)


def _explain(errors: list[str], log: list[str]) -> str:
    """One-line physical reading of ngspice's error lines."""
    text = "\n".join(errors).lower()
    match = _SINGULAR_RE.search("\n".join(errors))
    if match and match.group(1).endswith("#branch"):
        device = match.group(1)[: -len("#branch")]
        return (
            f"singular matrix at the operating point: the DC current of {device} is "
            "undetermined, it sits in a loop of inductors and voltage sources (a DC "
            "short); break the loop with a series resistance"
        )
    if match:
        return (
            f"singular matrix at the operating point: node {match.group(1)} has no DC "
            "path to ground (it connects only through capacitors or current sources); "
            "add a DC path such as a large resistor to ground, or use .tran ... uic"
        )
    if "solution failed" in text or "op failed" in text or "no convergence" in text:
        return "ngspice found no converged operating point or time step"
    if "timestep too small" in text:
        return "ngspice's time step collapsed (timestep too small)"
    if errors:
        return "ngspice could not parse or run the netlist"
    return "ngspice failed"


def _fail(summary, lines, log, workdir, mode, *, path=None, errors=None):
    """Raise SimulatorError with ngspice's own lines and a saved copy of the netlist."""
    if path is None:
        folder = Path(workdir or tempfile.mkdtemp("", "hwep-"))
        folder.mkdir(parents=True, exist_ok=True)
        handle, path = tempfile.mkstemp(".cir", "hwep-failed-", dir=folder)
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write("\n".join(lines) + "\n")
    shown = errors or [x.strip() for x in log if not _NOISE_RE.search(x.strip())]
    shown = list(dict.fromkeys(shown))[-20:]
    said = "\n".join(f"  {line}" for line in shown) or "  (nothing)"
    error = SimulatorError(
        f"{summary} [{mode} mode, netlist {lines[0].strip()!r}]\nngspice said:\n"
        f"{said}\nrerun it by hand with `ngspice -b` on the netlist",
        netlist_path=str(path),
    )
    error.log = "\n".join(log)
    error.ngspice_lines = shown
    logger.debug("ngspice failure:\n%s", error.log)
    raise error
