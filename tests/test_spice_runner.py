"""Tests of hwep.spice.runner: ngspice in-process and as a subprocess.

Tests that need ngspice take the ``ngspice`` fixture: they skip with the reason when
ngspice is missing, and fail instead when HWEP_REQUIRE_NGSPICE=1 (as in CI).
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from hwep.errors import ConfigError, SimulatorError
from hwep.spice import runner
from hwep.spice.runner import SpiceResult, read_rawfile, require_ngspice, run_netlist

REPO = Path(__file__).resolve().parents[1]
MODES = ["shared", "subprocess"]

R_OHM, C_F, L_H = 1e3, 1e-6, 1e-3

RC_LOWPASS = f"""rc low-pass
v1 in 0 dc 0 ac 1
r1 in out {R_OHM}
c1 out 0 {C_F}
.ac dec 10 1 1e6
.end
"""

LC_TANK = """lc tank ringing from a charged capacitor
l1 a 0 {L}
c1 a 0 {C} ic=1
.tran 1e-6 4e-4 0 {tmax} uic
.end
"""

LADDER_TRAN = """lc ladder driven by a current
.param cval=1u
i1 0 n1 dc 0 sin(0 1m 5k)
r1 n1 0 10k
l1 n1 n2 1m
c1 n2 0 {cval}
l2 n2 n3 1m
c2 n3 0 {cval}
r3 n3 0 1k
.tran 1e-6 5e-4 0 1e-7
.end
"""

NOTE_ONLY = """source without a dc value
v1 in 0 ac 1
r1 in out 1k
c1 out 0 1u
.ac lin 3 10 1000
.end
"""

# Each failure class: netlist and a pattern of ngspice's own text in the message.
FAILURES = {
    "capacitor-only node": (
        "v1 in 0 dc 1 ac 1\nc1 in out 1u\nc2 out 0 1u\n.ac lin 3 10 1000",
        r"singular matrix:\s+check node out",
    ),
    "inductor-source loop": (
        "v1 a 0 dc 1\nl1 a 0 1m\n.tran 1e-5 1e-3",
        r"singular matrix:\s+check node l1#branch",
    ),
    "inductor loop, two nodes named": (
        "i1 0 a dc 0 ac 1\nl1 a 0 1m\nl2 a b 1m\nl3 b 0 1m\nc1 a 0 1u\nc2 b 0 1u"
        "\nc3 b f 1u\nc4 f 0 1u\n.ac lin 1 1000 1000",
        r"(?s)DC current of l2 is undetermined.*check nodes l2#branch and l3#branch",
    ),
    "missing node": (
        "v1 in 0 dc 1 ac 1\nr1 in out 1k\nc1 out 1u\n.ac lin 3 10 1000",
        r"doAnalyses: matrix is singular",
    ),
    "timestep too small": (
        "v1 in 0 dc 0 pwl(0 0 1u 1)\nr1 in a 1k\n"
        "b1 a 0 i = -exp(100*v(a))*1e-15\nc1 a 0 1n\n.tran 1e-7 1e-4",
        r"doAnalyses: TRAN:  Timestep too small",
    ),
    "no convergence": (
        "r1 a 0 1k\nb1 a 0 i = 1 + v(a)*v(a)\n.op",
        r"DC solution failed",
    ),
    "unknown dot card": (
        "v1 in 0 dc 1\nr1 in 0 1k\n.foo bar\n.op",
        r"unimplemented control card",
    ),
    "unknown value": (
        "v1 in 0 dc 1 ac 1\nr1 in out 1k\nc1 out 0 abc\n.ac lin 3 10 1000",
        r"unknown parameter \(abc\)",
    ),
    "unknown subcircuit": (
        "v1 in 0 dc 1\nr1 in out 1k\nx1 out 0 nosuch\n.op",
        r"unknown subckt: x1 out 0 nosuch",
    ),
    "undefined parameter": (
        "v1 in 0 dc 1\nr1 in out {rx}\nr2 out 0 1k\n.op",
        r"Undefined parameter \[rx\]",
    ),
    "no analysis": ("v1 in 0 dc 1\nr1 in 0 1k", r"produced no data"),
    "zero points": ("v1 in 0 dc 1 ac 1\nr1 in 0 1k\n.ac lin 10 1000", r"no data"),
}


@pytest.fixture(scope="module")
def ngspice():
    """Skip when ngspice is missing, unless HWEP_REQUIRE_NGSPICE asks to fail."""
    available, reason = require_ngspice("both")
    if not available:
        pytest.skip(reason)


def run_python(code: str, **env: str) -> dict:
    """Run ``code`` in a fresh interpreter; it prints one JSON object."""
    environ = {**os.environ, "PYTHONPATH": str(REPO), **env}
    environ = {k: v for k, v in environ.items() if v is not None}
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=environ,
        timeout=60,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- locating ngspice ----------------------------------------------------------------


def test_missing_library_and_program_raise_simulator_missing_error():
    code = """
