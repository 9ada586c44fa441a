r"""Equilibrium Propagation: gradients from free and nudged phases of any backend.

With the nudged Lagrangian L_β = L − βJ and Λ_θ(β) = ⟨∂L/∂θ⟩ measured in the steady
state of L_β, the gradient of the cost is

    dJ/dθ = −dΛ_θ/dβ at β = 0,                                                (1)

estimated from two or three phases:

    one-sided   ĝ = −[Λ(β) − Λ(0)] / β            (bias O(β))
    symmetric   ĝ = −[Λ(β) − Λ(−β)] / (2β)        (bias O(β²))

Each Λ_θ is measured on element θ alone, so the rule is local; nothing is
backpropagated. The dimensionless strength of a nudge is its loop gain

    β̂ = β ‖diag(W) G‖₂,                                              (3)

with G = P A⁻¹ Pᵀ the outputs' compliance and W the cost's curvature: a closed-loop
nudge pulls the outputs a fraction β̂ of the way towards the target. The nudge is a
current −β e at the outputs (``hwep.costs``), closed loop (the live error) or frozen
(the free phase's error, injected open loop). Frozen nudging leaves dΛ/dβ at 0
unchanged and makes Λ exactly quadratic in β for a linear network, so the symmetric
estimate is exact at any β there.

Gradient modes:

- ``ep``: eq. (1), what a chip measures. Exact without loss. With resistors or dampers
  the nudged response is A⁻¹e instead of the adjoint A⁻ᴴe and the estimate is biased
  (``hwep.reference.dissipation_report`` bounds it); resistor and damper values have
  no conjugate and cannot be trained.
- ``reciprocal``: the same lossy network driven by the time-reversed error (the phasor
  ē injected at the outputs, no input drive) responds with z = A⁻¹ē, and

      dJ/dθ = −½ Re Σ_h r(s_h) (∂c/∂θ) z_b Φ_b,                               (2)

  the correlation of the element's branch signals in the two runs (r = 1, s, s² by
  role, as in ``hwep.backends``). Exact for linear reciprocal networks, resistors and
  dampers included.
- ``adjoint``: the exact reference: the backend's own ``adjoint_gradient(drive, cost)``
  when it has one (time-domain backends), else the phasor adjoint of
  ``hwep.reference`` on the native model.

Notes
-----
Every estimate is a difference of measured conjugates divided by β. When element
values span many decades the nudge reaches some elements only very weakly: their
conjugate changes by less than its own rounding (on a chip, its sensor's resolution)
and their gradient is lost. The best β for an element is about |U|/|V| (free response
over nudge response), which varies from element to element, so no single β serves
all; gradcheck shows the resulting error. Measured on a 4x4 lattice with C from 1 fF
to 1 mF and L from 1 nH to 1 H: symmetric frozen EP at the default β̂ = 1 was off by
3e-4 (relative, log-value gradients) at 1 kHz and by 150% at 30 kHz, where finite
differences and the reciprocal mode stay exact.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .backends import Backend, Drive, Measurement, PhasorBackend
from .costs import Cost
from .errors import ConfigError
from .system import System

__all__ = ["GradientEstimate", "ep_gradient", "MODES", "ESTIMATORS", "NUDGES"]

MODES = ("ep", "reciprocal", "adjoint")
ESTIMATORS = ("symmetric", "one-sided")
NUDGES = ("frozen", "closed")


@dataclass
class GradientEstimate:
    """A gradient of the batch-mean cost and how it was obtained.

    Attributes
    ----------
    grad : numpy.ndarray
        dJ/dθ for the network's trainable parameters, (n_params,), in cost units per
        parameter unit. NaN where the mode cannot measure a parameter.
    digital : numpy.ndarray
        dJ/d(digital parameters of the cost), (n_digital,).
    loss : float
        Mean cost of the free phase.
    losses : numpy.ndarray
        Cost of each sample, (n_samples,).
    outputs : numpy.ndarray
        Free output flux phasors, (n_samples, n_harmonics, n_outputs).
    mode, estimator, nudge : str
        How the gradient was obtained.
    beta : float
        Nudge strength used (0 for modes without a nudge).
    phases : int
        Number of backend phases run.
    wall_time : float
        Seconds.
    """

    grad: np.ndarray
    digital: np.ndarray
    loss: float
    losses: np.ndarray
    outputs: np.ndarray
    mode: str
    estimator: str = ""
    nudge: str = ""
    beta: float = 0.0
    phases: int = 1
    wall_time: float = 0.0
    measurements: dict = field(default_factory=dict)


def ep_gradient(
    backend: Backend,
    drive: Drive,
    cost: Cost,
    *,
    mode: str = "ep",
    estimator: str = "symmetric",
    nudge: str = "frozen",
    beta: float | None = None,
    nudge_ratio: float | None = None,
    convention: str = "L-beta*c",
) -> GradientEstimate:
    """Estimate dJ/dθ of the batch-mean cost from phases of ``backend``.

    Parameters
    ----------
    backend : Backend
        Runs the phases.
    drive : Drive
        Input drive of the batch.
    cost : Cost
        Per-sample cost; the batch cost is its mean.
    mode : {"ep", "reciprocal", "adjoint"}
        See the module docstring.
    estimator : {"symmetric", "one-sided"}
        Finite-β estimator of eq. (1).
    nudge : {"frozen", "closed"}
        Open-loop injection of the free error, or the live error.
    beta : float, optional
        Nudge strength, in inverse cost units. Default: from ``nudge_ratio``.
    nudge_ratio : float, optional
        Dimensionless nudge strength β̂ when ``beta`` is not given: the loop gain
        β‖diag(W) G‖₂ of a closed-loop nudge, with G the outputs' compliance and W the
        cost's curvature (eq. 3), that is the fraction of the way the nudge pulls the
        outputs towards the target. The symmetric estimator's closed-loop bias is
        about β̂² relative. Backends without ``output_compliance`` fall back to a
        nudge current of ``nudge_ratio`` times the drive's RMS. Default: 1 for frozen
        nudges on a linear network (every β gives the same estimate there, and a
        large one keeps the difference of the measured conjugates far above their
        rounding error), 1e-3 otherwise.
    convention : {"L-beta*c", "L+beta*c"}
        Sign of the nudge in the Lagrangian. The estimators assume L − βc; the other
        sign injects the opposite current and so returns the negated gradient (kept to
        test the convention).

    Returns
    -------
    GradientEstimate

    Raises
    ------
    ConfigError
        For an unknown mode, estimator, nudge or convention.
    """
    _check_choice("mode", mode, MODES)
    _check_choice("estimator", estimator, ESTIMATORS)
    _check_choice("nudge", nudge, NUDGES)
    _check_choice("convention", convention, ("L-beta*c", "L+beta*c"))
    start = time.perf_counter()
    if mode == "adjoint":
        if hasattr(backend, "adjoint_gradient"):
            return backend.adjoint_gradient(drive, cost)
        from .reference import adjoint_gradient

        return adjoint_gradient(backend, drive, cost)

    # Free phase: outputs, losses, and the error current each nudge starts from.
    free = backend.run(drive, record_branches=mode == "reciprocal")
    losses = cost.value(free.outputs, drive)
    error = cost.error(free.outputs, drive)
    digital = cost.digital_grad(free.outputs, drive).mean(axis=0)

    if mode == "reciprocal":
        grad, phases, used_beta, runs = _reciprocal(backend, drive, free, error)
    else:
        if beta is None:
            if nudge_ratio is None:
                nudge_ratio = _default_ratio(backend, nudge)
            _check_positive("nudge_ratio", nudge_ratio)
            beta = _auto_beta(backend, drive, cost, free, error, nudge_ratio)
        else:
            _check_positive("beta", beta)
        sign = 1.0 if convention == "L-beta*c" else -1.0
        grad, phases, runs = _ep(
            backend, drive, cost, free, error, beta * sign, estimator, nudge
        )
        grad = grad * sign
        used_beta = beta
    return GradientEstimate(
        grad=grad,
        digital=digital,
        loss=float(np.mean(losses)),
        losses=losses,
        outputs=free.outputs,
        mode=mode,
        estimator=estimator if mode == "ep" else "",
        nudge=nudge if mode == "ep" else "",
        beta=float(used_beta),
        phases=phases,
        wall_time=time.perf_counter() - start,
        measurements={"free": free, **runs},
    )


def _ep(backend, drive, cost, free, error, beta, estimator, nudge):
    """Run the nudged phases and apply the one-sided or symmetric estimator."""
    if beta == 0.0 or not np.any(error):
        n_params = free.conjugates.shape[1]
        return np.where(np.isnan(free.conjugates[0]), np.nan, np.zeros(n_params)), 1, {}

    def phase(b: float) -> Measurement:
        if nudge == "frozen":
            return backend.run(drive, injection=-b * error)
        return backend.run(drive, beta=b, cost=cost)

    if estimator == "one-sided":
        plus = phase(beta)
        per_sample = -(plus.conjugates - free.conjugates) / beta
        _check_measured(per_sample, beta)
        return per_sample.mean(axis=0), 2, {"plus": plus}

    # Symmetric. Frozen ±β phases are independent open-loop runs: one batch of both.
    if nudge == "frozen" and isinstance(drive, Drive):
        both = Drive(drive.omega, np.concatenate([drive.amplitude] * 2), drive.sigma)
        joint = backend.run(
            both, injection=np.concatenate([-beta * error, beta * error])
        )
        n = drive.n_samples
        plus_conjugates, minus_conjugates = joint.conjugates[:n], joint.conjugates[n:]
        runs = {"plus_minus": joint}
    else:
        plus, minus = phase(beta), phase(-beta)
        plus_conjugates, minus_conjugates = plus.conjugates, minus.conjugates
        runs = {"plus": plus, "minus": minus}
    per_sample = -(plus_conjugates - minus_conjugates) / (2.0 * beta)
    _check_measured(per_sample, beta)
    return per_sample.mean(axis=0), 3, runs


def _check_measured(per_sample: np.ndarray, beta: float) -> None:
    """A nudge that moved no conjugate (β underflowed or overflowed) is an error."""
    measured = per_sample[:, ~np.all(np.isnan(per_sample), axis=0)]
    if measured.size and (not np.all(np.isfinite(measured)) or not np.any(measured)):
        raise ConfigError(
            f"the nudge (beta = {beta:.3g}) changed no measured conjugate variable, or "
            "made one non-finite; choose a beta (or nudge_ratio) closer to 1e-3"
        )


def _reciprocal(backend, drive, free, error):
    """Time-reversed error injection and the branch correlation of eq. (2)."""
    elements, roles, dcoef = _parameter_derivatives(backend)
    if not np.any(error):
        return np.zeros(len(elements)), 1, 0.0, {}

    # Inject ē, scaled to the drive's size so that a chip's sensors see it well.
    scale = _rms(drive.amplitude) / _rms(error) if _rms(drive.amplitude) > 0 else 1.0
    reverse = backend.run(
        drive.zeros(), injection=scale * np.conj(error), record_branches=True
    )
    z = reverse.branches[:, :, elements] / scale
    phi = free.branches[:, :, elements]
    factor = _parameter_factors(backend, drive.s)
    per_sample = -0.5 * np.real(np.sum(factor[None] * z * phi, axis=1)) * dcoef[None, :]
    return per_sample.mean(axis=0), 2, scale, {"reverse": reverse}


def _system(backend):
    """The backend's compiled System, or one compiled from its network."""
    if isinstance(backend, PhasorBackend):
        return backend.system
    system = getattr(backend, "system", None)
    return system if isinstance(system, System) else System(backend.network)


