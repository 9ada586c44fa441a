"""Compare every gradient method on one batch: EP, reciprocal, adjoint, differences.

``gradcheck`` sets a configuration up as the trainer would (network at its initial
values, task, backend, gradient settings), takes the first training samples, and
computes the exact adjoint gradient g and, against it,

- the configured method (``[gradient]``), plus EP one-sided and symmetric, each with
  frozen and closed-loop nudges, and the reciprocal mode when the network is linear;
- central finite differences (a check of the adjoint itself).

For each it reports the cosine with g and the relative error ‖ĝ − g‖∞ / ‖g‖∞, overall
and per element kind. With loss it also reports plain EP's measured bias beside the
bound of ``hwep.reference.dissipation_report`` and any drive near a resonance; uniform
loss σ of the drive counts as loss.
"""

from __future__ import annotations

import tempfile

import numpy as np

from .ep import ep_gradient
from .errors import HwepError
from .reference import dissipation_report, finite_difference_gradient
from .train import Trainer, cosine

__all__ = ["gradcheck", "format_gradcheck", "compare"]


def gradcheck(
    config: dict,
    *,
    backend: str | None = None,
    samples: int = 8,
    fd_step: float = 1e-6,
    finite_differences: bool | None = None,
) -> dict:
    """Run every gradient method on the first ``samples`` training samples.

    Parameters
    ----------
    config : dict
        From ``hwep.config.load_config``.
    backend : str, optional
        Overrides ``[backend] name``.
    samples : int
        Batch size of the check.
    fd_step : float
        Relative step of the finite differences.
    finite_differences : bool, optional
        Whether to run them; default when the network has at most 500 parameters.

    Returns
    -------
    dict
        ``methods``: {name: {cosine, relative_error, by_kind: {kind: {...}}}};
        ``adjoint_vs_fd``: relative error of the adjoint against finite differences;
        ``loss``: the dissipation report when the network has loss; and the settings.
    """
    with tempfile.TemporaryDirectory() as scratch:
        trainer = Trainer(config, out_dir=scratch, backend=backend)
    drive, cost = trainer.task.batch(trainer.task.train[:samples])
    cost = cost.with_digital(trainer.digital())
    be = trainer.backend
    kinds = [
        trainer.network.elements[p.element].kind.name
        for p in trainer.network.parameters
    ]
    exact = ep_gradient(be, drive, cost, mode="adjoint").grad

    # Every method the hardware or the emulator offers, against the adjoint.
    methods = {"configured": trainer.gradient.as_kwargs()}
    for nudge in ("frozen", "closed"):
        for estimator in ("symmetric", "one-sided"):
            methods[f"ep {estimator} {nudge}"] = {
                "mode": "ep",
                "estimator": estimator,
                "nudge": nudge,
                "nudge_ratio": trainer.gradient.nudge_ratio,
                "beta": trainer.gradient.beta,
            }
    if trainer.network.is_linear and be.name != "echo":
        methods["reciprocal"] = {"mode": "reciprocal"}
    results = {}
    for name, kwargs in methods.items():
        try:
            estimate = ep_gradient(be, drive, cost, **kwargs)
        except HwepError as exc:
            results[name] = {"error": str(exc)}
            continue
        results[name] = {**compare(estimate.grad, exact, kinds), "settings": kwargs}
        results[name]["beta"] = estimate.beta

    report = {
        "config": config.get("name"),
        "backend": trainer.backend_name,
        "samples": int(drive.n_samples),
        "parameters": len(kinds),
        "methods": results,
        "gradient_norm": float(np.linalg.norm(exact)),
    }

    # The adjoint itself, against central differences.
    if finite_differences is None:
        finite_differences = len(kinds) <= 500
    if finite_differences and len(kinds):
        fd = finite_difference_gradient(be, drive, cost, step=fd_step)
        report["adjoint_vs_fd"] = compare(exact, fd, kinds)

    # Loss: measured plain-EP bias beside its bound.
    lossy = trainer.network.has_loss or getattr(drive, "sigma", 0.0) > 0
    if lossy and trainer.network.is_linear and hasattr(drive, "s"):
        report["loss"] = _loss_section(trainer, drive, cost, exact)
    return report