import json
from hwep.errors import SimulatorMissingError
from hwep.spice import runner
out = {}
for mode in ("shared", "subprocess", "auto"):
    try:
        runner.run_netlist("t\\nr1 a 0 1\\n.op\\n.end", mode=mode)
        out[mode] = "ran"
    except SimulatorMissingError as error:
        out[mode] = str(error)
out["available"] = runner.ngspice_available("auto")
try:
    runner.require_ngspice()
    out["required"] = "no error"
except SimulatorMissingError as error:
    out["required"] = str(error)
print(json.dumps(out))
"""
    bogus = {
        "HWEP_NGSPICE_LIBRARY": "/nonexistent/libngspice.so",
        "HWEP_NGSPICE_EXECUTABLE": "/nonexistent/ngspice",
    }
    out = run_python(code, HWEP_REQUIRE_NGSPICE="1", **bogus)
    assert (
        "HWEP_NGSPICE_LIBRARY='/nonexistent/libngspice.so' does not exist"
        in (out["shared"])
    )
    assert "apt-get install libngspice0" in out["shared"]
    assert (
        "HWEP_NGSPICE_EXECUTABLE='/nonexistent/ngspice' is not an executable"
        in (out["subprocess"])
    )
    assert out["auto"] == out["subprocess"]
    assert out["available"][0] is False
    assert "HWEP_REQUIRE_NGSPICE=1 but" in out["required"]

    out = run_python(code, HWEP_REQUIRE_NGSPICE="0", **bogus)
    assert out["required"] == "no error"


def test_library_that_does_not_load_raises_simulator_missing_error(ngspice):
    code = """
import json
from hwep.errors import SimulatorMissingError
from hwep.spice import runner
try:
    runner.run_netlist("t\\nr1 a 0 1\\n.op\\n.end", mode="shared")
    print(json.dumps({"error": None}))
except SimulatorMissingError as error:
    result = runner.run_netlist("t\\nr1 a 0 1\\ni1 0 a 1\\n.op\\n.end", mode="auto")
    print(json.dumps({"error": str(error), "auto": result.mode}))
"""
    out = run_python(code, HWEP_NGSPICE_LIBRARY=sys.executable)
    assert "did not load" in out["error"] and "apt-get install" in out["error"]
    assert out["auto"] == "subprocess"


def test_runner_imports_and_falls_back_without_pyspice(ngspice):
    code = """
import json, sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == "PySpice" or name.startswith("PySpice."):
            raise ImportError("PySpice blocked for this test")
sys.meta_path.insert(0, Block())
from hwep.errors import SimulatorMissingError
from hwep.spice import runner
result = runner.run_netlist("t\\nr1 a 0 1\\ni1 0 a 1\\n.op\\n.end")
try:
    runner.run_netlist("t\\nr1 a 0 1\\n.op\\n.end", mode="shared")
    shared = "ran"
except SimulatorMissingError as error:
    shared = str(error)
print(json.dumps({"mode": result.mode, "v": float(result.voltage("a")[0]),
                  "shared": shared}))
"""
    out = run_python(code)
    assert out["mode"] == "subprocess" and out["v"] == pytest.approx(1.0)
    assert "PySpice is not importable" in out["shared"]


def test_stuck_shared_library_is_never_touched_again(ngspice):
    code = """
import json
from hwep.errors import SimulatorMissingError
from hwep.spice import runner
net = "t\\nr1 a 0 1\\ni1 0 a 1\\n.op\\n.end"
runner.run_netlist(net, mode="shared")
runner._get_engine().stuck = True  # as after a run that ignored bg_halt
try:
    runner.run_netlist(net, mode="shared")
    shared = "ran"
