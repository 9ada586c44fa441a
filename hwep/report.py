"""Figures of a training run: loss curve, gradient check, response against target.

Every figure is written as a PNG into the run directory with matplotlib's Agg backend
(no display needed). ``write_figures`` picks the response figure by task: a confusion
matrix and output amplitudes for classifications, magnitude and phase against
frequency for response fits, amplitude bars for vibration targets, and output
trajectories against target waveforms for time-domain tasks.
"""

from __future__ import annotations

import logging
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from .ep import ep_gradient  # noqa: E402

__all__ = ["write_figures", "plot_history", "plot_gradient_check", "plot_response"]

logger = logging.getLogger(__name__)


def write_figures(trainer) -> list[str]:
    """Write the run's figures; return their file names.

    Parameters
    ----------
    trainer : hwep.train.Trainer
        A trainer after (or during) a run.
    """
    out = Path(trainer.out_dir)
    written = []
    for name, draw in (
        ("loss_curve.png", lambda: plot_history(trainer.state["history"])),
        ("gradient_check.png", lambda: plot_gradient_check(trainer)),
        ("response.png", lambda: plot_response(trainer)),
    ):
        figure = draw()
        if figure is None:
            continue
        figure.savefig(out / name, dpi=110, bbox_inches="tight")
        plt.close(figure)
        written.append(name)
    return written


def plot_history(history: list[dict]):
    """Loss (and accuracy) per epoch on both splits, and the probe cosine."""
    if not history:
        return None
    epochs = [row["epoch"] for row in history]
    figure, (ax_loss, ax_cos) = plt.subplots(1, 2, figsize=(10, 3.6))
    for split, style in (("train", "-"), ("test", "--")):
        if f"{split}_loss" in history[0]:
            ax_loss.plot(
                epochs,
                [r[f"{split}_loss"] for r in history],
                style,
                label=f"{split} loss",
            )
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("loss")
    ax_loss.set_yscale("log")
    ax_loss.xaxis.set_major_locator(MaxNLocator(integer=True))
    handles, labels = ax_loss.get_legend_handles_labels()
    if "train_accuracy" in history[0]:
        ax_acc = ax_loss.twinx()
        for split, style in (("train", "-"), ("test", "--")):
            key = f"{split}_accuracy"
            if key in history[0]:
                ax_acc.plot(
                    epochs,
                    [r[key] for r in history],
                    style,
                    color="C2",
                    label=f"{split} accuracy",
                )
        ax_acc.set_ylabel("accuracy")
        ax_acc.set_ylim(0, 1.02)
        more_handles, more_labels = ax_acc.get_legend_handles_labels()
        handles, labels = handles + more_handles, labels + more_labels
    # One legend for both axes, below the plot so that it hides no curve.
    ax_loss.legend(
        handles,
        labels,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.18),
        ncol=4,
        fontsize=8,
        frameon=False,
    )
    if "probe_cosine" in history[0]:
        deviation = [max(1.0 - r["probe_cosine"], 1e-16) for r in history]
        ax_cos.semilogy(epochs, deviation, "o-", ms=3)
        ax_cos.set_ylabel("1 − cos(gradient, exact)")
    ax_cos.set_xlabel("epoch")
    ax_cos.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_cos.set_title("gradient vs exact on a probe sample", fontsize=9)
    figure.tight_layout()
    return figure


def plot_gradient_check(trainer):
    """Configured gradient against the exact one, per parameter, colored by kind."""
    indices = trainer.task.train[:16]
    if len(indices) == 0 or not trainer.network.parameters:
        return None
    drive, cost = trainer.task.batch(indices)
    cost = cost.with_digital(trainer.digital())
    estimate = ep_gradient(trainer.backend, drive, cost, **trainer.gradient.as_kwargs())
    exact = ep_gradient(trainer.backend, drive, cost, mode="adjoint")
    values = trainer.values()
    kinds = [
        trainer.network.elements[p.element].kind.name
        for p in trainer.network.parameters
    ]

    figure, ax = plt.subplots(figsize=(4.6, 4.4))
    x, y = exact.grad * values, estimate.grad * values
    for kind in dict.fromkeys(kinds):
        mask = np.array([k == kind for k in kinds])
        ax.scatter(x[mask], y[mask], s=14, label=kind)
    finite = np.isfinite(x) & np.isfinite(y)
    if finite.any():
        bound = float(np.max(np.abs(np.concatenate([x[finite], y[finite]])))) or 1.0
        ax.plot([-bound, bound], [-bound, bound], "k:", lw=1)
    ax.set_xlabel("exact θ ∂J/∂θ (adjoint)")
    ax.set_ylabel(f"{trainer.gradient.mode} θ ∂J/∂θ")
    ax.set_title(f"gradient check, {len(indices)} samples", fontsize=9)
    ax.legend(fontsize=8)
    figure.tight_layout()
    return figure