def compare(estimate: np.ndarray, exact: np.ndarray, kinds: list[str]) -> dict:
    """Cosine and relative error ‖ĝ − g‖∞ / ‖g‖∞, overall and per element kind.

    Parameters whose estimate is NaN (no conjugate variable) are left out and counted.
    """
    estimate, exact = np.asarray(estimate, float), np.asarray(exact, float)
    known = np.isfinite(estimate)
    result = _pair(estimate[known], exact[known])
    result["unmeasured"] = int(np.sum(~known))
    by_kind = {}
    for kind in dict.fromkeys(kinds):
        mask = np.array([k == kind for k in kinds]) & known
        if mask.any():
            by_kind[kind] = _pair(estimate[mask], exact[mask])
    result["by_kind"] = by_kind
    return result


def format_gradcheck(report: dict) -> str:
    """The report as a fixed-width table."""
    lines = [
        f"gradcheck {report['config']}: backend {report['backend']}, "
        f"{report['samples']} samples, {report['parameters']} parameters, "
        f"|g| = {report['gradient_norm']:.3e}",
        f"{'method':<26}{'kind':<18}{'cosine':>14}{'rel. error':>12}",
    ]
    rows = dict(report["methods"])
    if "adjoint_vs_fd" in report:
        rows["adjoint vs finite diff."] = report["adjoint_vs_fd"]
    for name, result in rows.items():
        if "error" in result:
            lines.append(f"{name:<26}{'':<18}{'failed: ' + result['error']}")
            continue
        lines.append(_row(name, "all", result))
        for kind, sub in result["by_kind"].items():
            lines.append(_row("", kind, sub))
    if "loss" in report:
        loss = report["loss"]
        lines.append(
            f"loss: plain EP bias {loss['ep_bias']:.3e} "
            f"(relative {loss['ep_bias_relative']:.2e}), "
            f"bound {loss['bound']:.3e}, ratio {loss['ratio']:.2f}"
        )
        lines.extend(f"  warning: {flag}" for flag in loss["near_resonance"])
    return "\n".join(lines)


def _row(method: str, kind: str, result: dict) -> str:
    """One line of the table: method, kind, cosine, relative error."""
    cosine_text = f"{result['cosine']:>14.9f}"
    return f"{method:<26}{kind:<18}{cosine_text}{result['relative_error']:>12.2e}"


def _pair(a: np.ndarray, b: np.ndarray) -> dict:
    """Cosine and relative error of one pair of gradient vectors."""
    scale = float(np.max(np.abs(b))) if b.size else 0.0
    error = float(np.max(np.abs(a - b))) if b.size else 0.0
    return {
        "cosine": cosine(a, b),
        "relative_error": error / scale if scale > 0 else float("nan"),
        "count": int(a.size),
    }


def _loss_section(trainer, drive, cost, exact: np.ndarray) -> dict:
    """Plain EP's measured bias (frozen symmetric: its β → 0 limit) against eq. (2)."""
    ep = ep_gradient(trainer.backend, drive, cost, mode="ep", nudge="frozen").grad
    report = dissipation_report(trainer.backend, drive, cost)
    known = np.isfinite(ep)
    bias = np.abs(ep[known] - exact[known])
    bound = report["bound"][known]
    return {
        "ep_bias": float(bias.max()) if bias.size else 0.0,
        "ep_bias_relative": float(
            bias.max() / max(np.max(np.abs(exact[known])), 1e-300)
        )
        if bias.size
        else 0.0,
        "bound": float(bound.max()) if bound.size else 0.0,
        "ratio": float(np.max(bias / np.maximum(bound, 1e-300))) if bias.size else 0.0,
        "loss_ratio": report["loss_ratio"].tolist(),
        "modes": report["modes"],
        "near_resonance": report["near_resonance"],
    }
