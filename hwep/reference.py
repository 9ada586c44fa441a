r"""Exact gradients of the phasor model, and the bias that loss gives plain EP.

For A(s_h) X_h = F_h and a real cost J(X_out) of the output phasors, implicit
differentiation gives, per sample,

    dJ/dθ = −½ Re Σ_h λ_hᴴ (∂A(s_h)/∂θ) X_h,     λ_h = A(s_h)⁻ᴴ e_h,            (1)

with e = 4 ∂J/∂X̄ the error current (``hwep.costs``) placed at the output nodes. One
extra solve per harmonic with the factorization of the forward solve. Central finite
differences in each parameter's value check eq. (1).

With loss, A = A_R + i A_I is complex symmetric and plain EP measures λ_EP = A⁻¹e
instead of λ. Since Aᴴ = A − 2i A_I,

    λ_EP − λ = −2i A⁻¹ A_I λ,
    |g_EP,θ − g_θ| ≤ Σ_h ‖A⁻¹A_I‖₂ ‖λ_h‖ ‖(∂A/∂θ) X_h‖,                      (2)

the bound ``dissipation_report`` computes. At a lossless network's resonance with one
damped mode, A⁻¹ is imaginary and λ_EP = −λ: plain EP returns the negated gradient.
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse.linalg as spla

from .backends import Backend, Drive, PhasorBackend
from .costs import Cost
from .network import Network
from .solvers.phasor import PhasorSolver
from .system import System

__all__ = [
    "adjoint_gradient",
    "finite_difference_gradient",
    "dissipation_report",
    "batch_loss",
]


def adjoint_gradient(source: Backend | Network, drive: Drive, cost: Cost):
    """Exact dJ/dθ of the batch-mean cost of the native phasor model (eq. 1).

    Parameters
    ----------
    source : Backend or Network
        A PhasorBackend (its factorization is reused) or any backend or network, whose
        network is then solved natively.
    drive : Drive
        Input drive of the batch.
    cost : Cost
        Per-sample cost.

    Returns
    -------
    GradientEstimate
        With ``mode="adjoint"``; resistor and damper parameters included.
    """
    from .ep import GradientEstimate

    start = time.perf_counter()
    system, solver = _native(source, drive)

    # Forward solve, error, and one adjoint solve per harmonic.
    x = solver.solve(system.node_currents(drive.amplitude))
    x_out = x[:, :, system.output_nodes]
    error = cost.error(x_out, drive)
    lam = solver.solve_adjoint(system.node_currents(outputs=error, batch=x.shape[:2]))

    # Eq. (1) per parameter: only the element's branch phasors enter.
    grad = _implicit_products(system, drive.s, np.conj(lam), x)
    losses = cost.value(x_out, drive)
    return GradientEstimate(
        grad=grad.mean(axis=0),
        digital=cost.digital_grad(x_out, drive).mean(axis=0),
        loss=float(np.mean(losses)),
        losses=losses,
        outputs=x_out,
        mode="adjoint",
        wall_time=time.perf_counter() - start,
    )


def finite_difference_gradient(
    source: Backend | Network, drive, cost: Cost, *, step: float = 1e-6
) -> np.ndarray:
    """Central differences of the batch-mean cost in each parameter's value.

    Parameter θ moves to θ(1 ± step) (or ± step when θ = 0), a fresh free phase each:
    2 P phases in all. A check, not a training method.

    Parameters
    ----------
    source : Backend or Network
        Any backend (its free phase is used, and its values are restored afterwards),
        or a network, solved natively by the phasor solver.
    drive, cost
        The batch.
    step : float
        Relative step.

    Returns
    -------
    numpy.ndarray
        dJ/dθ, (n_params,).
    """
    backend = PhasorBackend(source) if isinstance(source, Network) else source
    values = backend.network.values()
    grad = np.zeros_like(values)
    try:
        for k, value in enumerate(values):
            h = step * abs(value) if value != 0 else step
            shifted = []
            for sign in (1.0, -1.0):
                trial = values.copy()
                trial[k] = value + sign * h
                backend.set_values(trial)
                outputs = backend.run(drive).outputs
                shifted.append(float(np.mean(cost.value(outputs, drive))))
            grad[k] = (shifted[0] - shifted[1]) / (2.0 * h)
    finally:
        backend.set_values(values)
    return grad


def batch_loss(network: Network, drive: Drive, cost: Cost) -> float:
    """Mean cost of the batch, solved natively."""
    system = System(network)
    solver = PhasorSolver(system, drive.s)
    x = solver.solve(system.node_currents(drive.amplitude))
    return float(np.mean(cost.value(x[:, :, system.output_nodes], drive)))


def dissipation_report(
    source: Backend | Network, drive: Drive, cost: Cost, *, linewidths: float = 3.0
) -> dict:
    """How far plain EP can be from the exact gradient because of loss (eq. 2).

    Parameters
    ----------
    source : Backend or Network
        The network (and its current values).
    drive, cost
        As for ``adjoint_gradient``.
    linewidths : float
        A drive harmonic within this many linewidths ω_n/Q_n of a mode is flagged.

    Returns
    -------
    dict
        ``bound`` (n_params,): the right side of eq. (2) for the batch mean;
        ``loss_ratio`` (n_harmonics,): ‖A⁻¹A_I‖₂ per harmonic; ``modes``: list of
        {frequency_hz, Q, min_Q_detuning}; ``near_resonance``: list of messages;
        ``lossless``: whether A_I vanishes.
    """
    system, solver = _native(source, drive)
    x = solver.solve(system.node_currents(drive.amplitude))
    error = cost.error(x[:, :, system.output_nodes], drive)
    lam = solver.solve_adjoint(system.node_currents(outputs=error, batch=x.shape[:2]))

    # ‖A⁻¹ A_I‖₂ per harmonic, from the solver's own factorization.
    ratios = np.array(
        [_loss_ratio(system, solver, h) for h in range(solver.n_harmonics)]
    )

    # Eq. (2): Σ_h ratio_h ‖λ_h‖ ‖∂A/∂θ X_h‖, averaged over the samples.
    elements, roles, dcoef = system.parameter_derivatives()
    branches = system.branch_values(x)[:, :, elements]
    terminals = np.sqrt(np.asarray(abs(system.E).sum(axis=1)).ravel())[elements]
    factor = np.abs(system.parameter_factors(drive.s))
    column = factor[None] * np.abs(dcoef)[None, None, :] * np.abs(branches) * terminals
    lam_norm = np.linalg.norm(lam, axis=2)
    bound = np.sum(ratios[None, :, None] * lam_norm[:, :, None] * column, axis=1).mean(
        0
    )

    modes, flags = _mode_report(system, drive, linewidths)
    return {
        "bound": bound,
        "loss_ratio": ratios,
        "modes": modes,
        "near_resonance": flags,
        "lossless": bool(np.all(ratios == 0.0)),
    }


def _native(source, drive: Drive) -> tuple[System, PhasorSolver]:
    """The System and factorization to use: the backend's own when it is native."""
    if isinstance(source, PhasorBackend):
        return source.system, source.solver(drive.s)
    network = source if isinstance(source, Network) else source.network
    system = System(network)
    return system, PhasorSolver(system, drive.s)