def plot_response(trainer):
    """The network's output against the task's target, drawn by task kind."""
    task = trainer.task
    drive, cost = task.batch(np.concatenate([task.train, task.test]))
    cost = cost.with_digital(trainer.digital())
    outputs = trainer.backend.run(drive).outputs
    if task.classes:
        return _classification_figure(task, cost, outputs, drive)
    if hasattr(cost, "target") and getattr(drive, "times", None) is not None:
        return _trajectory_figure(cost, outputs, drive)
    if task.name == "response":
        return _spectrum_figure(task, cost, outputs, drive)
    if task.name == "vibration":
        return _amplitude_figure(task, cost, outputs, drive)
    return None


def _classification_figure(task, cost, outputs, drive):
    """Confusion matrix on the test split and in-phase outputs of every sample."""
    logits = cost.logits(cost.observe(outputs, drive))
    n_train = len(task.train)
    labels, predicted = cost.labels, np.argmax(logits, axis=1)
    test = slice(n_train, None) if len(task.test) else slice(0, n_train)
    k = len(task.classes)
    confusion = np.zeros((k, k), dtype=int)
    np.add.at(confusion, (labels[test], predicted[test]), 1)

    figure, (ax_c, ax_o) = plt.subplots(1, 2, figsize=(10, 3.8))
    ax_c.imshow(confusion, cmap="Blues")
    for (i, j), count in np.ndenumerate(confusion):
        ax_c.text(j, i, str(count), ha="center", va="center")
    ax_c.set_xticks(range(k), task.classes, rotation=30, fontsize=8)
    ax_c.set_yticks(range(k), task.classes, fontsize=8)
    ax_c.set_xlabel("predicted")
    ax_c.set_ylabel("true")
    ax_c.set_title(
        "held-out confusion" if len(task.test) else "training confusion", fontsize=9
    )
    order = np.argsort(labels, kind="stable")
    for o, name in enumerate(task.classes):
        ax_o.plot(logits[order, o], ".", ms=4, label=f"output {name}")
    ax_o.set_xlabel("sample (sorted by true class)")
    ax_o.set_ylabel("readout logit")
    ax_o.legend(fontsize=8)
    figure.tight_layout()
    return figure


def _spectrum_figure(task, cost, outputs, drive):
    """|Y| and phase against frequency, fit and target."""
    frequencies = drive.omega / (2 * np.pi)
    y = cost.observe(outputs, drive)[0, :, 0]
    target = cost.target[0, :, 0]
    figure, (ax_m, ax_p) = plt.subplots(2, 1, figsize=(6, 5), sharex=True)
    ax_m.loglog(frequencies, np.abs(target), "o", ms=4, label="target")
    ax_m.loglog(frequencies, np.abs(y), "-", label="network")
    ax_m.set_ylabel(
        f"|{cost.observable}| per unit drive ({_response_unit(task, cost)})"
    )
    ax_m.legend(fontsize=8)
    ax_p.semilogx(frequencies, np.degrees(np.angle(target)), "o", ms=4)
    ax_p.semilogx(frequencies, np.degrees(np.angle(y)), "-")
    ax_p.set_ylabel("phase (deg)")
    ax_p.set_xlabel("frequency (Hz)")
    figure.tight_layout()
    return figure


def _response_unit(task, cost) -> str:
    """Unit of the observable per unit drive: Ω or Wb/A (circuits), m/N or s/kg."""
    if task.network.domain == "mechanical":
        return "s/kg" if cost.observable == "voltage" else "m/N"
    return "Ω" if cost.observable == "voltage" else "Wb/A"


def _amplitude_figure(task, cost, outputs, drive):
    """Vibration amplitude at each output and frequency, against its target."""
    y = np.abs(cost.observe(outputs, drive))[0]
    target = cost.amplitude[0]
    labels = [
        f"{str(node)}\n{f:.3g} Hz"
        for f in drive.omega / (2 * np.pi)
        for node in task.network.outputs
    ]
    positions = np.arange(y.size)
    figure, ax = plt.subplots(figsize=(max(4, 1.2 * y.size), 3.6))
    ax.bar(positions - 0.2, target.ravel(), 0.4, label="target")
    ax.bar(positions + 0.2, y.ravel(), 0.4, label="network")
    ax.set_xticks(positions, labels, fontsize=8)
    ax.set_ylabel(f"amplitude ({task.network.units['coordinate']})")
    ax.legend(fontsize=8)
    figure.tight_layout()
    return figure


def _trajectory_figure(cost, outputs, drive):
    """Output waveforms of the first samples against their targets."""
    n = min(4, outputs.shape[0])
    figure, axes = plt.subplots(
        n, 1, figsize=(6, 1.8 * n + 0.6), sharex=True, squeeze=False
    )
    for i in range(n):
        ax = axes[i, 0]
        for o in range(outputs.shape[2]):
            ax.plot(drive.times, np.real(outputs[i, :, o]), "-", label=f"output {o}")
            ax.plot(
                drive.times, np.real(cost.target[i, :, o]), "--", label=f"target {o}"
            )
        ax.set_ylabel(f"sample {i}")
    axes[0, 0].legend(fontsize=7, ncol=2)
    axes[-1, 0].set_xlabel("time (s)")
    figure.tight_layout()
    return figure
