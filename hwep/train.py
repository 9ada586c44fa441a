"""Training: mini-batch EP gradients, Adam or SGD in log-value, checkpoints, metrics.

A run is described by a TOML configuration (``hwep.config``). Each epoch shuffles the
training split into mini-batches; each batch runs the free and nudged phases on the
backend, and the optimizer steps every positive parameter in log-value,

    u = log θ,     ∂J/∂u = θ ∂J/∂θ,                                         (1)

which keeps values positive and makes one learning rate fit capacitors in µF and
inductors in mH alike. Values are clipped to their bounds. The cost's digital
parameters (a readout gain) step linearly with the same optimizer.

After every epoch the trainer records the loss (and accuracy) on both splits, the mean
gradient norm, and the cosine between the configured gradient and the exact one on a
probe sample; it writes ``metrics.csv``, ``metrics.json``, ``params.json`` and a
checkpoint, each atomically (temporary file, then rename). A run stopped after any
epoch resumes from its checkpoint and ends with exactly the parameters of an
uninterrupted run: the generator state, optimizer moments and values are restored
bit for bit.

Config keys of ``[training]``:

    epochs          number of epochs; default 50
    batch_size      samples per batch; default 16
    optimizer       "adam" (default), "sgd", or "lbfgs" (full batch, one line-searched
                    quasi-Newton step per epoch; see ``hwep.optim``)
    learning_rate   step size in log-value; default 0.05
    lr_decay        factor of the learning rate at the last step (geometric decay);
                    default 1 (constant)
    digital_learning_rate   step size of the digital parameters; default learning_rate
    stop_loss       stop early once the training loss is at or below this; default none
    momentum        SGD momentum; default 0.9
    log_values      step positive parameters in log-value; default true
    probe           compare with the exact gradient every epoch; default true

``[gradient]``: mode ("ep", "reciprocal", "adjoint"), estimator ("symmetric",
"one-sided"), nudge ("frozen", "closed"), beta or nudge_ratio. ``[backend]``: name and
the backend's options.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .backends import make_backend
from .config import Setting, build_network, config_seed, read_settings, section
from .ep import ESTIMATORS, MODES, NUDGES, ep_gradient
from .errors import ConfigError
from .optim import make_optimizer
from .tasks import Task, build_task

__all__ = ["Trainer", "TrainSettings", "GradientSettings", "atomic_write", "cosine"]

logger = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.json"


_TRAINING = {
    "epochs": Setting("int", 50, low=0),
    "batch_size": Setting("int", 16, low=1),
    "optimizer": Setting("str", "adam", choices=("adam", "sgd", "lbfgs")),
    "learning_rate": Setting("float", 0.05, low=0, open_low=True),
    "digital_learning_rate": Setting("float", None, low=0, open_low=True),
    "momentum": Setting("float", 0.9, low=0, high=1),
    "lr_decay": Setting("float", 1.0, low=0, high=1, open_low=True),
    "stop_loss": Setting("float", None),
    "log_values": Setting("bool", True),
    "probe": Setting("bool", True),
}
_GRADIENT = {
    "mode": Setting("str", "ep", choices=MODES),
    "estimator": Setting("str", "symmetric", choices=ESTIMATORS),
    "nudge": Setting("str", "frozen", choices=NUDGES),
    "beta": Setting("float", None, low=0, open_low=True),
    "nudge_ratio": Setting("float", None, low=0, open_low=True),
}


@dataclass
class TrainSettings:
    """The ``[training]`` table, checked (see the module docstring)."""

    epochs: int = 50
    batch_size: int = 16
    optimizer: str = "adam"
    learning_rate: float = 0.05
    digital_learning_rate: float | None = None
    momentum: float = 0.9
    lr_decay: float = 1.0
    stop_loss: float | None = None
    log_values: bool = True
    probe: bool = True

    @classmethod
    def from_config(cls, config: dict) -> TrainSettings:
        return cls(
            **read_settings(section(config, "training"), _TRAINING, "config [training]")
        )


@dataclass
class GradientSettings:
    """The ``[gradient]`` table: arguments of ``hwep.ep.ep_gradient``."""

    mode: str = "ep"
    estimator: str = "symmetric"
    nudge: str = "frozen"
    beta: float | None = None
    nudge_ratio: float | None = None

    @classmethod
    def from_config(cls, config: dict) -> GradientSettings:
        return cls(
            **read_settings(section(config, "gradient"), _GRADIENT, "config [gradient]")
        )

    def as_kwargs(self) -> dict:
        return {
            "mode": self.mode,
            "estimator": self.estimator,
            "nudge": self.nudge,
            "beta": self.beta,
            "nudge_ratio": self.nudge_ratio,
        }


class Trainer:
    """Train the network of a configuration; write a run directory.

    Parameters
    ----------
    config : dict
        A configuration from ``hwep.config.load_config``.
    out_dir : str or Path
        Run directory; created if missing.
    backend : str, optional
        Overrides ``[backend] name``.
    epochs : int, optional
        Overrides ``[training] epochs`` (the total, also when resuming).
    seed : int, optional
        Overrides the config's top-level ``seed``, which seeds the network values
        (unless ``[network] seed`` is set), the split and the batches.
    progress : bool
        Show a progress bar.
    on_epoch : callable, optional
        Called as ``on_epoch(row, total_epochs)`` after every epoch with its metrics.

    Examples
    --------
    >>> from hwep.config import load_config          # doctest: +SKIP
    >>> Trainer(load_config("examples/iris_lc_lattice.toml"), out_dir="runs/iris").run()
    """

    def __init__(
        self,
        config: dict,
        *,
        out_dir: str | os.PathLike,
        backend: str | None = None,
        epochs: int | None = None,
        seed: int | None = None,
        progress: bool = False,
        on_epoch=None,
    ):
        self.config = config
        self.on_epoch = on_epoch
        self.out_dir = Path(out_dir)
        self.overrides = {"backend": backend, "epochs": epochs, "seed": seed}
        self.progress = progress
        self.settings = TrainSettings.from_config(config)
        if epochs is not None:
            self.settings.epochs = _TRAINING["epochs"].read(epochs, "epochs")
        self.gradient = GradientSettings.from_config(config)
        self.seed = config_seed({"seed": config_seed(config) if seed is None else seed})

        # Network, task and backend, all seeded from one number.
        self.network = build_network({**config, "seed": self.seed})
        self.task: Task = build_task(
            config, self.network, np.random.default_rng([self.seed, 1])
        )
        backend_table = section(config, "backend")
        configured = backend_table.pop("name", None)
        name = backend or configured or self.task.backend
        if backend is not None and configured is not None and backend != configured:
            backend_table = {}  # the configured backend's options do not apply
        self.backend_name = name
        self.backend = make_backend(name, self.network, **backend_table)
        self._check_modes()

        # Optimizer over positive parameters in log-value, then digital ones.
        self.positive = np.array(
            [p.positive for p in self.network.parameters], dtype=bool
        )
        self.log_mask = self.positive & self.settings.log_values
        self.lower = self.network.lower_bounds()
        self.upper = self.network.upper_bounds()
        self.state = self._initial_state()
        self.optimizer = self._make_optimizer()

    # -- public ----------------------------------------------------------------

    def run(
        self,
        *,
        resume: bool = False,
        overwrite: bool = False,
        stop_after: int | None = None,
    ) -> dict:
        """Train for the configured epochs; return the run summary.

        Parameters
        ----------
        resume : bool
            Continue from the run directory's checkpoint instead of starting afresh.
        overwrite : bool
            Start afresh even if the run directory holds a checkpoint (which is lost).
        stop_after : int, optional
            Stop once this many epochs are done, as an interruption would, without
            changing the run's total (which sets the learning-rate schedule).

        Raises
        ------
        ConfigError
            When the directory holds a run and neither ``resume`` nor ``overwrite``
            is given, or when its checkpoint is damaged.
        """
        self._prepare_directory(resume=resume, overwrite=overwrite)
        if resume:
            self._load_checkpoint()
        else:
            self._write_run_files()
            self._save()
        start_epoch = self.state["epoch"]
        bar = _progress(self.settings.epochs, start_epoch, self.progress)
        started = time.perf_counter()
        last = (
            self.settings.epochs
            if stop_after is None
            else min(stop_after, self.settings.epochs)
        )
        for epoch in range(start_epoch, last):
            epoch_start = time.perf_counter()
            grad_norms = self._epoch_steps()
            row = self._evaluate(
                epoch + 1, grad_norms, time.perf_counter() - epoch_start
            )
            self.state["epoch"] = epoch + 1
            self.state["optimizer"] = self.optimizer.state()
            self.state["history"].append(row)
            self._save()
            logger.info("epoch %d: %s", epoch + 1, row)
            if self.on_epoch is not None:
                self.on_epoch(row, self.settings.epochs)
            if bar is not None:
                bar.update(1)
                bar.set_postfix({k: f"{v:.3g}" for k, v in row.items() if k in _SHOWN})
            if self._converged(row):
                logger.info("stopping after epoch %d: converged", epoch + 1)
                break
        if bar is not None:
            bar.close()
        return self._finish(time.perf_counter() - started, start_epoch + 1)

    def values(self) -> np.ndarray:
        """Current parameter values in SI units, (n_params,)."""
        return self._values_of(np.asarray(self.state["params"]))

    def digital(self) -> np.ndarray:
        """Current digital parameter values, (n_digital,)."""
        return np.asarray(self.state["digital"], dtype=float)

    # -- one batch --------------------------------------------------------------

    def _batches(self):
        """Shuffled mini-batches of the training split, from the stored generator."""
        rng = np.random.default_rng()
        rng.bit_generator.state = self.state["rng"]
        order = rng.permutation(self.task.train)
        self.state["rng"] = rng.bit_generator.state
        size = self.settings.batch_size
        return [order[i : i + size] for i in range(0, len(order), size)]

    def _converged(self, row: dict) -> bool:
        """Whether the training loss reached ``stop_loss``."""
        stop = self.settings.stop_loss
        return stop is not None and row.get("train_loss", np.inf) <= stop

    def _epoch_steps(self) -> list[float]:
        """All optimizer steps of one epoch; returns their gradient norms.

        Backend caches are dropped first, so that every epoch starts from the same
        state whether or not the run was resumed.
        """
        reset = getattr(self.backend, "reset_cache", None)
        if reset is not None:
            reset()
        if self.settings.optimizer == "lbfgs":
            return [self._lbfgs_step(np.asarray(self.task.train))]
        return [self._step(batch) for batch in self._batches()]

    def _step(self, batch: np.ndarray) -> float:
        """One Adam or SGD step on one batch; returns the gradient norm."""
        _, grad = self._gradient(self._coords(), batch)
        self._set_coords(self.optimizer.step(self._coords(), grad))
        return float(np.linalg.norm(grad))

    def _lbfgs_step(self, indices: np.ndarray) -> float:
        """One L-BFGS iteration on the whole training split."""
        drive, cost = self.task.batch(indices)

        def evaluate(coords: np.ndarray) -> float:
            self._set_coords(coords)
            outputs = self.backend.run(drive).outputs
            return float(
                np.mean(cost.with_digital(self.digital()).value(outputs, drive))
            )

        x = self._coords()
        if self.state.get("lbfgs_grad") is None:
            loss, grad = self._gradient(x, indices)
        else:
            loss, grad = self.state["lbfgs_loss"], np.asarray(self.state["lbfgs_grad"])
        x, loss, grad = self.optimizer.step(
            x, loss, grad, evaluate, lambda c: self._gradient(c, indices)
        )
        self._set_coords(x)
        self.state["lbfgs_loss"], self.state["lbfgs_grad"] = loss, grad.tolist()
        return float(np.linalg.norm(grad))

    def _gradient(self, coords: np.ndarray, indices: np.ndarray):
        """(loss, gradient in optimizer coordinates) of a batch at ``coords``."""
        self._set_coords(coords)
        drive, cost = self.task.batch(indices)
        cost = cost.with_digital(self.digital())
        estimate = ep_gradient(self.backend, drive, cost, **self.gradient.as_kwargs())

        # Eq. (1): chain rule to log-value.
        values = self.values()
        grad = np.where(self.log_mask, estimate.grad * values, estimate.grad)
        full = np.concatenate([grad, estimate.digital])
        if not np.all(np.isfinite(full)):
            raise ConfigError(
                f"gradient mode {self.gradient.mode!r} returned a non-finite gradient "
                f"on backend {self.backend_name!r}; check the drive frequency and beta"
            )
        return estimate.loss, full

    def _coords(self) -> np.ndarray:
        """Optimizer coordinates: network parameters, then digital ones."""
        return np.concatenate(
            [
                np.asarray(self.state["params"], float),
                np.asarray(self.state["digital"], float),
            ]
        )

    def _set_coords(self, coords: np.ndarray) -> None:
        """Store coordinates and give the backend the matching values."""
        n = len(self.state["params"])
        self.state["params"] = coords[:n].tolist()
        self.state["digital"] = coords[n:].tolist()
        self.backend.set_values(self.values())

    # -- evaluation and files ---------------------------------------------------

    def _evaluate(self, epoch: int, grad_norms: list[float], seconds: float) -> dict:
        """Loss and accuracy on both splits, gradient norm, probe cosine."""
        row: dict = {"epoch": epoch}
        for split in ("train", "test"):
            indices = getattr(self.task, split)
            if len(indices) == 0:
                continue
            drive, cost = self.task.batch(indices)
            cost = cost.with_digital(self.digital())
            outputs = self.backend.run(drive).outputs
            for key, value in self.task.metrics(cost, outputs, drive).items():
                row[f"{split}_{key}"] = value
        row["grad_norm"] = float(np.mean(grad_norms)) if grad_norms else 0.0
        if self.settings.probe:
            row["probe_cosine"] = self._probe_cosine()
        row["seconds"] = seconds
        return row

    def _probe_cosine(self) -> float:
        """Cosine of the configured gradient with the exact one, on a probe sample."""
        drive, cost = self.task.batch(self.task.train[:1])
        cost = cost.with_digital(self.digital())
        estimate = ep_gradient(self.backend, drive, cost, **self.gradient.as_kwargs())
        exact = ep_gradient(self.backend, drive, cost, mode="adjoint")
        return cosine(estimate.grad, exact.grad)

    def _initial_state(self) -> dict:
        """Fresh training state at the network's initial values."""
        values = self.network.values()
        params = np.where(
            self.log_mask, np.log(np.where(self.log_mask, values, 1.0)), values
        )
        rng = np.random.default_rng([self.seed, 2])
        return {
            "epoch": 0,
            "params": params.tolist(),
            "digital": self.task.cost.digital_values().tolist(),
            "rng": rng.bit_generator.state,
            "history": [],
        }

    def _make_optimizer(self):
        """The configured optimizer over (network, digital) coordinates."""
        n, n_digital = len(self.state["params"]), len(self.state["digital"])
        rates = np.full(n + n_digital, self.settings.learning_rate)
        rates[n:] = self.settings.digital_learning_rate or self.settings.learning_rate
        low = np.where(
            self.log_mask, np.log(np.maximum(self.lower, 1e-300)), self.lower
        )
        high = np.where(self.log_mask, np.log(self.upper), self.upper)
        if self.settings.optimizer == "lbfgs":
            batches = 1
        else:
            batches = -(-len(self.task.train) // self.settings.batch_size)
        return make_optimizer(
            self.settings.optimizer,
            n + n_digital,
            rates=rates,
            low=np.concatenate([low, np.full(n_digital, -np.inf)]),
            high=np.concatenate([high, np.full(n_digital, np.inf)]),
            total_steps=max(self.settings.epochs, 1) * batches,
            decay=self.settings.lr_decay,
            momentum=self.settings.momentum,
        )

    def _values_of(self, params: np.ndarray) -> np.ndarray:
        """SI values from optimizer coordinates."""
        return np.where(self.log_mask, np.exp(params), params)

    @classmethod
    def from_run_dir(
        cls,
        run_dir: str | os.PathLike,
        *,
        epochs: int | None = None,
        progress: bool = False,
        on_epoch=None,
    ) -> Trainer:
        """A trainer set up exactly as the run in ``run_dir`` was, ready to resume.

        Reads the configuration the run was started with (as given, including changes
        made in Python after loading the file) and its overrides; ``epochs`` sets a new
        total.
        """
        from .config import load_config

        run_dir = Path(run_dir)
        run_file = run_dir / "run.json"
        if not run_file.is_file():
            raise ConfigError(
                f"cannot resume: {str(run_dir)!r} holds no run (no run.json)"
            )
        try:
            run = json.loads(run_file.read_text(encoding="utf-8"))
            config = run.get("config") or load_config(run_dir / "config.toml")
            config["_dir"] = run.get("config_dir") or config.get("_dir", str(run_dir))
            overrides = dict(run.get("overrides", {}))
        except (ValueError, TypeError, AttributeError) as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise ConfigError(f"{str(run_file)!r} is damaged: {reason}") from None
        if epochs is not None:
            overrides["epochs"] = epochs
        return cls(
            config, out_dir=run_dir, progress=progress, on_epoch=on_epoch, **overrides
        )

    def _write_run_files(self) -> None:
        """Config copy and the overrides that a resume must reuse."""
        source = self.config.get("_path")
        if (
            source
            and Path(source).resolve() != (self.out_dir / "config.toml").resolve()
        ):
            shutil.copyfile(source, self.out_dir / "config.toml")
        run = {
            "overrides": self.overrides,
            "seed": self.seed,
            "config_dir": self.config.get("_dir"),
            "config": self.config,
        }
        atomic_write(self.out_dir / "run.json", json.dumps(run, indent=1))

    def _save(self) -> None:
        """Checkpoint, metrics and parameters, each written atomically.

        Only the checkpoint is flushed to disk before its rename: the other files are
        rebuilt from it on resume.
        """
        atomic_write(self.out_dir / CHECKPOINT, json.dumps(self.state))
        self._save_metrics()
        atomic_write(
            self.out_dir / "params.json",
            json.dumps(self.parameter_table(), indent=1),
            sync=False,
        )

    def _save_metrics(self) -> None:
        """metrics.json (one epoch per line) and metrics.csv from the history."""
        history = self.state["history"]
        rows = ",\n".join(json.dumps(row) for row in history)
        atomic_write(self.out_dir / "metrics.json", f"[\n{rows}\n]\n", sync=False)
        atomic_write(self.out_dir / "metrics.csv", _csv(history), sync=False)

    def _digital_names(self) -> list[str]:
        """Names of the cost's digital parameters (numbered when it gives none)."""
        names = list(getattr(self.task.cost, "digital_names", ()))
        count = len(self.state["digital"])
        return names if len(names) == count else [f"digital{i}" for i in range(count)]

    def restore(self) -> None:
        """Load the run directory's last checkpoint (values, optimizer, history)."""
        self._load_checkpoint()

    def _prepare_directory(self, *, resume: bool, overwrite: bool) -> None:
        """Create the run directory, refuse to clobber a run, drop stale temp files."""
        if self.out_dir.exists() and not self.out_dir.is_dir():
            raise ConfigError(f"run directory {str(self.out_dir)!r} is a file")
        self.out_dir.mkdir(parents=True, exist_ok=True)
        checkpoint = self.out_dir / CHECKPOINT
        if checkpoint.is_file() and not (resume or overwrite):
            raise ConfigError(
                f"run directory {str(self.out_dir)!r} already holds a run; continue "
                "it with --resume, or start afresh with --overwrite (losing its "
                "checkpoint)"
            )
        for name in _RUN_FILES:
            for stale in self.out_dir.glob(f".{name}.*"):
                stale.unlink(missing_ok=True)

    def _load_checkpoint(self) -> None:
        """Restore the state written after the last completed epoch."""
        path = self.out_dir / CHECKPOINT
        if not path.is_file():
            raise ConfigError(f"cannot resume: no checkpoint at {str(path)!r}")
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
            state = self._checked_state(state)
            optimizer = copy.deepcopy(self.optimizer)
            if "optimizer" in state:
                optimizer.load(state["optimizer"])
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise ConfigError(
                f"checkpoint {str(path)!r} is damaged: {reason}"
            ) from None
        self.state, self.optimizer = state, optimizer
        self.backend.set_values(self.values())
        self._save_metrics()

    def _checked_state(self, state: object) -> dict:
        """The loaded state if every field has the right shape; else ValueError."""
        if not isinstance(state, dict):
            raise ValueError("not a JSON object")
        missing = sorted({"epoch", "params", "digital", "rng", "history"} - set(state))
        if missing:
            raise ValueError(f"missing {missing}")
        n = len(self.state["params"])
        params = np.asarray(state["params"], dtype=float)
        digital = np.asarray(state["digital"], dtype=float)
        if params.shape != (n,) or digital.shape != (len(self.state["digital"]),):
            raise ValueError(
                f"{params.size} parameters and {digital.size} digital ones; the "
                f"config's network has {n} and {len(self.state['digital'])}"
            )
        if not (np.all(np.isfinite(params)) and np.all(np.isfinite(digital))):
            raise ValueError("non-finite parameter values")
        if not isinstance(state["epoch"], int) or not isinstance(
            state["history"], list
        ):
            raise ValueError("epoch or history has the wrong type")
        np.random.default_rng().bit_generator.state = state["rng"]
        return state

    def parameter_table(self) -> dict:
        """Parameter values with units and element data, for params.json."""
        values = self.values()
        table = {}
        for p, value in zip(self.network.parameters, values, strict=True):
            element = self.network.elements[p.element]
            table[p.label] = {
                "value": float(value),
                "unit": p.unit,
                "kind": element.kind.name,
                "nodes": [str(n) for n in element.nodes],
            }
        return {
            "network": self.network.name,
            "parameters": table,
            "digital": {
                name: {"value": value, "unit": "1"}
                for name, value in zip(
                    self._digital_names(), self.state["digital"], strict=True
                )
            },
        }

    def _finish(self, seconds: float, first_epoch: int) -> dict:
        """Figures and the run summary."""
        from .report import write_figures

        last = self.state["history"][-1] if self.state["history"] else {}
        summary = {
            "config": self.config.get("name"),
            "backend": self.backend_name,
            "seed": self.seed,
            "epochs": self.state["epoch"],
            "first_epoch": first_epoch,
            "seconds": seconds,
            "final": last,
            "gradient": self.gradient.as_kwargs(),
        }
        summary["figures"] = write_figures(self)
        atomic_write(
            self.out_dir / "summary.json", json.dumps(summary, indent=1, default=str)
        )
        return summary

    def _check_modes(self) -> None:
        """Plain EP cannot train parameters without a conjugate variable."""
        if self.gradient.mode != "ep":
            return
        for p in self.network.parameters:
            element = self.network.elements[p.element]
            if not element.kind.has_conjugate:
                raise ConfigError(
                    f"{element.describe()} is trainable, but gradient mode 'ep' "
                    "measures no conjugate variable for it; use mode 'reciprocal' or "
                    "set trainable = false"
                )


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two gradients (1 for parallel, NaN if either is zero)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    norm = np.linalg.norm(a) * np.linalg.norm(b)
    return float(a @ b / norm) if norm > 0 else float("nan")


def atomic_write(path: str | os.PathLike, text: str, *, sync: bool = True) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename.

    Readers see the old file or the new one, never a part. With ``sync`` the data
    reach the disk before the rename, so that a crash cannot leave an empty file.
    """
    path = Path(path)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            if sync:
                os.fsync(stream.fileno())
        os.chmod(temp, 0o666 & ~_umask())
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise


_SHOWN = ("train_loss", "test_accuracy", "probe_cosine")
_RUN_FILES = (
    CHECKPOINT,
    "metrics.json",
    "metrics.csv",
    "params.json",
    "run.json",
    "summary.json",
)


def _umask() -> int:
    """The process's file-creation mask (read without changing it for long)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _csv(history: list[dict]) -> str:
    """Metrics rows as CSV text."""
    if not history:
        return ""
    keys = list(dict.fromkeys(k for row in history for k in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=keys)
    writer.writeheader()
    writer.writerows(history)
    return buffer.getvalue()


def _progress(total: int, done: int, enabled: bool):
    """A tqdm bar over epochs, or None."""
    if not enabled or total <= done:
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=done, unit="epoch", leave=False)