def _implicit_products(system, s, lam_bar, x) -> np.ndarray:
    """−½ Re Σ_h r(s_h) ∂c/∂θ (E λ̄)_b (E X)_b per sample, (n_samples, n_params)."""
    elements, roles, dcoef = system.parameter_derivatives()
    if elements.size == 0:
        return np.zeros((x.shape[0], 0))
    u = system.branch_values(x)[:, :, elements]
    w = system.branch_values(lam_bar)[:, :, elements]
    factor = system.parameter_factors(s)
    return -0.5 * np.real(np.sum(factor[None] * w * u, axis=1)) * dcoef[None, :]


def _loss_ratio(system: System, solver: PhasorSolver, h: int) -> float:
    """‖A⁻¹ A_I‖₂ at harmonic h (dense below 1500 nodes, else a Lanczos estimate)."""
    A_I = solver.matrices[h].imag.tocsc()
    if A_I.nnz == 0 or not np.any(A_I.data):
        return 0.0
    lu = solver._factors[h]
    n = system.n_nodes
    if n <= 1500:
        return float(np.linalg.norm(lu.solve(A_I.toarray().astype(complex)), 2))
    operator = spla.LinearOperator(
        (n, n),
        matvec=lambda v: lu.solve(A_I @ v.astype(complex)),
        rmatvec=lambda v: A_I @ lu.solve(v.astype(complex), trans="H"),
        dtype=complex,
    )
    return float(spla.svds(operator, k=1, return_singular_vectors=False)[0])


def _mode_report(system: System, drive: Drive, linewidths: float):
    """Modes with Q and the smallest Q|δ| over the harmonics; near-resonance flags."""
    if system.n_nodes > 2000:
        return [], []
    omega_n, Q = system.modal_quality()
    modes, flags = [], []
    for w_n, q in zip(omega_n, Q, strict=True):
        if w_n <= 0:
            continue
        detuning = (w_n**2 - drive.omega**2) / (drive.omega * w_n)
        q_delta = (
            float(np.min(q * np.abs(detuning))) if np.isfinite(q) else float("inf")
        )
        modes.append(
            {
                "frequency_hz": w_n / (2 * np.pi),
                "Q": float(q),
                "min_Q_detuning": q_delta,
            }
        )
        if np.isfinite(q):
            near = np.abs(drive.omega - w_n) < linewidths * w_n / q
            f_n = w_n / (2 * np.pi)
            for w in drive.omega[near]:
                flags.append(
                    f"drive at {w / (2 * np.pi):.6g} Hz is within {linewidths:g} "
                    f"linewidths of the mode at {f_n:.6g} Hz (Q = {q:.3g}); "
                    "plain EP is strongly biased there"
                )
            if q_delta < 100 and not np.any(near):
                flags.append(
                    f"mode at {f_n:.6g} Hz has Q|δ| = {q_delta:.3g} < 100 at the "
                    "drive: expect a plain-EP bias of a few percent or more"
                )
    return modes, flags
