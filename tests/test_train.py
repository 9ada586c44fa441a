"""Trainer: learning, exact resume, atomic files, optimizers, settings checks."""

import json
from pathlib import Path

import numpy as np
import pytest

from hwep.config import load_config
from hwep.errors import ConfigError
from hwep.train import Trainer, atomic_write

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _config(name, **training):
    config = load_config(EXAMPLES / name)
    config.setdefault("training", {}).update(training)
    return config


def test_iris_lattice_learns(tmp_path):
    trainer = Trainer(_config("iris_lc_lattice.toml"), out_dir=tmp_path)
    summary = trainer.run()
    final = summary["final"]
    assert final["test_accuracy"] >= 0.9
    assert final["train_accuracy"] >= 0.9
    assert final["probe_cosine"] > 1 - 1e-12
    history = json.loads((tmp_path / "metrics.json").read_text())
    assert history[0]["train_loss"] > 2 * history[-1]["train_loss"]
    for name in ("metrics.csv", "params.json", "checkpoint.json", "config.toml"):
        assert (tmp_path / name).is_file()
    for name in ("loss_curve.png", "gradient_check.png", "response.png"):
        assert (tmp_path / name).stat().st_size > 10_000


@pytest.mark.parametrize(
    "example, total, stop",
    [
        ("iris_lc_lattice.toml", 6, 3),
        ("ladder_reactance.toml", 8, 5),
        ("spring_chain.toml", 6, 2),
    ],
)
def test_resume_ends_with_exactly_the_uninterrupted_parameters(
    tmp_path, example, total, stop
):
    straight = Trainer(_config(example, epochs=total), out_dir=tmp_path / "a")
    straight.run()

    # Stop after epoch `stop`, then resume from the run directory alone.
    Trainer(_config(example, epochs=total), out_dir=tmp_path / "b").run(stop_after=stop)
    resumed = Trainer.from_run_dir(tmp_path / "b", epochs=total)
    resumed.run(resume=True)
    np.testing.assert_array_equal(resumed.values(), straight.values())
    np.testing.assert_array_equal(resumed.digital(), straight.digital())
    a = json.loads((tmp_path / "a" / "metrics.json").read_text())
    b = json.loads((tmp_path / "b" / "metrics.json").read_text())
    assert [r["train_loss"] for r in a] == [r["train_loss"] for r in b]


def test_interrupted_run_keeps_its_last_epoch(tmp_path, monkeypatch):
    config = _config("iris_lc_lattice.toml", epochs=5)
    trainer = Trainer(config, out_dir=tmp_path)
    original = trainer._evaluate
    calls = {"n": 0}

    def interrupt(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(trainer, "_evaluate", interrupt)
    with pytest.raises(KeyboardInterrupt):
        trainer.run()
    state = json.loads((tmp_path / "checkpoint.json").read_text())
    assert state["epoch"] == 2
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]

    resumed = Trainer.from_run_dir(tmp_path)
    resumed.run(resume=True)
    straight = Trainer(config, out_dir=tmp_path / "straight")
    straight.run()
    np.testing.assert_array_equal(resumed.values(), straight.values())


def test_atomic_write_replaces_whole_files(tmp_path):
    path = tmp_path / "f.json"
    atomic_write(path, "first")
    atomic_write(path, "second")
    assert path.read_text() == "second"
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]


def test_params_file_has_units(tmp_path):
    trainer = Trainer(_config("spring_chain.toml", epochs=1), out_dir=tmp_path)
    trainer.run()
    params = json.loads((tmp_path / "params.json").read_text())["parameters"]
    assert params["m1"]["unit"] == "kg" and params["k1"]["unit"] == "N/m"
    assert params["k1"]["kind"] == "spring" and set(params["m1"]["nodes"]) == {
        "x1",
        "gnd",
    }


def test_values_stay_within_bounds(tmp_path):
    config = _config("iris_lc_lattice.toml", epochs=3, learning_rate=5.0)
    config["network"]["bounds"] = {
        "inductor": ["0.5m", "5m"],
        "capacitor": ["0.5u", "5u"],
    }
    trainer = Trainer(config, out_dir=tmp_path)
    trainer.run()
    values = trainer.values()
    assert np.all(values >= trainer.lower * (1 - 1e-12))
    assert np.all(values <= trainer.upper * (1 + 1e-12))
    assert np.any(np.isclose(values, trainer.lower)) or np.any(
        np.isclose(values, trainer.upper)
    )


def test_seed_changes_values_and_split(tmp_path):
    a = Trainer(_config("iris_lc_lattice.toml"), out_dir=tmp_path, seed=1)
    b = Trainer(_config("iris_lc_lattice.toml"), out_dir=tmp_path, seed=2)
    assert not np.array_equal(a.network.values(), b.network.values())
    assert not np.array_equal(a.task.test, b.task.test)
    c = Trainer(_config("iris_lc_lattice.toml"), out_dir=tmp_path, seed=1)
    np.testing.assert_array_equal(a.network.values(), c.network.values())


def test_plain_ep_refuses_trainable_resistors(tmp_path):
    config = _config("iris_lc_lattice.toml")
    config["network"]["R"] = "10k"
    config["network"]["trainable"] = {"resistor": True}
    with pytest.raises(
        ConfigError,
        match="resistor 'R1' between 'n0_0' and 'gnd' is trainable, but gradient "
        "mode 'ep' measures no conjugate",
    ):
        Trainer(config, out_dir=tmp_path)
    config["gradient"]["mode"] = "reciprocal"
    trainer = Trainer(config, out_dir=tmp_path)
    assert "R1" in [p.label for p in trainer.network.parameters]


@pytest.mark.parametrize(
    "training, message",
    [
        ({"optimizer": "rmsprop"}, r"optimizer = 'rmsprop': expected one of \['adam'"),
        ({"learning_rate": -1.0}, "learning_rate = -1.0: must be > 0"),
        ({"learning_rate": "fast"}, "learning_rate = 'fast': expected a number"),
        ({"lr_decay": 2.0}, "lr_decay = 2.0: must be > 0 and <= 1"),
        ({"epochs": "three"}, "epochs = 'three': expected an integer"),
        ({"epochs": 2.5}, "epochs = 2.5: expected an integer"),
        ({"batch_size": 0}, "batch_size = 0: must be >= 1"),
        ({"probe": "false"}, "probe = 'false': expected true or false"),
        ({"batchsize": 4}, r"config \[training\]: unknown key\(s\) \['batchsize'\]"),
    ],
)
def test_bad_training_settings(tmp_path, training, message):
    with pytest.raises(ConfigError, match=message):
        Trainer(_config("iris_lc_lattice.toml", **training), out_dir=tmp_path)


def test_resume_without_checkpoint(tmp_path):
    with pytest.raises(ConfigError, match="holds no run"):
        Trainer.from_run_dir(tmp_path)
