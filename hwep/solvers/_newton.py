r"""Newton's method on the discrete action's equations, with continuation and reuse.

A ``StationarySolver`` makes the selected equations of ``DiscreteAction`` vanish,

    G_j(Q) + c_j = 0   for j in rows,   unknowns q_j for j in cols,            (1)

(c holds constant terms such as a given initial momentum), optionally bordered by
linear constraints Zᵀ q = 0 with multipliers μ (the gauge of a node group whose mean
coordinate the equations leave free):

    [ J   Z ] [δq]     [ G + c + Z μ ]
    [ Zᵀ  0 ] [δμ] = − [    Zᵀ q     ].                                       (2)

Each Newton step is one sparse LU (SuperLU) of the block-banded Jacobian. A
backtracking line search on ‖residual‖ guards the first steps. A nudged phase starts
from the free solution and first iterates with the free phase's factorization (chord
steps, each a pair of triangular solves); it refactors only when that stalls. The free
phase can be continued in drive amplitude: the drive (and any fixed end states) is
scaled from 0 to 1 in steps, each step started from the last, with the step halved on
failure, which follows a solution branch until it folds back.

Convergence is reported (relative residual, iterations); a failure raises
``ConvergenceError`` naming the phase, the residual and what to try.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ..errors import ConvergenceError
from ._action import DiscreteAction, JacobianPattern

__all__ = ["StationarySolver", "Solution"]

logger = logging.getLogger(__name__)

_MIN_CONTINUATION_FRACTION = 1.0 / 256
_ROUNDING_FLOOR = 4 * np.finfo(float).eps


@dataclass
class Solution:
    """One solved trajectory and how the solve went.

    Attributes
    ----------
    Q : numpy.ndarray
        Trajectory, (n_times, n_nodes).
    residual : float
        Final relative residual ‖G + c‖∞ / (largest force term).
    iterations : int
        Newton and chord iterations, summed over continuation steps.
    multipliers : numpy.ndarray
        Gauge multipliers μ, (n_border,): the constraint force on each floating group.
    factorization : object or None
        LU of the last Jacobian, for chord steps of later phases.
    pivot_ratio : float
        Smallest over largest |pivot| of that LU: near zero at a fold or resonance.
    final_momentum : numpy.ndarray or None
        p_N of an initial-value run, (n_nodes,).
    """

    Q: np.ndarray
    residual: float
    iterations: int
    multipliers: np.ndarray = field(default_factory=lambda: np.zeros(0))
    factorization: object | None = None
    pivot_ratio: float = float("nan")
    final_momentum: np.ndarray | None = None


class StationarySolver:
    """Solve eq. (1) (bordered as in eq. (2) when ``border`` is given).

    Parameters
    ----------
    action : DiscreteAction
        The discrete action.
    rows, cols : array_like of int
        Time points of the equations and of the unknowns, as many of each.
    border : scipy.sparse matrix, optional
        Z, (len(cols) · n_nodes, n_border).
    tolerance : float
        Relative residual below which a solve counts as converged (iterations go on
        towards the rounding floor while they still gain).
    max_iterations : int
        Newton iterations per solve (per continuation step).
    continuation_steps : int
        0 or 1: solve at the full drive at once; K > 1: continue in drive amplitude
        in K equal steps (halved on failure).
    label : str
        Backend name, for messages.
    """

    def __init__(
        self,
        action: DiscreteAction,
        rows,
        cols,
        *,
        border: sp.spmatrix | None = None,
        tolerance: float = 1e-12,
        max_iterations: int = 50,
        continuation_steps: int = 0,
        label: str = "trajectory",
    ):
        self.action = action
        self.rows = np.asarray(rows, dtype=int)
        self.cols = np.asarray(cols, dtype=int)
        self.border = None if border is None else sp.csc_matrix(border)
        self.n_border = 0 if border is None else border.shape[1]
        self.pattern = JacobianPattern(action, self.rows, self.cols, self.border)
        self.tolerance = float(tolerance)
        self.max_iterations = int(max_iterations)
        self.continuation_steps = int(continuation_steps)
        self.label = label
        n = action.n_nodes
        self._row_index = (self.rows[:, None] * n + np.arange(n)[None, :]).ravel()
        self._col_index = (self.cols[:, None] * n + np.arange(n)[None, :]).ravel()
        fixed = np.ones(action.n_times * n, dtype=bool)
        fixed[self._col_index] = False
        self._fixed_index = np.flatnonzero(fixed)

    # -- public -------------------------------------------------------------------

    def solve(
        self,
        F: np.ndarray,
        *,
        fixed: np.ndarray | None = None,
        constant: np.ndarray | None = None,
        guess: np.ndarray | None = None,
        factorization: object | None = None,
        nudge: np.ndarray | None = None,
        closed_loop: tuple | None = None,
        what: str = "free phase",
    ) -> Solution:
        """Solve eq. (1) for one sample.

        A free phase (no ``nudge``, no ``closed_loop``) starts from ``guess`` (or
        rest) and, with ``continuation_steps`` > 1, is continued in drive amplitude. A
        nudged phase starts from ``guess`` (the free solution) with chord steps on
        ``factorization``, and falls back to continuation in β when that fails.

        Parameters
        ----------
        F : numpy.ndarray
            Node forces of the drive, (n_times, n_nodes), A or N.
        fixed : numpy.ndarray, optional
            Coordinates at the points that are not unknown, (n_times, n_nodes).
        constant : numpy.ndarray, optional
            c of eq. (1), (n_times, n_nodes).
        guess : numpy.ndarray, optional
            Starting trajectory (the free solution for a nudged phase).
        factorization : object, optional
            An LU of a nearby Jacobian for chord steps.
        nudge : numpy.ndarray, optional
            Open-loop nudge forces, (n_times, n_nodes), added to F.
        closed_loop : (callable, scipy.sparse matrix), optional
            A live nudge: node force f(Q), (n_times, n_nodes), and its Jacobian
            ∂(a f)/∂q in node layout (n_times · n_nodes square).
        what : str
            The phase and sample, for messages.

        Raises
        ------
        ConvergenceError
            When Newton (or the continuation) does not reach the tolerance.
        """
        n_times, n = self.action.n_times, self.action.n_nodes
        dtype = np.result_type(F, float, 0.0 if nudge is None else nudge)
        base = np.zeros((n_times, n), dtype=dtype)
        if fixed is not None:
            base = base + fixed
        constant = np.zeros((n_times, n)) if constant is None else constant
        start = base.copy() if guess is None else np.array(guess, dtype=dtype)

        # Nudged phases: from the free solution, then continuation in β.
        if nudge is not None or closed_loop is not None:
            nudge = np.zeros_like(base) if nudge is None else nudge

            def nudged(fraction):
                loop = None
                if closed_loop is not None:
                    f, J = closed_loop
                    loop = (lambda Q: fraction * f(Q), fraction * J)
                return F + fraction * nudge, base, constant, loop

            solution, message = self._iterate(*nudged(1.0), start, factorization)
            if message is None:
                return solution
            logger.debug("%s: %s; continuing in beta", what, message)
            return self._continue(nudged, start, what, 4, "the nudge strength beta")

        # Free phases: at once, or continued in drive amplitude from rest.
        def scaled(fraction):
            return F * fraction, base * fraction, constant * fraction, None

        if self.continuation_steps <= 1:
            solution, message = self._iterate(*scaled(1.0), start, None)
            if message is None:
                return solution
            raise self._failure(what, message, solution)
        return self._continue(
            scaled, start * 0.0, what, self.continuation_steps, "drive amplitude"
        )

    def jacobian(self, Q: np.ndarray) -> sp.csc_matrix:
        """The (bordered) Jacobian of eq. (2) at Q."""
        return self.pattern.matrix(self.action.curvatures(Q))

    def adjoint(self, Q: np.ndarray, rhs: np.ndarray) -> np.ndarray:
        """λ with Jᵀ λ = rhs on the unknowns (eq. (5) of ``_action``).

        Parameters
        ----------
        Q : numpy.ndarray
            A converged trajectory, (n_times, n_nodes).
        rhs : numpy.ndarray
            ∂C_d/∂q, (n_times, n_nodes); only the unknown points are used.

        Returns
        -------
        numpy.ndarray
            λ in the equations' layout, (n_times, n_nodes), zero at other points.
        """
        J = self.jacobian(Q)
        b = np.concatenate(
            [rhs.reshape(-1)[self._col_index], np.zeros(self.n_border, rhs.dtype)]
        )
        lu = _factorize(J)
        if lu is None:
            raise ConvergenceError(
                f"{self.label} backend: the Jacobian at the solution is singular, so "
                "the adjoint does not exist (a resonance or a conjugate point)"
            )
        lam_rows = lu.solve(b, trans="T")[: self._row_index.size]
        lam = np.zeros(Q.shape, dtype=lam_rows.dtype)
        lam.reshape(-1)[self._row_index] = lam_rows
        return lam

    # -- private --------------------------------------------------------------------

    def _residual(self, F, Q, mu, constant, closed_loop):
        """Eq. (2)'s right side (without the minus) and the force scale."""
        forces = F if closed_loop is None else F + closed_loop[0](Q)
        G = self.action.gradient(Q, forces) + constant
        r = G.reshape(-1)[self._row_index]
        scale = np.maximum(self.action.force_scale(Q, forces), 1e-300)
        if self.n_border:
            r = r + self.border @ mu
            gauge = self.border.T @ Q.reshape(-1)[self._col_index]
            r = np.concatenate([r, gauge])
        return r, scale

    def _matrix(self, Q, closed_loop):
        """Jacobian at Q, with a live nudge's own Jacobian added."""
        J = self.jacobian(Q)
        if closed_loop is not None:
            extra = closed_loop[1].tocsr()[self._row_index][:, self._col_index]
            if self.n_border:
                extra = sp.block_diag(
                    [extra, sp.csc_matrix((self.n_border, self.n_border))]
                )
            J = (J + extra).tocsc()
        return J

    def _failure(self, what, message, solution) -> ConvergenceError:
        """The error of a direct solve that did not converge."""
        return ConvergenceError(
            f"{self.label} backend: Newton did not converge in the {what} ({message}; "
            f"relative residual {solution.residual:.2e} after {solution.iterations} "
            f"iterations, pivot ratio {solution.pivot_ratio:.1e}); the drive may push "
            "the network past a fold or onto a resonance: set continuation_steps "
            "(e.g. 8) in the [backend] table to continue the solution in drive "
            "amplitude, lower the drive amplitude, or move the drive frequency",
            residual=solution.residual,
            iterations=solution.iterations,
        )

    def _continue(self, problem, start, what, steps, parameter):
        """Natural-parameter continuation of ``problem(fraction)`` from 0 to 1.

        Each step starts from the last solution; a failed step is halved, down to
        1/256 of the first step, which follows the branch until it folds back.
        """
        done, step, Q = 0.0, 1.0 / steps, start
        total, last = 0, None
        while done < 1.0:
            fraction = min(1.0, done + step)
            solution, message = self._iterate(*problem(fraction), Q, None)
            total += solution.iterations
            if message is None:
                done, Q, last = fraction, solution.Q, solution
                continue
            step /= 2.0
            if step < _MIN_CONTINUATION_FRACTION / steps:
                raise ConvergenceError(
                    f"{self.label} backend: continuation in {parameter} stopped at "
                    f"{100 * done:.1f}% in the {what} (Newton failed with steps down "
                    f"to {100 * step:.2g}%: {message}; relative residual "
                    f"{solution.residual:.2e}, pivot ratio {solution.pivot_ratio:.1e})"
                    ": the solution branch folds back there (a saddle-node "
                    "bifurcation, as when a Duffing resonance jumps); lower the drive "
                    "amplitude or beta, move the drive frequency away from the "
                    "resonance, or add loss",
                    residual=solution.residual,
                    iterations=total,
                )
            logger.debug("%s: %s step halved to %.3g", what, parameter, step)
        last.iterations = total
        return last

    def _iterate(self, F, base, constant, closed_loop, start, lu):
        """Chord then Newton iterations; (solution, None) or (last state, reason).

        The residual's real part and, for a complex step, its imaginary part are each
        measured relative to their own force scale. Iterations go on while each step
        still gains a factor 4, down to the rounding floor, so that differences of
        nudged phases are not limited by the tolerance; below the tolerance a stalled
        step ends the solve successfully. The line search judges the real part only:
        the imaginary part of a complex step obeys a linear equation, corrected by full
        steps once the real part is converged.
        """
        Q = np.array(start, dtype=np.result_type(start, F, base))
        Q.reshape(-1)[self._fixed_index] = base.reshape(-1)[self._fixed_index]
        mu = np.zeros(self.n_border, dtype=Q.dtype)
        r, scale = self._residual(F, Q, mu, constant, closed_loop)
        parts = _relative(r, scale)
        iterations, pivot_ratio, reason = 0, float("nan"), None
        chord, gain = lu is not None, np.inf
        while max(parts) > _ROUNDING_FLOOR:
            converged = max(parts) <= self.tolerance
            if converged and gain < 4.0:
                break
            if iterations >= self.max_iterations:
                if not converged:
                    reason = f"{self.max_iterations} iterations reached"
                break
            iterations += 1
            if not chord:
                lu = _factorize(self._matrix(Q, closed_loop))
                if lu is None:
                    reason = None if converged else "singular Jacobian"
                    break

            # Newton (or chord) step; backtrack while the real residual is open.
            delta = -lu.solve(r)
            polish = parts[0] <= self.tolerance
            tries = 1 if chord or polish else 12
            trial = self._line_search(
                F, Q, mu, r, delta, constant, closed_loop, tries, polish
            )
            if trial is not None and max(trial[3]) >= max(parts) and polish:
                trial = None
            if trial is None:
                if converged:
                    break
                if chord:
                    chord = False
                    continue
                reason = "the line search found no decrease of the residual"
                break
            gain = max(parts) / max(max(trial[3]), 1e-300)
            chord = chord and gain >= 4.0
            Q, mu, r, parts, scale = trial
        if not np.all(np.isfinite(parts)):
            reason = "the iterates diverged"
        if reason is not None and lu is not None:
            pivot_ratio = lu.pivot_ratio()
        solution = Solution(Q, float(max(parts)), iterations, mu, lu, pivot_ratio)
        return solution, reason

    def _line_search(self, F, Q, mu, r, delta, constant, closed_loop, tries, polish):
        """Backtracking on the real residual (full step when ``polish``).

        Returns (Q, μ, r, relative parts, scale) of the accepted iterate, or None.
        """
        n_q = self._col_index.size
        _, scale = self._residual(F, Q, mu, constant, closed_loop)
        merit = np.linalg.norm(np.real(r)) / scale[0]
        alpha = 1.0
        for _ in range(tries):
            Q_new = Q.copy()
            Q_new.reshape(-1)[self._col_index] += alpha * delta[:n_q]
            mu_new = mu + alpha * delta[n_q:]
            with np.errstate(over="ignore", invalid="ignore"):
                r_new, scale_new = self._residual(
                    F, Q_new, mu_new, constant, closed_loop
                )
                merit_new = np.linalg.norm(np.real(r_new)) / scale[0]
            decrease = merit_new < (1.0 - 1e-4 * alpha) * merit
            if np.isfinite(merit_new) and (polish or decrease):
                parts = _relative(r_new, scale_new)
                return Q_new, mu_new, r_new, parts, scale_new
            alpha /= 2.0
        return None


