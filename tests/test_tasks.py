"""Tasks: data files, ports, targets, and the known answers of the fitting tasks."""

from pathlib import Path

import numpy as np
import pytest

from hwep.backends import PhasorBackend
from hwep.config import build_network, load_config
from hwep.errors import ConfigError, DataError
from hwep.tasks import build_task, split_indices
from hwep.tasks.classification import load_csv
from hwep.tasks.response import reference_values

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _task(name, **task):
    config = load_config(EXAMPLES / name)
    config["task"].update(task)
    network = build_network(config)
    return build_task(config, network, np.random.default_rng(0)), network


def test_bundled_iris():
    task, _ = _task("iris_lc_lattice.toml")
    assert task.classes == ["setosa", "versicolor", "virginica"]
    assert len(task.train) == 105 and len(task.test) == 45
    assert np.bincount(task.cost.labels[task.test]).tolist() == [15, 15, 15]
    # Standardized on the training split; the bias input is constant.
    amplitude = task.drive.amplitude[task.train, 0, :].real / 1e-3
    np.testing.assert_allclose(amplitude[:, :4].mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(amplitude[:, :4].std(axis=0), 1, rtol=1e-12)
    np.testing.assert_array_equal(amplitude[:, 4], 1.0)
    assert task.drive.omega == pytest.approx([2 * np.pi * 1e3])


def test_load_csv_errors(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("x,y,label\n1,2,a\n3\n")
    with pytest.raises(DataError, match="d.csv line 3: 1 cells, header has 3"):
        load_csv(path)
    path.write_text("x,y,label\n1,nan,a\n")
    with pytest.raises(
        DataError, match="d.csv line 2, column 'y': 'nan' is not finite"
    ):
        load_csv(path)
    path.write_text("")
    with pytest.raises(DataError, match="is empty"):
        load_csv(path)
    path.write_text("x,y,label\n1,2,a\n")
    with pytest.raises(DataError, match="has no column 'kind'"):
        load_csv(path, label_column="kind")


def test_label_column_by_name(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("label,x,y\na,1,2\nb,3,4\na,5,6\n")
    features, labels, classes, names = load_csv(path, label_column="label")
    np.testing.assert_array_equal(features, [[1, 2], [3, 4], [5, 6]])
    assert (
        labels.tolist() == [0, 1, 0] and classes == ["a", "b"] and names == ["x", "y"]
    )


def test_stratified_split():
    labels = np.repeat([0, 1, 2], 10)
    train, test = split_indices(30, 0.3, np.random.default_rng(1), labels)
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(30))
    assert np.bincount(labels[test]).tolist() == [3, 3, 3]
    with pytest.raises(ConfigError, match=r"test_fraction must be in \[0, 1\)"):
        split_indices(30, 1.0, np.random.default_rng(1))


def test_response_task_is_zero_at_the_answer():
    task, network = _task("ladder_reactance.toml")
    answer = np.array(task.info["answer"])
    np.testing.assert_allclose(answer, [1e-3, 2e-6, 3e-3, 1e-6, 2e-3])
    backend = PhasorBackend(network.with_values(answer))
    drive, cost = task.batch(task.train)
    assert cost.value(backend.run(drive).outputs, drive)[0] < 1e-28
    assert cost.value(PhasorBackend(network).run(drive).outputs, drive)[0] > 0.1
    assert drive.sigma == 1e4 and drive.n_harmonics == 24


def test_response_reference_must_name_every_parameter():
    _, network = _task("ladder_reactance.toml")
    with pytest.raises(ConfigError, match=r"missing value\(s\) for \['L5'\]"):
        reference_values(network, {"L1": 1, "C2": 1, "L3": 1, "C4": 1})
    with pytest.raises(ConfigError, match="'R9' is not a trainable parameter"):
        reference_values(network, {"R9": 1})


def test_vibration_targets_must_fit():
    with pytest.raises(ConfigError, match=r"amplitudes must be 2 row\(s\) of 2"):
        _task("spring_chain.toml", amplitudes=[["1m", "1m"]])
    with pytest.raises(
        ConfigError, match=r"unknown key\(s\) \['amplitude'\] for vibration"
    ):
        _task("spring_chain.toml", amplitude=1)


def test_frequency_tables():
    task, _ = _task(
        "ladder_reactance.toml", frequencies={"start": 10, "stop": 1000, "count": 3}
    )
    np.testing.assert_allclose(task.drive.omega / (2 * np.pi), [10, 100, 1000])
    with pytest.raises(ConfigError, match="need 0 < start < stop"):
        _task("ladder_reactance.toml", frequencies={"start": 10, "stop": 1, "count": 3})
