"""Time-domain drives, costs and tasks: waveform mapping, XOR, waypoints, end states."""

import doctest
from pathlib import Path

import numpy as np
import pytest

import hwep.solvers.boundary
import hwep.solvers.periodic
import hwep.solvers.transient
import hwep.tasks.waveform
import hwep.timedomain
import hwep.trajectory
from hwep.backends import Drive, make_backend
from hwep.config import build_network, load_config
from hwep.ep import ep_gradient
from hwep.errors import ConfigError
from hwep.network import Network
from hwep.tasks import build_task
from hwep.timedomain import LockInClassCost, LockInCost, TimeDrive, TrajectoryCost

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
EPS = 1e-30


def setup(name: str, seed: int = 0):
    """(config, network, task, backend) of an example, built as the trainer does."""
    config = load_config(EXAMPLES / f"{name}.toml")
    network = build_network(config)
    task = build_task(config, network, np.random.default_rng([seed, 1]))
    options = dict(config.get("backend", {}))
    backend = make_backend(options.pop("name", task.backend), network, **options)
    return config, network, task, backend


def train(backend, drive, cost, steps: int, rate: float = 0.05):
    """Adam in log-value on EP gradients (symmetric, frozen): a minimal trainer."""
    log_values = np.log(backend.network.values())
    m, v = np.zeros_like(log_values), np.zeros_like(log_values)
    for t in range(1, steps + 1):
        grad = ep_gradient(backend, drive, cost, nudge_ratio=1e-3).grad
        grad = grad * np.exp(log_values)
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad**2
        step = (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-300)
        log_values = log_values - rate * step
        backend.set_values(np.exp(log_values))
    return backend


# -- drives -------------------------------------------------------------------------


def test_time_drive_grid_and_views():
    drive = TimeDrive.from_harmonics(
        2.0, 8, [np.pi, 2 * np.pi], np.ones((3, 2, 1)), offset=np.full((3, 1), 0.5)
    )
    assert (drive.n_samples, drive.n_times, drive.n_steps) == (3, 8, 8)
    assert drive.dt == 0.25 and drive.times[-1] == 1.75
    np.testing.assert_allclose(drive.force[0, 0, 0], 2.5)
    assert drive.subset([0, 2]).n_samples == 2
    assert not np.any(drive.zeros().force)
    np.testing.assert_allclose(drive.scaled(2.0).force, 2 * drive.force)
    bounded = TimeDrive(1.0, np.zeros((2, 5, 1)), periodic=False, initial=[1.0, 2.0])
    assert bounded.n_steps == 4 and bounded.initial.shape == (2, 2)
    assert not hasattr(drive, "s")


def test_time_drive_from_a_phasor_drive():
    drive = TimeDrive.from_drive(Drive(np.array([2.0, 6.0]), np.ones((1, 2, 1))), 12)
    assert drive.horizon == pytest.approx(np.pi)
    expected = np.cos(2.0 * drive.times) + np.cos(6.0 * drive.times)
    np.testing.assert_allclose(drive.force[0, :, 0], expected, atol=1e-12)


def test_time_drive_errors_name_the_problem():
    with pytest.raises(ConfigError, match=r"does not repeat over the period"):
        TimeDrive.from_harmonics(1.0, 8, [1.0], np.ones((1, 1, 1)))
    with pytest.raises(ConfigError, match=r"\(n_samples, n_times, n_inputs\)"):
        TimeDrive(1.0, np.zeros(5))
    with pytest.raises(ConfigError, match=r"horizon must be positive"):
        TimeDrive(-1.0, np.zeros((1, 8, 1)))
    with pytest.raises(ConfigError, match=r"initial must be \(n_samples=1, n_nodes\)"):
        TimeDrive(1.0, np.zeros((1, 8, 1)), initial=np.zeros((2, 3)))
    with pytest.raises(ConfigError, match=r"'reciprocal' gradient mode"):
        TimeDrive(1.0, np.zeros((1, 8, 1))).s  # noqa: B018


# -- costs ---------------------------------------------------------------------------