except SimulatorMissingError as error:
    shared = str(error)
print(json.dumps({"shared": shared, "auto": runner.run_netlist(net).mode}))
"""
    out = run_python(code)
    assert "stuck in a run that did not halt" in out["shared"]
    assert out["auto"] == "subprocess"


def test_find_ngspice_library_points_pyspice_at_it(ngspice):
    path = runner.find_ngspice_library()
    from PySpice.Spice.NgSpice.Shared import NgSpiceShared

    assert Path(path).name.startswith("libngspice")
    assert NgSpiceShared.LIBRARY_PATH.format("") == path


def test_environment_variable_names_the_library(monkeypatch, tmp_path):
    fake = tmp_path / "libngspice-custom.so"
    fake.write_bytes(b"")
    monkeypatch.setenv("HWEP_NGSPICE_LIBRARY", str(fake))
    assert runner.find_ngspice_library(configure_pyspice=False) == str(fake)


def test_unknown_mode_is_rejected():
    with pytest.raises(ConfigError, match=r"mode='fast' is not one of auto"):
        run_netlist(RC_LOWPASS, mode="fast")
    with pytest.raises(ConfigError, match=r"the netlist is empty"):
        run_netlist("  \n")


# -- physics against closed forms -----------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_rc_lowpass_ac_matches_transfer_function(ngspice, mode):
    result = run_netlist(RC_LOWPASS, mode=mode)
    H = 1 / (1 + 2j * np.pi * result.axis * R_OHM * C_F)  # V(out)/V(in) = 1/(1+jωRC)
    assert result.analysis == "ac" and len(result.axis) == 61
    np.testing.assert_allclose(result.voltage("out"), H, rtol=1e-9)
    np.testing.assert_allclose(result.current("v1"), -(1 - H) / R_OHM, rtol=1e-9)


def test_lc_tank_inductor_current_matches_closed_form(ngspice):
    # A capacitor charged to 1 V rings: i_L(t) = sqrt(C/L) sin(t/sqrt(LC)).
    omega, amplitude = 1 / np.sqrt(L_H * C_F), np.sqrt(C_F / L_H)
    errors = []
    for tmax in (2e-7, 1e-7):
        result = run_netlist(LC_TANK.format(L=L_H, C=C_F, tmax=tmax), mode="shared")
        i_exact = amplitude * np.sin(omega * result.axis)
        errors.append(np.max(np.abs(result.current("l1") - i_exact)) / amplitude)
    assert errors[1] < 2e-5
    assert np.log2(errors[0] / errors[1]) == pytest.approx(2.0, abs=0.1)  # trapezoid


# -- both modes agree ----------------------------------------------------------------


@pytest.mark.parametrize("netlist", [RC_LOWPASS, LADDER_TRAN], ids=["ac", "tran"])
def test_shared_and_subprocess_return_the_same_data(ngspice, netlist):
    shared = run_netlist(netlist, mode="shared")
    child = run_netlist(netlist, mode="subprocess")
    assert (shared.mode, child.mode) == ("shared", "subprocess")
    assert shared.analysis == child.analysis and shared.title == child.title
    np.testing.assert_allclose(shared.axis, child.axis, rtol=1e-14, atol=0)
    for kind in ("voltages", "currents"):
        a, b = getattr(shared, kind), getattr(child, kind)
        assert list(a) == list(b)
        for name in a:
            assert a[name].dtype == b[name].dtype
            np.testing.assert_allclose(a[name], b[name], rtol=1e-14, atol=0)
    assert np.iscomplexobj(
        shared.voltages["in" if "in" in shared.voltages else "n1"]
    ) == (shared.analysis == "ac")


def test_result_names_are_lower_case_and_missing_names_are_listed(ngspice):
    result = run_netlist(LADDER_TRAN.replace("n2", "N2"), mode="shared")
    assert list(result.voltages) == ["n1", "n2", "n3"]
    assert sorted(result.currents) == ["l1", "l2"]
    assert result.voltage("N2") is result.voltages["n2"]
    with pytest.raises(KeyError, match=r"no net 'n9' in the result; available: n1, n2"):
        result.voltage("n9")
    assert "n_points=" in repr(result)


# -- failures and notes --------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", list(FAILURES))
def test_failure_raises_simulator_error_with_ngspice_text(
    ngspice, tmp_path, mode, case
):
    body, pattern = FAILURES[case]
    netlist = f"{case}\n{body}\n.end\n"
    with pytest.raises(SimulatorError, match=pattern) as info:
        run_netlist(netlist, mode=mode, workdir=tmp_path)
    error = info.value
    assert error.netlist_path and Path(error.netlist_path).parent == tmp_path
    assert Path(error.netlist_path).read_text().splitlines() == netlist.splitlines()
    assert f"(netlist: {error.netlist_path})" in str(error)
    assert error.ngspice_lines and case in str(error)


def test_singular_operating_point_message_explains_the_physics(ngspice, tmp_path):
    body, _ = FAILURES["capacitor-only node"]
    with pytest.raises(SimulatorError, match=r"node out has no DC path to ground"):
        run_netlist(f"t\n{body}\n.end", mode="shared", workdir=tmp_path)
    body, _ = FAILURES["inductor-source loop"]
    with pytest.raises(SimulatorError, match=r"loop of inductors and voltage sources"):
        run_netlist(f"t\n{body}\n.end", mode="shared", workdir=tmp_path)


def test_shared_library_recovers_after_a_fatal_error(ngspice, tmp_path):
    body, pattern = FAILURES["undefined parameter"]
    with pytest.raises(SimulatorError, match=r"fatal error and is reloaded"):
        run_netlist(f"fatal\n{body}\n.end", mode="shared", workdir=tmp_path)
    result = run_netlist(RC_LOWPASS, mode="shared")
    assert result.analysis == "ac" and len(result.axis) == 61


@pytest.mark.parametrize("mode", MODES)
def test_notes_and_warnings_are_not_errors(ngspice, mode, capfd):
    result = run_netlist(NOTE_ONLY, mode=mode)
    assert "Note: v1: has no value, DC 0 assumed" in result.log
    assert result.voltage("in")[0] == 1
    assert capfd.readouterr() == ("", "")


def test_rescued_operating_point_is_accepted_when_not_strict(ngspice):
    body, _ = FAILURES["capacitor-only node"]
    result = run_netlist(f"divider\n{body}\n.end", mode="shared", strict=False)
    np.testing.assert_allclose(result.voltage("out"), 0.5, rtol=1e-12)  # C1/(C1+C2)
    assert "singular matrix" in result.log


@pytest.mark.parametrize("mode", MODES)
def test_timeout_stops_a_long_run(ngspice, tmp_path, mode):
    netlist = LC_TANK.format(L=L_H, C=C_F, tmax=1e-10).replace("4e-4", "1")
    with pytest.raises(SimulatorError, match=r"did not finish within 0.2 s"):
        run_netlist(netlist, mode=mode, timeout=0.2, workdir=tmp_path)
    assert run_netlist(RC_LOWPASS, mode=mode, timeout=10).analysis == "ac"


# -- one simulator per process -------------------------------------------------------


def test_shared_runs_free_their_plots_and_circuits(ngspice):
    for value in np.linspace(1e-7, 1e-6, 50).tolist():
        run_netlist(RC_LOWPASS.replace(f"{C_F}", f"{value!r}"), mode="shared")
    assert runner._get_engine().plots() == ["const"]


def test_threads_share_the_library_safely(ngspice):
    expected = run_netlist(LADDER_TRAN, mode="shared").voltages["n3"]
    mismatches = []

    def work():
        for _ in range(10):
            got = run_netlist(LADDER_TRAN, mode="shared").voltages["n3"]
            mismatches.append(not np.array_equal(got, expected))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(mismatches) == 40 and not any(mismatches)


def _ladder_node(value: float) -> complex:
    """Worker for the process test: the ladder's output phasor at one capacitance."""
    netlist = LADDER_TRAN.replace("cval=1u", f"cval={value!r}")
    netlist = netlist.replace("dc 0 sin", "dc 0 ac 1 sin")
    netlist = netlist.replace(".tran 1e-6 5e-4 0 1e-7", ".ac lin 1 5000 5000")
    return complex(run_netlist(netlist, mode="shared").voltages["n3"][0])


@pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="needs fork"
)
@pytest.mark.filterwarnings(
    "ignore:This process .* is multi-threaded:DeprecationWarning"
)
def test_forked_workers_load_their_own_library(ngspice):
    values = [1e-6, 2e-6, 3e-6, 4e-6]
    expected = [_ladder_node(v) for v in values]  # loads the library in this process
    with multiprocessing.get_context("fork").Pool(2) as pool:
        assert pool.map(_ladder_node, values) == expected


def test_library_never_configures_logging(ngspice):
    root = logging.getLogger()
    before = (list(root.handlers), root.level)
    run_netlist(NOTE_ONLY, mode="shared")
    assert (list(root.handlers), root.level) == before
    assert logging.getLogger("PySpice").level == logging.NOTSET


# -- rawfile reader ------------------------------------------------------------------


def _rawfile(flags: str, names: list[str], table: np.ndarray, binary: bool) -> bytes:
    """A rawfile in ngspice's layout, binary or ASCII."""
    n_points, n_vars = table.shape
    kinds = {"t": "time", "f": "frequency"}
    head = [
        "Title: synthetic",
        "Date: today",
        f"Plotname: {'AC Analysis' if 'complex' in flags else 'Transient Analysis'}",
        f"Flags: {flags}",
        f"No. Variables: {n_vars}",
        f"No. Points: {n_points}",
        "Variables:",
    ]
    head += [f"\t{i}\t{n}\t{kinds.get(n[0], 'voltage')}" for i, n in enumerate(names)]
    if binary:
        return ("\n".join([*head, "Binary:"]) + "\n").encode() + table.tobytes()
    body = []
    for k, row in enumerate(table):
        pairs = [(float(v.real), float(v.imag)) for v in row]
        text = [f"{a!r},{b!r}" if np.iscomplexobj(row) else repr(a) for a, b in pairs]
        body.append(f"{k}\t\t" + "\n\t".join(text))
    return ("\n".join([*head, "Values:", *body]) + "\n").encode()


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "ascii"])
def test_read_rawfile_real_and_complex_plots(tmp_path, binary):
    rng = np.random.default_rng(0)
    tran = rng.normal(size=(5, 3))
    ac = rng.normal(size=(4, 3)) + 1j * rng.normal(size=(4, 3))
    ac[:, 0] = ac[:, 0].real
    path = tmp_path / "two.raw"
    path.write_bytes(
        _rawfile("real", ["time", "v(a)", "i(l1)"], tran, binary)
        + _rawfile("complex", ["frequency", "v(a)", "l1#branch"], ac, binary)
    )
    first, second = read_rawfile(path)
    assert isinstance(first, SpiceResult) and first.mode == "rawfile"
    assert (first.analysis, second.analysis) == ("tran", "ac")
    np.testing.assert_array_equal(first.axis, tran[:, 0])
    np.testing.assert_array_equal(first.voltage("a"), tran[:, 1])
    np.testing.assert_array_equal(first.current("l1"), tran[:, 2])
    np.testing.assert_array_equal(second.axis, ac[:, 0].real)
    np.testing.assert_array_equal(second.voltage("a"), ac[:, 1])
    np.testing.assert_array_equal(second.current("l1"), ac[:, 2])