def _relative(r: np.ndarray, scale: np.ndarray) -> tuple[float, float]:
    """(‖Re r‖∞ / s_re, ‖Im r‖∞ / s_im): a complex step is judged on its own scale."""
    real = np.abs(np.real(r)).max(initial=0.0) / scale[0]
    imag = np.abs(np.imag(r)).max(initial=0.0) / scale[1] if np.iscomplexobj(r) else 0
    return float(real), float(imag)


class _Factor:
    """A SuperLU factorization that remembers whether it is complex."""

    def __init__(self, J: sp.csc_matrix):
        self.lu = spla.splu(J.tocsc(), permc_spec="COLAMD")
        self.complex = np.iscomplexobj(J.data)

    def solve(self, b: np.ndarray, trans: str = "N") -> np.ndarray:
        """Solve, splitting a complex right side over a real factor."""
        if np.iscomplexobj(b) and not self.complex:
            real = self.lu.solve(np.ascontiguousarray(b.real), trans=trans)
            return real + 1j * self.lu.solve(np.ascontiguousarray(b.imag), trans=trans)
        dtype = complex if self.complex else float
        return self.lu.solve(np.ascontiguousarray(b, dtype=dtype), trans=trans)

    def pivot_ratio(self) -> float:
        """Smallest over largest |pivot|: near zero at a fold or a resonance."""
        pivots = np.abs(self.lu.U.diagonal())
        if not pivots.size or not pivots.max():
            return 0.0
        return float(pivots.min() / pivots.max())

    @property
    def memory_bytes(self) -> int:
        """Bytes held by the L and U factors (values and indices)."""
        per_entry = (16 if self.complex else 8) + 4
        return int((self.lu.L.nnz + self.lu.U.nnz) * per_entry)


def _factorize(J: sp.csc_matrix) -> _Factor | None:
    """The LU of J, or None when SuperLU finds it exactly singular."""
    try:
        return _Factor(J)
    except RuntimeError:
        return None