def _parameter_derivatives(backend):
    """(element, role, ∂c/∂θ) per trainable parameter, from the backend's network."""
    return _system(backend).parameter_derivatives()


def _parameter_factors(backend, s):
    """r(s_h) per parameter, (n_harmonics, n_params)."""
    return _system(backend).parameter_factors(s)


def _auto_beta(backend, drive, cost, free, error, nudge_ratio: float) -> float:
    """β with loop gain β‖diag(W) G‖₂ = nudge_ratio (eq. 3), else drive-relative."""
    if not np.any(error):
        return 0.0
    curvature = cost.curvature(free.outputs, drive)
    compliance = getattr(backend, "output_compliance", None)
    if curvature is not None and compliance is not None:
        G = compliance(drive)
        gain = max(
            np.linalg.norm(curvature[i, h][:, None] * G[h], 2)
            for i in range(curvature.shape[0])
            for h in range(curvature.shape[1])
        )
        if gain > 0:
            return nudge_ratio / gain
    drive_rms = _rms(drive.amplitude)
    return nudge_ratio * (drive_rms if drive_rms > 0 else 1.0) / _rms(error)


def _rms(array: np.ndarray) -> float:
    """Root mean square of a complex array."""
    return float(np.sqrt(np.mean(np.abs(array) ** 2))) if array.size else 0.0


def _default_ratio(backend, nudge: str) -> float:
    """β̂ = 1 for frozen nudges on linear networks (exact at any β), else 1e-3."""
    linear = getattr(getattr(backend, "network", None), "is_linear", False)
    return 1.0 if nudge == "frozen" and linear else 1e-3


def _check_positive(what: str, value: float) -> None:
    """β and β̂ must be positive and finite."""
    if not (isinstance(value, (int, float)) and np.isfinite(value) and value > 0):
        raise ConfigError(f"gradient {what} = {value!r}: must be positive and finite")


def _check_choice(what: str, value: str, valid: tuple[str, ...]) -> None:
    """Raise ConfigError naming the valid choices."""
    if value not in valid:
        raise ConfigError(f"gradient {what} {value!r} is unknown; use one of {valid}")