def test_read_rawfile_rejects_truncated_files(tmp_path):
    path = tmp_path / "cut.raw"
    whole = _rawfile("real", ["time", "v(a)"], np.ones((4, 2)), True)
    path.write_bytes(whole[:-8])
    with pytest.raises(SimulatorError, match=r"cut.raw is truncated"):
        read_rawfile(path)
    path.write_bytes(b"not a rawfile\n")
    with pytest.raises(SimulatorError, match=r"is not an ngspice rawfile"):
        read_rawfile(path)


def test_read_rawfile_of_ngspice_ascii_output(ngspice, tmp_path):
    netlist = tmp_path / "rc.cir"
    netlist.write_text(RC_LOWPASS)
    env = {**os.environ, "SPICE_ASCIIRAWFILE": "1"}
    exe = runner.find_ngspice_executable()
    subprocess.run(
        [exe, "-b", "-r", str(tmp_path / "rc.raw"), str(netlist)],
        capture_output=True,
        env=env,
        check=True,
        stdin=subprocess.DEVNULL,
    )
    assert b"Values:" in (tmp_path / "rc.raw").read_bytes()
    (plot,) = read_rawfile(tmp_path / "rc.raw")
    shared = run_netlist(RC_LOWPASS, mode="shared")
    np.testing.assert_allclose(plot.voltage("out"), shared.voltage("out"), rtol=1e-14)
