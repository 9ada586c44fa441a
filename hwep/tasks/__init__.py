"""Learning tasks: a network, the drive of every sample, a cost, and a split.

A task holds its whole data set as one ``Drive`` (one row per sample) and one ``Cost``
(one target or label per sample); a batch is a subset of both. Task kinds register a
builder under the name used in a config's ``[task] kind``:

    classification   features as drive amplitudes, classes as outputs (Iris by default)
    response         fit a frequency response (a driving-point impedance, say)
    vibration        drive a spring chain, target vibration amplitudes at some masses

Other modules add kinds with ``register_task``.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..costs import Cost
from ..errors import ConfigError
from ..network import Network

__all__ = ["Task", "register_task", "build_task", "TASK_KINDS", "split_indices"]


@dataclass
class Task:
    """A network, its samples and the cost to minimize.

    Attributes
    ----------
    name : str
        The task kind.
    network : Network
        The network to train, at its initial values.
    drive : Drive
        Drive of every sample (a ``hwep.backends.Drive``, or a time-domain drive for
        trajectory backends); ``drive.subset(indices)`` selects a batch.
    cost : Cost
        Cost of every sample; ``cost.subset(indices)`` selects a batch.
    train, test : numpy.ndarray of int
        Sample indices of the two splits.
    backend : str
        The backend the task was designed for, used when the config names none.
    classes : list of str
        Class names when the task is a classification (accuracy is then reported).
    info : dict
        Facts for the run summary (data source, frequencies, known answer).
    """

    name: str
    network: Network
    drive: object
    cost: Cost
    train: np.ndarray
    test: np.ndarray
    backend: str = "phasor"
    classes: list = field(default_factory=list)
    info: dict = field(default_factory=dict)

    def batch(self, indices: np.ndarray) -> tuple[object, Cost]:
        """(drive, cost) of some samples."""
        indices = np.asarray(indices, dtype=int)
        return self.drive.subset(indices), self.cost.subset(indices)

    def metrics(self, cost: Cost, outputs: np.ndarray, drive: object) -> dict:
        """Loss and, for classifications, accuracy of a batch's free outputs."""
        result = {"loss": float(np.mean(cost.value(outputs, drive)))}
        if self.classes and hasattr(cost, "probabilities"):
            predicted = np.argmax(
                cost.probabilities(cost.observe(outputs, drive)), axis=1
            )
            result["accuracy"] = float(np.mean(predicted == cost.labels))
        return result


TASK_KINDS: dict[str, Callable[[dict, Network, np.random.Generator], Task]] = {}


def register_task(kind: str):
    """Decorator: register ``builder(table, network, rng) -> Task`` under ``kind``."""

    def decorate(builder):
        TASK_KINDS[kind] = builder
        return builder

    return decorate


def build_task(config: dict, network: Network, rng: np.random.Generator) -> Task:
    """Build the task of a configuration's ``[task]`` table.

    Raises
    ------
    ConfigError
        When the kind is unknown.
    """
    _import_task_modules()
    table = dict(config.get("task", {}))
    kind = table.pop("kind", None)
    if kind not in TASK_KINDS:
        raise ConfigError(
            f"config [task]: kind {kind!r} is unknown; use one of {sorted(TASK_KINDS)}"
        )
    table["_dir"] = config.get("_dir", ".")
    return TASK_KINDS[kind](table, network, rng)


def _import_task_modules() -> None:
    """Import every module of this package, so that each registers its kinds."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


def split_indices(
    n: int,
    test_fraction: float,
    rng: np.random.Generator,
    labels: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Random train/test split, stratified by label when labels are given.

    Returns
    -------
    (train, test) : tuple of numpy.ndarray of int
    """
    if not 0.0 <= test_fraction < 1.0:
        raise ConfigError(f"test_fraction must be in [0, 1), got {test_fraction!r}")
    if labels is None:
        order = rng.permutation(n)
        n_test = int(round(test_fraction * n))
        return np.sort(order[n_test:]), np.sort(order[:n_test])
    train, test = [], []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        n_test = int(round(test_fraction * len(members)))
        test.extend(members[:n_test])
        train.extend(members[n_test:])
    return np.sort(np.array(train, dtype=int)), np.sort(np.array(test, dtype=int))
