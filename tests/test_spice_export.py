"""Tests of hwep.spice.export and the command line with the ngspice backend.

The checked-in netlists (netlists/) must be exactly what ``hwep export --examples``
writes now, and each must run unchanged in ``ngspice -b``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from spice_cases import EXAMPLES, REPO, example_batch, ngspice  # noqa: F401

from hwep.backends import PhasorBackend
from hwep.cli import main
from hwep.network import save_graph
from hwep.spice.export import export_examples, export_netlist, read_params
from hwep.spice.runner import find_ngspice_executable
from hwep.spice.tran import drive_period

NETLISTS = REPO / "netlists"


def test_checked_in_netlists_are_what_the_code_generates(tmp_path):
    report = export_examples(EXAMPLES, tmp_path)
    generated = sorted(p.name for p in tmp_path.iterdir())
    checked_in = sorted(p.name for p in NETLISTS.iterdir())
    assert generated == checked_in, "regenerate with: hwep export --examples netlists/"
    for name in generated:
        assert (tmp_path / name).read_text() == (NETLISTS / name).read_text(), (
            f"netlists/{name} is stale; regenerate with: hwep export --examples "
            "netlists/"
        )
    written = {name for name, status in report if status == "written"}
    assert {"iris_lc_lattice.ac.cir", "iris_lc_lattice.tran.cir"} <= written
    skipped = dict(report)
    assert "no common period" in skipped["ladder_reactance.tran.cir"]


@pytest.mark.usefixtures("ngspice")
@pytest.mark.parametrize("path", sorted(NETLISTS.glob("*.cir")), ids=lambda p: p.name)
def test_exported_netlists_run_unchanged_in_ngspice_batch(path):
    done = subprocess.run(
        [find_ngspice_executable(), "-b", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert not re.search(r"error|singular|too small", output, flags=re.I), output

    # The printed outputs agree with the native model of the example.
    name, analysis = path.name.split(".")[:2]
    network, drive, _, trainer = example_batch(name, samples=1)
    index = int(trainer.task.train[0])
    drive = trainer.task.drive.subset([index])
    native = PhasorBackend(network).run(drive).outputs[0] * drive.s[:, None]
    if analysis == "ac":
        rows = re.findall(r"^0\t\S+\t(\S+)\t(\S+)", done.stdout, flags=re.M)
        printed = np.array([float(re_) + 1j * float(im) for re_, im in rows])
        assert printed.size == native.shape[1]
        assert np.allclose(printed, native[0], rtol=1e-5, atol=1e-5 * abs(native).max())
    else:
        # One .four table per output, a row per harmonic of the common period.
        period, harmonics = drive_period(drive.omega)
        tables = done.stdout.split("Fourier analysis for")[1:]
        assert len(tables) == native.shape[1]
        for o, table in enumerate(tables):
            rows = dict(re.findall(r"^ *(\d+)\s+\S+\s+(\S+)\s", table, flags=re.M))
            magnitude = np.array([float(rows[str(k)]) for k in harmonics])
            assert np.allclose(magnitude, np.abs(native[:, o]), rtol=2e-2)


def test_exported_values_round_trip_to_1e_12():
    network, drive, _, _ = example_batch("iris_lc_lattice", samples=1)
    text = export_netlist(network, frequency=700.0)
    values = read_params(text)
    for parameter, value in zip(network.parameters, network.values(), strict=True):
        name = "p_" + re.sub(r"[^a-z0-9_]", "_", parameter.label.lower())
        assert abs(values[name] - value) <= 1e-12 * value
    assert "* drive: 1 A (N) cosine at 700 Hz" in text


def test_cli_exports_a_graph_and_a_config(tmp_path, capsys):
    network, _, _, _ = example_batch("spring_chain", samples=1)
    graph = tmp_path / "chain.graphml"
    save_graph(network.to_graph(), graph)
    out = tmp_path / "chain.cir"
    assert main(["export", str(graph), "-o", str(out), "--frequency", "1.5"]) == 0
    text = out.read_text()
    assert f"* source: {graph}" in text and ".ac lin 1 1.5e+00 1.5e+00" in text
    assert capsys.readouterr().out == f"wrote {out}\n"

    config = str(EXAMPLES / "iris_lc_lattice.toml")
    assert main(["export", config, "--analysis", "tran", "--quality", "1k"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("hwep iris_lc_lattice tran\n") and ".tran " in printed
    assert "* added loss: quality factor 1000" in printed


def test_cli_export_errors_are_one_line(tmp_path, capsys):
    network, _, _, _ = example_batch("spring_chain", samples=1)
    graph = tmp_path / "chain.json"
    save_graph(network.to_graph(), graph)
    assert main(["export", str(graph), "--analysis", "tran"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert re.match(r"hwep: error: network .* has an undamped mode near", error)
    assert main(["export"]) == 2
    assert "give a graph or config file, or --examples DIR" in capsys.readouterr().err


def test_cli_regenerates_the_examples(tmp_path, capsys):
    target = tmp_path / "nets"
    assert main(["export", "--examples", str(target), "--from", str(EXAMPLES)]) == 0
    printed = capsys.readouterr().out
    assert f"wrote {target / 'iris_lc_lattice.ac.cir'}" in printed
    assert (target / "README.md").is_file()


@pytest.mark.usefixtures("ngspice")
def test_cli_train_and_gradcheck_with_the_ngspice_backend(tmp_path, capsys):
    config = str(EXAMPLES / "iris_lc_lattice.toml")
    run = tmp_path / "run"
    args = ["train", config, "--backend", "ngspice", "--epochs", "1", "--quiet"]
    assert main([*args, "--out", str(run)]) == 0
    summary = json.loads((run / "summary.json").read_text())
    assert summary["backend"] == "ngspice" and summary["epochs"] == 1
    assert summary["final"]["probe_cosine"] > 0.9999

    capsys.readouterr()
    config = str(EXAMPLES / "spring_chain.toml")
    assert main(["gradcheck", config, "--backend", "ngspice", "--json", "-"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["backend"] == "ngspice"
    for name in ("configured", "ep symmetric frozen", "ep symmetric closed"):
        assert report["methods"][name]["cosine"] > 0.9999, name


@pytest.mark.usefixtures("ngspice")
def test_make_backend_finds_ngspice_without_importing_it():
    code = (
        "import json, sys\n"
        "from hwep.backends import make_backend, _REGISTRY\n"
        "from hwep.builders import spring_chain\n"
        "from hwep.network import Network\n"
        "before = 'ngspice' in _REGISTRY\n"
        "backend = make_backend('ngspice', Network(spring_chain(2)), analysis='tran')\n"
        "print(json.dumps([before, type(backend).__name__, backend.analysis]))\n"
    )
    environ = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=environ,
        timeout=60,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [False, "NgspiceBackend", "tran"]
