"""The command line: one-line errors for bad input, and the happy paths."""

import json
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

from hwep.cli import main
from hwep.network import save_graph

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _run(capsys, *argv):
    status = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _assert_one_line_error(status, err, pattern):
    assert status == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("hwep: error: ")
    assert "Traceback" not in err
    assert pattern in lines[0], lines[0]


def _tank_graph(**changes):
    G = nx.MultiGraph(ground="gnd", inputs=["a"], outputs=["a"])
    G.add_edge("a", "gnd", kind="inductor", value="10m")
    G.add_edge("a", "gnd", kind="capacitor", value="100u")
    for key, value in changes.items():
        G.graph[key] = value
    return G


@pytest.mark.parametrize(
    "edit, pattern",
    [
        (
            lambda G: G.add_edge("a", "gnd", kind="memristor", value=1),
            "unknown kind 'memristor'",
        ),
        (
            lambda G: G.add_edge("a", "gnd", kind="capacitor", value=-1),
            "capacitor 'C2' between 'a' and 'gnd': value -1 must be positive",
        ),
        (
            lambda G: G.add_edge("a", "gnd", kind="capacitor", value="1x"),
            "capacitor 'C2' between 'a' and 'gnd': value: '1x' has an unknown suffix",
        ),
        (lambda G: G.graph.pop("ground"), "network has no ground node"),
        (lambda G: G.graph.update(outputs="b"), "output port 'b' is not in the graph"),
        (
            lambda G: G.add_edge("b", "c", kind="inductor", value=1),
            "node 'b' has no path to ground",
        ),
    ],
)
def test_bad_graphs(tmp_path, capsys, edit, pattern):
    G = _tank_graph()
    edit(G)
    path = tmp_path / "bad.json"
    save_graph(G, path)
    status, _, err = _run(capsys, "info", path)
    _assert_one_line_error(status, err, pattern)


def _write_config(tmp_path, text):
    path = tmp_path / "run.toml"
    path.write_text(text)
    return path


def test_drive_exactly_at_a_resonance(tmp_path, capsys):
    save_graph(_tank_graph(), tmp_path / "tank.graphml")
    config = _write_config(
        tmp_path,
        """
[network]
file = "tank.graphml"
[task]
kind = "vibration"
frequencies = [159.15494309189535]
amplitudes = [["1m"]]
observable = "flux"
""",
    )
    status, _, err = _run(capsys, "train", config, "--out", tmp_path / "run")
    _assert_one_line_error(
        status,
        err,
        "drive at 159.155 Hz is on a resonance of the lossless network "
        "(mode at 159.155 Hz)",
    )


def _iris_config(tmp_path, data):
    text = (
        (EXAMPLES / "iris_lc_lattice.toml")
        .read_text()
        .replace('data = "iris"', f'data = "{data}"')
    )
    return _write_config(tmp_path, text)


def test_empty_data_set(tmp_path, capsys):
    (tmp_path / "empty.csv").write_text("a,b,c,d,species\n")
    status, _, err = _run(
        capsys, "train", _iris_config(tmp_path, "empty.csv"), "--out", tmp_path / "r"
    )
    _assert_one_line_error(status, err, "data file")
    assert "has a header but no samples" in err


def test_csv_with_a_non_numeric_cell(tmp_path, capsys):
    rows = (
        (Path(__file__).resolve().parent.parent / "hwep" / "data" / "iris.csv")
        .read_text()
        .splitlines()
    )
    rows[17] = (
        rows[17].replace("5.7", "five", 1)
        if "5.7" in rows[17]
        else "x,3.1,1.5,0.2,setosa"
    )
    (tmp_path / "bad.csv").write_text("\n".join(rows) + "\n")
    status, _, err = _run(
        capsys, "train", _iris_config(tmp_path, "bad.csv"), "--out", tmp_path / "r"
    )
    _assert_one_line_error(status, err, "bad.csv line 18, column 'sepal_length_cm'")
    assert "is not a number" in err