@pytest.mark.parametrize("observable", ["flux", "voltage"])
@pytest.mark.parametrize("periodic", [True, False])
def test_trajectory_error_is_the_scaled_cost_gradient(observable, periodic):
    rng = np.random.default_rng(0)
    n_times = 9
    drive = TimeDrive(2.0, np.zeros((2, n_times, 1)), periodic=periodic)
    target = rng.normal(size=(2, n_times, 2))
    weight = rng.uniform(0.5, 2.0, size=target.shape)
    cost = TrajectoryCost(target, weight, observable, periodic=periodic)
    x = rng.normal(size=target.shape)

    # e_j = (T / (h a_j)) ∂J/∂x_j, and the Hessian is ∂(a e)/∂x.
    a = np.ones(n_times)
    if not periodic:
        a[[0, -1]] = 0.5
    error = cost.error(x, drive)
    H = cost.hessian(drive, 1).toarray()
    for j, o in [(0, 0), (4, 1), (n_times - 1, 0)]:
        step = x.astype(complex)
        step[:, j, o] += 1j * EPS
        gradient = cost.value(step, drive).imag / EPS
        np.testing.assert_allclose(
            error[:, j, o], gradient * drive.n_steps / a[j], rtol=1e-12
        )
        column = (a[:, None] * cost.error(step, drive)[1].imag / EPS).ravel()
        np.testing.assert_allclose(H[:, j * 2 + o], column, atol=1e-12)


def test_trajectory_cost_values_and_checks():
    drive = TimeDrive(1.0, np.zeros((1, 8, 1)))
    cost = TrajectoryCost(np.zeros((1, 8, 1)))
    x = np.sin(2 * np.pi * drive.times)[None, :, None]
    assert cost.value(x, drive)[0] == pytest.approx(0.25)
    target = TrajectoryCost(x)
    assert target.rms_error(1.05 * x, drive)[0] == pytest.approx(0.05)
    with pytest.raises(ConfigError, match=r"for a periodic grid of 8 points"):
        cost.value(np.zeros((1, 9, 1)), TimeDrive(1.0, np.zeros((1, 9, 1))))
    with pytest.raises(ConfigError, match=r"weights must be >= 0"):
        TrajectoryCost(np.zeros((1, 8, 1)), -1.0)


def test_lock_in_reads_harmonics_and_its_error_is_the_gradient():
    drive = TimeDrive(2 * np.pi, np.zeros((2, 16, 1)))
    reference = np.stack([2 * np.cos(drive.times), 2 * np.cos(2 * drive.times)])
    x = np.stack([0.3 * np.cos(drive.times) - 0.2 * np.cos(2 * drive.times)] * 2)
    cost = LockInCost(reference, np.ones((2, 2, 1)), weight=[[[1.0], [3.0]]])
    np.testing.assert_allclose(cost.amplitudes(x[:, :, None])[0, :, 0], [0.3, -0.2])

    # e = N ∂J/∂x on a periodic grid; the Hessian is its Jacobian.
    error = cost.error(x[:, :, None], drive)
    H = cost.hessian(drive, 0).toarray()
    for j in (0, 5):
        step = x[:, :, None].astype(complex)
        step[:, j] += 1j * EPS
        gradient = cost.value(step, drive).imag / EPS
        np.testing.assert_allclose(error[:, j, 0], 16 * gradient, rtol=1e-12)
        column = cost.error(step, drive)[0, :, 0].imag / EPS
        np.testing.assert_allclose(H[:, j], column, atol=1e-12)


def test_lock_in_classes_pick_the_nearest_template():
    drive = TimeDrive(2 * np.pi, np.zeros((3, 16, 1)))
    reference = 2 * np.cos(2 * drive.times)[None]
    cost = LockInClassCost(reference, [[[1.0]], [[0.0]]], [0, 1, 1])
    x = (
        np.cos(2 * drive.times)[None, :, None]
        * np.array([0.9, 0.2, 0.6])[:, None, None]
    )
    np.testing.assert_array_equal(cost.predict(x, drive), [0, 1, 0])
    p = cost.probabilities(cost.observe(x, drive))
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert p[0, 0] > 0.5 > p[1, 0]
    assert cost.subset([1]).labels.tolist() == [1]
    with pytest.raises(ConfigError, match=r"class labels must lie in \[0, 2\)"):
        LockInClassCost(reference, [[[1.0]], [[0.0]]], [0, 2])


# -- tasks --------------------------------------------------------------------------