def test_ports_that_do_not_fit_the_data(tmp_path, capsys):
    text = (
        (EXAMPLES / "iris_lc_lattice.toml")
        .read_text()
        .replace('outputs = ["n0_1", "n1_0", "n1_2"]', 'outputs = ["n0_1", "n1_0"]')
    )
    status, _, err = _run(
        capsys, "train", _write_config(tmp_path, text), "--out", tmp_path / "r"
    )
    _assert_one_line_error(
        status, err, "has 3 classes, but network 'iris_lc_lattice' has 2 output ports"
    )


@pytest.mark.parametrize(
    "text, pattern",
    [
        ("[network]\nbuilder = 'lattice'\n", "has no [task] table"),
        (
            "[network]\nbuilder = 'grid'\n[task]\nkind = 'classification'\n",
            "builder 'grid' is unknown",
        ),
        (
            "[network]\nbuilder = 'lattice'\nrows = 2\ncols = 2\n"
            "[task]\nkind = 'poetry'\n",
            "kind 'poetry' is unknown",
        ),
        ("[network\n", "is not valid TOML"),
        (
            "[network]\nbuilder = 'lattice'\ncolumns = 3\n[task]\nkind = 'x'\n",
            "unknown key(s) ['columns'] for builder 'lattice'",
        ),
    ],
)
def test_bad_configs(tmp_path, capsys, text, pattern):
    status, _, err = _run(
        capsys, "train", _write_config(tmp_path, text), "--out", tmp_path / "r"
    )
    _assert_one_line_error(status, err, pattern)


def test_missing_files(tmp_path, capsys):
    status, _, err = _run(capsys, "train", tmp_path / "none.toml")
    _assert_one_line_error(status, err, "does not exist")
    status, _, err = _run(capsys, "info", tmp_path / "none.graphml")
    _assert_one_line_error(status, err, "does not exist")


def test_info_lists_resonances(capsys, tmp_path):
    save_graph(_tank_graph(), tmp_path / "tank.gml")
    status, out, _ = _run(capsys, "info", tmp_path / "tank.gml")
    assert status == 0
    assert "resonances of the lossless network (Hz): 159.155" in out
    status, out, _ = _run(capsys, "info", tmp_path / "tank.gml", "--json")
    assert json.loads(out)["resonances_hz"] == pytest.approx([159.15494309189535])


def test_gradcheck_json(capsys):
    status, out, _ = _run(
        capsys, "gradcheck", EXAMPLES / "iris_lc_lattice.toml", "--json", "-"
    )
    assert status == 0
    report = json.loads(out)
    configured = report["methods"]["configured"]
    assert configured["cosine"] >= 0.999999 and configured["relative_error"] <= 1e-4
    assert report["adjoint_vs_fd"]["relative_error"] <= 1e-6


def test_train_then_resume(tmp_path, capsys):
    out = tmp_path / "run"
    status, text, _ = _run(
        capsys, "train", EXAMPLES / "spring_chain.toml", "--out", out, "--epochs", "3"
    )
    assert status == 0 and "trained 3 epochs" in text
    status, text, _ = _run(
        capsys,
        "train",
        EXAMPLES / "spring_chain.toml",
        "--out",
        out,
        "--resume",
        "--epochs",
        "5",
    )
    assert status == 0 and "trained epochs 4-5" in text
    assert len(json.loads((out / "metrics.json").read_text())) == 5


def test_sweep_over_seeds(tmp_path, capsys):
    status, text, _ = _run(
        capsys,
        "sweep",
        EXAMPLES / "iris_lc_lattice.toml",
        "--seeds",
        "0,1",
        "--epochs",
        "2",
        "--executor",
        "serial",
        "--out",
        tmp_path / "sweep",
    )
    assert status == 0
    runs = json.loads((tmp_path / "sweep" / "sweep.json").read_text())["runs"]
    assert [r["seed"] for r in runs] == [0, 1]
    assert "mean" in text


def test_console_script_prints_no_traceback(tmp_path):
    path = tmp_path / "g.json"
    save_graph(_tank_graph(inputs=["zz"]), path)
    result = subprocess.run(
        [sys.executable, "-m", "hwep.cli", "info", str(path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "hwep: error: input port 'zz' is not in the graph"


def test_a_finished_run_is_not_overwritten_silently(tmp_path, capsys):
    out = tmp_path / "run"
    config = EXAMPLES / "spring_chain.toml"
    assert _run(capsys, "train", config, "--out", out, "--epochs", "2")[0] == 0
    status, _, err = _run(capsys, "train", config, "--out", out, "--epochs", "2")
    _assert_one_line_error(
        status, err, "already holds a run; continue it with --resume"
    )
    status, text, _ = _run(capsys, "train", config, "--out", out, "--overwrite")
    assert status == 0 and "trained" in text


def test_resume_needs_the_run_settings(tmp_path, capsys):
    out = tmp_path / "run"
    config = EXAMPLES / "spring_chain.toml"
    assert _run(capsys, "train", config, "--out", out, "--epochs", "2")[0] == 0
    (out / "run.json").unlink()
    status, _, err = _run(capsys, "train", config, "--out", out, "--resume")
    _assert_one_line_error(status, err, "has a checkpoint but no run.json")


@pytest.mark.parametrize(
    "damage, pattern",
    [
        (b"\xff\xfe\x00garbage", "is damaged"),
        (b"[]", "is damaged: not a JSON object"),
        (b'{"epoch": 1}', "is damaged: missing"),
        (b"", "is damaged"),
    ],
)
def test_damaged_checkpoint(tmp_path, capsys, damage, pattern):
    out = tmp_path / "run"
    config = EXAMPLES / "spring_chain.toml"
    assert _run(capsys, "train", config, "--out", out, "--epochs", "2")[0] == 0
    (out / "checkpoint.json").write_bytes(damage)
    status, _, err = _run(capsys, "train", config, "--out", out, "--resume")
    _assert_one_line_error(status, err, pattern)


def test_damaged_parameter_values_in_a_checkpoint(tmp_path, capsys):
    out = tmp_path / "run"
    config = EXAMPLES / "spring_chain.toml"
    assert _run(capsys, "train", config, "--out", out, "--epochs", "2")[0] == 0
    state = json.loads((out / "checkpoint.json").read_text())
    state["params"][0] = "x"
    (out / "checkpoint.json").write_text(json.dumps(state))
    status, _, err = _run(capsys, "train", config, "--out", out, "--resume")
    _assert_one_line_error(status, err, "is damaged")


@pytest.mark.parametrize(
    "argv, pattern",
    [
        (["train", "CONFIG", "--epochs", "-1"], "epochs = -1: must be >= 0"),
        (["train", "CONFIG", "--seed", "-5"], "config seed = -5: must be >= 0"),
        (["sweep", "CONFIG", "--seeds", "4-0"], "no seeds (a range needs low <= high)"),
        (["sweep", "CONFIG", "--seeds", "1,1"], "seeds must be distinct"),
    ],
)
def test_bad_options(tmp_path, capsys, argv, pattern):
    argv = [str(EXAMPLES / "spring_chain.toml") if a == "CONFIG" else a for a in argv]
    status, _, err = _run(capsys, *argv, "--out", tmp_path / "r")
    _assert_one_line_error(status, err, pattern)


def test_output_directory_that_is_a_file(tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    config = EXAMPLES / "spring_chain.toml"
    status, _, err = _run(capsys, "train", config, "--out", tmp_path / "afile")
    _assert_one_line_error(status, err, "is a file")
    status, _, err = _run(capsys, "train", config, "--out", tmp_path / "afile" / "sub")
    _assert_one_line_error(status, err, "Not a directory")


def test_argument_types_are_checked(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["gradcheck", str(EXAMPLES / "spring_chain.toml"), "--samples", "0"])
    assert stop.value.code == 2
    assert "--samples: 0 must be >= 1" in capsys.readouterr().err


@pytest.mark.parametrize(
    "content, pattern",
    [
        ("<graphml><graph>", "cannot read graph"),
        ("[1, 2, 3]", "expected a node-link object"),
    ],
)
def test_unreadable_graph_files(tmp_path, capsys, content, pattern):
    suffix = ".graphml" if content.startswith("<") else ".json"
    path = tmp_path / f"bad{suffix}"
    path.write_text(content)
    status, _, err = _run(capsys, "info", path)
    _assert_one_line_error(status, err, pattern)


@pytest.mark.parametrize(
    "edit, pattern",
    [
        (("[network]", "[network]\nrows = 'three'"), "config [network] rows = 'three'"),
        (
            ("[backend]", "[backend]\nfoo = 1"),
            "unknown key(s) ['foo'] for backend 'phasor'",
        ),
        (("[gradient]", "[gradient]\nbeta = 0.0"), "beta = 0.0: must be > 0"),
        (("seed = 0", "seed = 1.5"), "config seed = 1.5: expected an integer"),
        (
            ("seed = 0", "seed = 0\n[hardware]\nnoise = 0.1"),
            "unknown key(s) ['hardware']",
        ),
        (('amplitude = "1m"', "amplitude = 0"), "amplitude = 0: must be positive"),
        (
            ("test_fraction = 0.3", "test_fraction = 0.99"),
            "test_fraction = 0.99: must be",
        ),
    ],
)
def test_bad_config_values(tmp_path, capsys, edit, pattern):
    text = (EXAMPLES / "iris_lc_lattice.toml").read_text()
    old, new = edit
    assert old in text
    text = text.replace(old, new, 1)
    if "rows = 'three'" in new:
        text = text.replace("rows = 3\n", "")
    status, _, err = _run(
        capsys, "train", _write_config(tmp_path, text), "--out", tmp_path / "r"
    )
    _assert_one_line_error(status, err, pattern)


def test_non_utf8_and_semicolon_data(tmp_path, capsys):
    (tmp_path / "latin.csv").write_bytes(
        "a,b,c,d,species\n1,2,3,4,s\xe9tosa\n".encode("latin-1")
    )
    status, _, err = _run(
        capsys, "train", _iris_config(tmp_path, "latin.csv"), "--out", tmp_path / "r"
    )
    _assert_one_line_error(status, err, "is not UTF-8 text")
    (tmp_path / "semi.csv").write_text("a;b;c;d;species\n1;2;3;4;x\n")
    status, _, err = _run(
        capsys, "train", _iris_config(tmp_path, "semi.csv"), "--out", tmp_path / "r2"
    )
    _assert_one_line_error(status, err, "looks semicolon-separated")


def test_info_uses_the_config_seed(capsys):
    from hwep.config import load_config
    from hwep.train import Trainer

    config = EXAMPLES / "spring_chain.toml"
    status, out, _ = _run(capsys, "info", config, "--json")
    listed = {p["name"]: p["value"] for p in json.loads(out)["parameter_list"]}
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        trainer = Trainer(load_config(config), out_dir=scratch)
    assert listed["m1"] == trainer.network.values()[0]


def test_export_a_trained_run(tmp_path, capsys):
    out = tmp_path / "run"
    assert (
        _run(
            capsys,
            "train",
            EXAMPLES / "spring_chain.toml",
            "--out",
            out,
            "--epochs",
            "3",
        )[0]
        == 0
    )
    status, text, _ = _run(capsys, "export", out)
    assert status == 0
    params = json.loads((out / "params.json").read_text())["parameters"]
    assert f".param p_m1={params['m1']['value']:.16e}"[:24] in text