def test_xor_is_learned_by_the_nonlinear_network():
    _, network, task, backend = setup("xor_duffing")
    drive, cost = task.drive, task.cost
    assert task.backend == "periodic" and task.classes == ["xor=0", "xor=1"]
    accuracy = np.mean(cost.predict(backend.run(drive).outputs, drive) == cost.labels)
    assert accuracy == 0.5
    train(backend, drive, cost, steps=15)
    outputs = backend.run(drive).outputs
    assert np.all(cost.predict(outputs, drive) == cost.labels)
    assert task.metrics(cost, outputs, drive)["accuracy"] == 1.0


def test_xor_is_out_of_reach_of_the_linear_network():
    _, network, task, _ = setup("xor_duffing")
    graph = network.to_graph()
    for *_, data in graph.edges(data=True):
        if data["kind"] == "duffing_spring":
            data["k3"] = 0.0
    linear = Network(graph)
    assert linear.is_linear
    drive, cost = task.drive, task.cost

    # A tone at ω and a constant force give ω and DC only: the 2ω lock-in reads zero,
    # whatever the values, so every input lands on the same template.
    backend = make_backend("periodic", linear)
    for factor in (1.0, 0.5, 2.0):
        backend.set_values(linear.values() * factor)
        readings = cost.amplitudes(backend.run(drive).outputs)
        assert np.abs(readings).max() < 1e-12 * abs(cost.templates).max()
        predicted = cost.predict(backend.run(drive).outputs, drive)
        assert np.mean(predicted == cost.labels) == 0.5

    # The best affine fit of the targets from the bit amplitudes misclassifies too.
    bits = np.array(task.info["bits"])
    features = np.column_stack([np.ones(4), 2 * bits - 1])
    levels = cost.levels[:, 0, 0]
    fit = features @ np.linalg.lstsq(features, levels, rcond=None)[0]
    templates = cost.templates[:, 0, 0]
    nearest = np.argmin(np.abs(fit[:, None] - templates[None, :]), axis=1)
    assert np.mean(nearest == cost.labels) < 1.0


def test_waveform_task_reaches_five_percent_of_the_target_rms():
    _, network, task, backend = setup("waveform_duffing_chain")
    drive, cost = task.drive, task.cost
    floor = np.array(task.info["linear_floor"])
    assert np.all(floor > 0.05)
    initial = cost.rms_error(backend.run(drive).outputs, drive)
    assert np.all(initial > 0.05)
    train(backend, drive, cost, steps=60)
    final = cost.rms_error(backend.run(drive).outputs, drive)
    assert np.all(final < 0.05), (initial, final, floor)


@pytest.mark.parametrize(
    "name, kind",
    [("waypoints_varactor", "boundary"), ("target_state_josephson", "echo")],
)
def test_fixed_endpoint_and_echo_tasks_train(name, kind):
    _, network, task, backend = setup(name)
    assert backend.name == kind == task.backend
    drive, cost = task.drive, task.cost
    before = cost.rms_error(backend.run(drive).outputs, drive)
    train(backend, drive, cost, steps=20)
    after = cost.rms_error(backend.run(drive).outputs, drive)
    assert np.all(after < 0.5 * before), (before, after)


def test_task_keys_and_networks_are_checked():
    config = load_config(EXAMPLES / "xor_duffing.toml")
    network = build_network(config)
    rng = np.random.default_rng(0)
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['amplitudes'\] for xor"):
        build_task({"task": {"kind": "xor", "amplitudes": 1}}, network, rng)
    with pytest.raises(ConfigError, match=r"needs three input ports"):
        build_task(
            {"task": {"kind": "xor"}},
            Network(network.to_graph(), inputs=["a", "b"]),
            rng,
        )
    graph = network.to_graph()
    for *_, data in graph.edges(data=True):
        data["k3"] = 0.0 if "k3" in data else None
    linear = Network(graph)
    with pytest.raises(ConfigError, match=r"task 'waveform' needs a nonlinear"):
        build_task({"task": {"kind": "waveform"}}, linear, rng)


@pytest.mark.parametrize(
    "module",
    [
        hwep.timedomain,
        hwep.trajectory,
        hwep.solvers.periodic,
        hwep.solvers.boundary,
        hwep.solvers.transient,
        hwep.tasks.waveform,
    ],
)
def test_docstring_examples_run(module):
    result = doctest.testmod(module)
    assert result.failed == 0
