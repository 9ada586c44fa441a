r"""Trajectory backends: periodic, boundary and echo phases on the discrete action.

Each backend runs one phase (free or nudged) for a batch of ``TimeDrive`` samples and
returns a ``Measurement`` whose ``conjugates`` are the time averages

    Λ_θ = (1/T) Σ_j ∂L_d/∂θ (q_j, q_{j+1})                                    (1)

of the discrete Lagrangian (``hwep.solvers._action``) along the phase's trajectory, and
whose ``outputs`` are the output flux (displacement) trajectories, (n_samples, n_times,
n_outputs). ``hwep.ep.ep_gradient`` works with them unchanged: its frozen nudge injects
``−β e`` (force samples), its closed-loop nudge asks for ``beta`` and ``cost``.

- ``periodic``: the periodic steady state (``PeriodicSolver``). It also accepts a phasor
  ``Drive`` with commensurate harmonics, sampled on ``n_steps`` points per period;
  outputs are then the DFT phasors at the drive's harmonics, so phasor costs and tasks
  run on nonlinear networks.
- ``boundary``: fixed initial and final states (``BoundarySolver``).
- ``echo``: an initial-value run of a lossless network by Verlet steps
  (``VerletSolver``); the nudged phases run backward from the free final state (the
  echo condition of THEORY §7). ``nudged_from = "initial"`` nudges forward from the
  initial state instead: a negative control, biased by the symplectic boundary term.

On these discrete models, without loss, symmetric EP converges to the exact gradient
as β² and complex-step EP is exact. ``adjoint_gradient`` is that exact gradient: one
solve with the transposed Jacobian of the phase's equations (for ``echo``, BPTT through
the Verlet steps). With resistors or dampers the equations are not variational and EP
is biased; ``dissipation_bias`` measures the bias against the adjoint.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .backends import Measurement, register_backend
from .costs import Cost
from .errors import ConfigError, HwepWarning
from .network import Network
from .solvers._newton import Solution
from .solvers.boundary import BoundarySolver
from .solvers.periodic import PeriodicSolver
from .solvers.transient import VerletSolver
from .system import System
from .timedomain import TimeDrive

__all__ = [
    "PeriodicBackend",
    "BoundaryBackend",
    "EchoBackend",
    "dissipation_bias",
]


@dataclass
class _Free:
    """The free phase of one drive at one parameter set, kept for the nudged phases."""

    drive: object
    values: bytes
    solutions: list


class _TrajectoryBackend:
    """Common parts: drive checks, node forces, measurement, caches, adjoint."""

    name = ""
    periodic = True

    def __init__(self, network: Network):
        self.network = network
        self.system = System(network)
        self._solvers: dict = {}
        self._free: _Free | None = None

    def set_values(self, values: np.ndarray) -> None:
        """Set the trainable parameters (SI units, (n_params,))."""
        self.network = self.network.with_values(values)
        self.system = System(self.network)
        for solver in self._solvers.values():
            solver.rebind(self.system)
        self._free = None

    # -- the protocol ---------------------------------------------------------------

    def run(
        self,
        drive,
        *,
        beta: float = 0.0,
        cost: Cost | None = None,
        injection: np.ndarray | None = None,
        record_branches: bool = False,
    ) -> Measurement:
        """Run one phase; ``injection`` is force samples (n_samples, n_times,
        n_outputs), or phasors (n_samples, n_harmonics, n_outputs) for a phasor drive.
        """
        start = time.perf_counter()
        time_drive = self._time_drive(drive)
        if beta != 0.0 and cost is None:
            raise ConfigError("a closed-loop nudge (beta != 0) needs a cost")
        nudged = beta != 0.0 or injection is not None
        F = self._forces(time_drive, None)
        nudge = self._forces(time_drive.zeros(), self._injection(drive, injection))

        # The free phase is kept: nudged phases start from it (or its final state).
        free = self._free_phase(drive, time_drive) if nudged else None
        if nudged:
            solutions = [
                self._nudged(time_drive, F[i], nudge[i], i, free[i], beta, cost, drive)
                for i in range(time_drive.n_samples)
            ]
        else:
            solutions = self._solve_free(time_drive, F)
            self._free = _Free(drive, self._values_key(), solutions)
        return self._measure(drive, time_drive, solutions, record_branches, start)

    def adjoint_gradient(self, drive, cost: Cost):
        """Exact dJ/dθ of the batch-mean cost on the discrete model.

        One transposed solve per sample at the free trajectory: (∂G/∂q)ᵀ λ = ∂C_d/∂q,
        dJ/dθ = −λᵀ (∂G/∂θ) / T. Resistor and damper parameters are included.

        Returns
        -------
        GradientEstimate
            With ``mode="adjoint"``.
        """
        from .ep import GradientEstimate

        start = time.perf_counter()
        time_drive = self._time_drive(drive)
        solutions = self._free_phase(drive, time_drive)
        Q = np.stack([s.Q for s in solutions])
        outputs = self._outputs(drive, time_drive, Q)
        losses = cost.value(outputs, drive)

        # ∂C_d/∂q = h a_j e_j at the output nodes, then one adjoint solve per sample.
        error = self._forces(
            time_drive.zeros(), self._injection(drive, cost.error(outputs, drive))
        )
        solver = self._solver(time_drive)
        action = solver.action
        rhs = action.h * action.weights[None, :, None] * error
        grads = [
            action.parameter_products(Q[i], self._adjoint(solver, Q[i], rhs[i]))
            for i in range(time_drive.n_samples)
        ]
        grad = np.real_if_close(np.mean(grads, axis=0)) / time_drive.horizon
        return GradientEstimate(
            grad=grad,
            digital=cost.digital_grad(outputs, drive).mean(axis=0),
            loss=float(np.mean(losses)),
            losses=losses,
            outputs=outputs,
            mode="adjoint",
            wall_time=time.perf_counter() - start,
        )

    # -- hooks of the concrete backends ---------------------------------------------

    def _make_solver(self, drive: TimeDrive):
        raise NotImplementedError

    def _solve_free(self, drive: TimeDrive, F: np.ndarray) -> list:
        raise NotImplementedError

    def _nudged(self, drive, F, nudge, i, free, beta, cost, original) -> Solution:
        raise NotImplementedError

    def _adjoint(self, solver, Q, rhs) -> np.ndarray:
        return solver.adjoint(Q, rhs)

    # -- shared steps ---------------------------------------------------------------

    def _solver(self, drive: TimeDrive):
        """The solver of this grid, built once per parameter set."""
        key = (drive.n_steps, drive.horizon)
        if key not in self._solvers:
            self._solvers[key] = self._make_solver(drive)
        return self._solvers[key]

    def _time_drive(self, drive) -> TimeDrive:
        """Check a drive against the backend and the network."""
        if not isinstance(drive, TimeDrive):
            raise ConfigError(
                f"backend {self.name!r} runs time-domain drives "
                f"(hwep.timedomain.TimeDrive), got {type(drive).__name__}"
            )
        if drive.periodic != self.periodic:
            grid = "periodic" if self.periodic else "bounded (periodic=False)"
            raise ConfigError(f"backend {self.name!r} needs a {grid} TimeDrive")
        n_inputs = len(self.system.input_nodes)
        if drive.n_inputs != n_inputs:
            raise ConfigError(
                f"drive has {drive.n_inputs} inputs but network {self.network.name!r} "
                f"has {n_inputs} input ports"
            )
        for name in ("initial", "final", "initial_momentum"):
            value = getattr(drive, name)
            if value is not None and value.shape[1] != self.system.n_nodes:
                raise ConfigError(
                    f"drive {name} has {value.shape[1]} coordinates but network "
                    f"{self.network.name!r} has {self.system.n_nodes} nodes"
                )
        return drive

    def _injection(self, drive, injection):
        """An injection in force samples (phasor backends convert theirs)."""
        return injection

    def _forces(self, drive: TimeDrive, injection) -> np.ndarray:
        """Node forces: the drive at the inputs plus the injection at the outputs."""
        dtype = np.result_type(
            drive.force, float, 0.0 if injection is None else injection
        )
        F = np.zeros((drive.n_samples, drive.n_times, self.system.n_nodes), dtype)
        F[:, :, self.system.input_nodes] += drive.force
        if injection is not None:
            shape = (drive.n_samples, drive.n_times, len(self.system.output_nodes))
            F[:, :, self.system.output_nodes] += np.broadcast_to(injection, shape)
        return F

    def _free_phase(self, drive, time_drive: TimeDrive) -> list:
        """The cached free solutions of this drive, or a fresh free phase."""
        cached = self._free
        if cached is not None and cached.drive is drive:
            if cached.values == self._values_key():
                return cached.solutions
        F = self._forces(time_drive, None)
        solutions = self._solve_free(time_drive, F)
        self._free = _Free(drive, self._values_key(), solutions)
        return solutions

    def _values_key(self) -> bytes:
        return self.network.values().tobytes()

    def _outputs(self, drive, time_drive: TimeDrive, Q: np.ndarray) -> np.ndarray:
        """Output trajectories (phasors for a phasor drive)."""
        return Q[:, :, self.system.output_nodes]

    def _measure(self, drive, time_drive, solutions, record_branches, start):
        """The Measurement of a phase: eq. (1), outputs and solver diagnostics."""
        solver = self._solver(time_drive)
        Q = np.stack([s.Q for s in solutions])
        conjugates = solver.action.conjugates(Q)
        branches = solver.action.branches(Q) if record_branches else None
        residuals = [s.residual for s in solutions]
        iterations = [s.iterations for s in solutions]
        gauge = [float(np.abs(s.multipliers).max(initial=0.0)) for s in solutions]
        return Measurement(
            conjugates=conjugates,
            outputs=self._outputs(drive, time_drive, Q),
            branches=branches,
            backend=self.name,
            residual=float(max(residuals)),
            iterations=int(max(iterations)),
            wall_time=time.perf_counter() - start,
            extra={
                "residuals": residuals,
                "iterations": iterations,
                "gauge_force": gauge,
                "trajectories": Q if record_branches else None,
                "times": time_drive.times,
            },
        )

    def _closed_loop(self, drive, i, beta, cost, original):
        """(f(Q), ∂(a f)/∂q) of a live nudge −β e(Q) for sample i."""
        out = self.system.output_nodes
        n, n_times = self.system.n_nodes, drive.n_times
        sample_drive = original.subset([i])
        sample_cost = cost.subset([i])

        def force(Q):
            F = np.zeros(Q.shape, dtype=np.result_type(Q, float))
            e = sample_cost.error(self._outputs(original, drive, Q[None]), sample_drive)
            F[:, out] = -beta * self._injection(original, e)[0]
            return F

        if not hasattr(cost, "hessian"):
            raise ConfigError(
                f"a closed-loop nudge on backend {self.name!r} needs a trajectory cost "
                "(hwep.timedomain.TrajectoryCost); use the frozen nudge"
            )
        H = cost.hessian(drive, i)
        n_out = len(out)
        rows = (np.arange(n_times)[:, None] * n + out[None, :]).ravel()
        select = sp.csr_matrix(
            (np.ones(rows.size), (rows, np.arange(rows.size))),
            shape=(n_times * n, n_times * n_out),
        )
        return force, (-beta * (select @ H @ select.T)).tocsr()


class _StationaryBackend(_TrajectoryBackend):
    """Phases solved all at once by Newton: the periodic and boundary backends."""

    def _ends(self, drive, i) -> dict:
        """Fixed end states of sample i (none on a periodic grid)."""
        return {}

    def _solve_free(self, drive, F):
        solver = self._solver(drive)
        return [
            solver.solve(F[i], what=f"free phase of sample {i}", **self._ends(drive, i))
            for i in range(drive.n_samples)
        ]

    def output_compliance(self, drive) -> np.ndarray:
        """A bound of the outputs' compliance, for sizing β (``hwep.ep``, eq. 3).

        The linear response of the output trajectories to output forces at the free
        solution is G = P J⁻¹ diag(a) Pᵀ over the whole grid; its norm ‖G‖₂ (largest
        over the samples, by power iteration on the free phase's factorization) is
        returned as g·I per harmonic, (n_harmonics, n_outputs, n_outputs), with one
        harmonic for a ``TimeDrive``. With a cost's largest pointwise curvature w this
        bounds the loop gain β w ‖G‖₂ of a closed-loop nudge.
        """
        time_drive = self._time_drive(drive)
        solver = self._solver(time_drive)
        gain = max(
            _response_norm(solver, solution, self.system.output_nodes)
            for solution in self._free_phase(drive, time_drive)
        )
        n_out = len(self.system.output_nodes)
        n_h = 1 if isinstance(drive, TimeDrive) else drive.n_harmonics
        return gain * np.broadcast_to(np.eye(n_out), (n_h, n_out, n_out)).copy()

    def _nudged(self, drive, F, nudge, i, free, beta, cost, original):
        closed = None
        if beta != 0.0:
            closed = self._closed_loop(drive, i, beta, cost, original)
        return self._solver(drive).solve(
            F,
            guess=free.Q,
            factorization=free.factorization,
            nudge=nudge,
            closed_loop=closed,
            what=f"nudged phase of sample {i}",
            **self._ends(drive, i),
        )


class PeriodicBackend(_StationaryBackend):
    """Periodic steady states of nonlinear networks on the discrete action.

    Parameters
    ----------
    network : Network
        Any network (nonlinear elements, losses and floating nodes allowed).
    n_steps : int, optional
        Points per period used for a phasor ``Drive`` (a ``TimeDrive`` brings its own
        grid). Default: 64 points per cycle of the drive's highest harmonic (at least
        64 in all), which keeps the integrator's O((ωh)²) error near 0.1%; a value
        giving fewer than 32 points per cycle draws a ``HwepWarning``.
    tolerance : float
        Relative residual at which Newton stops; default 1e-12.
    max_iterations : int
        Newton iterations per solve; default 50.
    continuation_steps : int
        Continue free phases in drive amplitude in this many steps (0: off).

    Examples
    --------
    An LC tank driven below resonance, 64 points per period:

    >>> import networkx as nx
    >>> G = nx.MultiGraph(ground=0, inputs=[1], outputs=[1])
    >>> _ = G.add_edge(1, 0, kind="inductor", value=0.01)
    >>> _ = G.add_edge(1, 0, kind="capacitor", value=1e-4)
    >>> backend = PeriodicBackend(Network(G))
    >>> drive = TimeDrive.from_harmonics(2 * np.pi / 50, 64, [50.0], [[[1.0]]])
    >>> round(float(backend.run(drive).outputs[0, 0, 0]), 6)
    0.010025
    """

    name = "periodic"
    periodic = True

    def __init__(
        self,
        network: Network,
        *,
        n_steps: int | None = None,
        tolerance: float = 1e-12,
        max_iterations: int = 50,
        continuation_steps: int = 0,
    ):
        super().__init__(network)
        self._auto_steps = n_steps is None
        self.options = _check_options(
            n_steps=64 if n_steps is None else n_steps,
            tolerance=tolerance,
            max_iterations=max_iterations,
            continuation_steps=continuation_steps,
        )

    def _make_solver(self, drive):
        options = {k: v for k, v in self.options.items() if k != "n_steps"}
        return PeriodicSolver(self.system, drive.n_steps, drive.horizon, **options)

    def _time_drive(self, drive) -> TimeDrive:
        if hasattr(drive, "omega") and not isinstance(drive, TimeDrive):
            return super()._time_drive(self._sampled(drive))
        return super()._time_drive(drive)

    def _solve_free(self, drive, F):
        self._solver(drive).check_drive(F)
        return super()._solve_free(drive, F)

    # -- phasor drives --------------------------------------------------------------

    def _sampled(self, drive) -> TimeDrive:
        """A phasor Drive on ``n_steps`` points per period (cached per drive)."""
        cached = getattr(self, "_sampled_cache", None)
        if cached is not None and cached[0] is drive:
            return cached[1]
        n_steps = self.options["n_steps"]
        time_drive = TimeDrive.from_drive(drive, n_steps)
        harmonics = np.round(drive.omega * time_drive.horizon / (2 * np.pi))
        highest = int(harmonics.max())
        if self._auto_steps and n_steps < _CYCLE_POINTS * highest:
            n_steps = _CYCLE_POINTS * highest
            time_drive = TimeDrive.from_drive(drive, n_steps)
        elif not self._auto_steps and n_steps < 32 * highest:
            warnings.warn(
                f"backend 'periodic': n_steps = {n_steps} gives "
                f"{n_steps / highest:.1f} points per cycle of the drive's harmonic "
                f"{highest}; the integrator's error grows as (points per cycle)^-2 "
                "and is several percent below 32",
                HwepWarning,
                stacklevel=3,
            )
        if highest >= n_steps / 2:
            raise ConfigError(
                f"backend 'periodic': harmonic {int(harmonics.max())} of the drive "
                f"needs more than {n_steps} points per period (n_steps > "
                f"{int(2 * harmonics.max())}); raise n_steps in [backend]"
            )
        self._sampled_cache = (drive, time_drive)
        return time_drive

    def _injection(self, drive, injection):
        """Phasor injections become force samples Re Σ_h e_h e^{iω_h t}."""
        if injection is None or isinstance(drive, TimeDrive):
            return injection
        times = self._sampled(drive).times
        phases = np.exp(1j * drive.omega[:, None] * times[None, :])
        injection = np.broadcast_to(
            injection, (drive.n_samples, drive.n_harmonics, injection.shape[-1])
        )
        return np.real(np.einsum("sho,ht->sto", injection, phases))

    def _outputs(self, drive, time_drive, Q):
        """Output trajectories, or their DFT phasors at a phasor drive's harmonics."""
        x = Q[:, :, self.system.output_nodes]
        if isinstance(drive, TimeDrive):
            return x
        phases = np.exp(-1j * drive.omega[:, None] * time_drive.times[None, :])
        return 2.0 / time_drive.n_times * np.einsum("sto,ht->sho", x, phases)


class BoundaryBackend(_StationaryBackend):
    """Fixed initial and final states on the discrete action.

    The drive's ``initial`` and ``final`` coordinates (zero when absent) are held for
    every phase.

    Parameters
    ----------
    network : Network
        Any network.
    tolerance, max_iterations, continuation_steps
        As for ``PeriodicBackend``.
    """

    name = "boundary"
    periodic = False

    def __init__(
        self,
        network: Network,
        *,
        tolerance: float = 1e-12,
        max_iterations: int = 50,
        continuation_steps: int = 0,
    ):
        super().__init__(network)
        self.options = _check_options(
            tolerance=tolerance,
            max_iterations=max_iterations,
            continuation_steps=continuation_steps,
        )

    def _make_solver(self, drive):
        return BoundarySolver(self.system, drive.n_steps, drive.horizon, **self.options)

    def _ends(self, drive, i):
        return {
            "initial": None if drive.initial is None else drive.initial[i],
            "final": None if drive.final is None else drive.final[i],
        }


class EchoBackend(_TrajectoryBackend):
    """Initial-value runs of lossless networks, nudged under the echo condition.

    The free phase runs forward from the drive's ``initial`` coordinates and
    ``initial_momentum`` (rest at zero when absent). A nudged phase runs backward from
    the free phase's final state (q_N, p_N) with the nudge in its kicks — the same as
    reversing the momenta and running forward with the time-reversed nudge — so that EP
    is exact (THEORY §7).

    Parameters
    ----------
    network : Network
        Lossless, with a capacitor (mass) path to ground at every node.
    nudged_from : {"final", "initial"}
        ``"final"``: the echo condition. ``"initial"``: nudge forward from the initial
        state, which leaves the symplectic boundary term of THEORY §7 and gives a wrong
        gradient; kept only as a negative control.
    """

    name = "echo"
    periodic = False

    def __init__(self, network: Network, *, nudged_from: str = "final"):
        if nudged_from not in ("final", "initial"):
            raise ConfigError(
                f"echo backend: nudged_from {nudged_from!r} is unknown; use 'final' "
                "(the echo condition) or 'initial' (negative control)"
            )
        super().__init__(network)
        self.nudged_from = nudged_from
        self.options = {"nudged_from": nudged_from}
        VerletSolver(self.system, 2, 1.0)  # fail early on loss or missing capacitance

    def _make_solver(self, drive):
        return VerletSolver(self.system, drive.n_steps, drive.horizon)

    def _start(self, drive, i):
        return {
            "initial": None if drive.initial is None else drive.initial[i],
            "momentum": (
                None if drive.initial_momentum is None else drive.initial_momentum[i]
            ),
        }

    def _solve_free(self, drive, F):
        solver = self._solver(drive)
        solutions = []
        for i in range(drive.n_samples):
            Q, p_final = solver.forward(F[i], **self._start(drive, i))
            residual = solver.residual(Q, F[i])
            solutions.append(Solution(Q, residual, 1, final_momentum=p_final))
        return solutions

    def _nudged(self, drive, F, nudge, i, free, beta, cost, original):
        solver = self._solver(drive)
        F = F + nudge
        live = None if beta == 0.0 else self._pointwise_nudge(drive, i, beta, cost)
        if self.nudged_from == "final":
            Q, _ = solver.backward(
                F, final=free.Q[-1], momentum=free.final_momentum, nudge=live
            )
        else:
            Q, _ = solver.forward(F, nudge=live, **self._start(drive, i))
        if live is not None:
            F = F + np.array([live(j, Q[j]) for j in range(drive.n_times)])
        return Solution(Q, solver.residual(Q, F), 1)

    def _pointwise_nudge(self, drive, i, beta, cost):
        """−β W_j (x_j − y*_j) at the outputs, evaluated as the run reaches point j."""
        weight = getattr(cost, "nudge_weight", lambda d: None)(drive)
        if weight is None:
            raise ConfigError(
                "a closed-loop nudge on the echo backend needs a flux (displacement) "
                "trajectory cost, whose error is local in time; use the frozen nudge"
            )
        out, target = self.system.output_nodes, cost.target

        def nudge(j, q):
            force = np.zeros(q.shape, dtype=np.result_type(q, float))
            force[out] = -beta * weight[i, j] * (q[out] - target[i, j])
            return force

        return nudge


def dissipation_bias(backend, drive, cost: Cost, **ep_options) -> dict:
    """Measure plain EP's bias from loss against the exact discrete adjoint.

    With resistors or dampers the discrete equations have a Rayleigh term and are not
    the stationarity conditions of an action, so EP does not give the gradient of the
    discrete cost (THEORY §8). This runs both and reports the difference.

    Parameters
    ----------
    backend : PeriodicBackend or BoundaryBackend
        The backend and its current values.
    drive, cost
        The batch.
    **ep_options
        Passed to ``hwep.ep.ep_gradient`` (estimator, nudge, beta, nudge_ratio).

    Returns
    -------
    dict
        ``ep`` and ``adjoint`` gradients (n_params,); ``bias`` their difference;
        ``relative_bias`` ‖bias‖ / ‖adjoint‖ over the parameters EP measures;
        ``cosine`` between the two; ``quality_factors`` Q_n of the small-signal modes;
        ``lossless`` whether the network has no loss.
    """
    from .ep import ep_gradient

    exact = backend.adjoint_gradient(drive, cost).grad
    estimate = ep_gradient(backend, drive, cost, mode="ep", **ep_options).grad
    measured = np.isfinite(estimate)
    bias = np.where(measured, estimate - exact, np.nan)
    norm = np.linalg.norm(exact[measured])
    _, quality = backend.system.modal_quality()
    cos = float(
        estimate[measured]
        @ exact[measured]
        / max(np.linalg.norm(estimate[measured]) * norm, 1e-300)
    )
    return {
        "ep": estimate,
        "adjoint": exact,
        "bias": bias,
        "relative_bias": float(np.linalg.norm(bias[measured]) / max(norm, 1e-300)),
        "cosine": cos,
        "quality_factors": quality,
        "lossless": not backend.system.has_loss,
    }


def _response_norm(solver, solution, outputs, iterations: int = 30) -> float:
    """‖P J⁻¹ diag(a) Pᵀ‖₂ at a free solution, by power iteration on its LU."""
    stationary, action = solver.stationary, solver.action
    lu = solution.factorization
    if lu is None:
        from .solvers._newton import _factorize

        lu = _factorize(stationary.jacobian(solution.Q))
    n, n_times = action.n_nodes, action.n_times
    index = (np.arange(n_times)[:, None] * n + outputs[None, :]).ravel()
    weights = np.repeat(action.weights, len(outputs))
    rows = np.searchsorted(stationary._col_index, index)
    inside = np.isin(index, stationary._col_index)
    size = lu.lu.shape[0]

    # G v: forces a·v at the outputs, one solve, outputs read back (and Gᵀ likewise).
    def apply(v, trans):
        b = np.zeros(size)
        b[rows[inside]] = (weights * v if trans == "N" else v)[inside]
        x = lu.solve(b, trans=trans)
        out = np.zeros(index.size)
        out[inside] = x[rows[inside]]
        return out if trans == "N" else weights * out

    v = np.random.default_rng(0).normal(size=index.size)
    sigma = 0.0
    for _ in range(iterations):
        v = apply(apply(v, "N"), "T")
        norm = np.linalg.norm(v)
        if norm == 0.0:
            return 0.0
        previous, sigma = sigma, np.sqrt(norm)
        v = v / norm
        if abs(sigma - previous) <= 1e-3 * sigma:
            break
    return float(sigma)


def _check_options(**options) -> dict:
    """Validate the solver options of a trajectory backend's [backend] table."""
    checks = {
        "n_steps": lambda v: isinstance(v, int) and v >= 4,
        "tolerance": lambda v: isinstance(v, (int, float)) and 0 < v < 1,
        "max_iterations": lambda v: isinstance(v, int) and v >= 1,
        "continuation_steps": lambda v: isinstance(v, int) and v >= 0,
    }
    rules = {
        "n_steps": "an integer >= 4",
        "tolerance": "a number in (0, 1)",
        "max_iterations": "an integer >= 1",
        "continuation_steps": "an integer >= 0",
    }
    for key, value in options.items():
        if isinstance(value, bool) or not checks[key](value):
            raise ConfigError(
                f"config [backend] {key} = {value!r} must be {rules[key]}"
            )
    return options


_CYCLE_POINTS = 64

register_backend("periodic", PeriodicBackend)
register_backend("boundary", BoundaryBackend)
register_backend("echo", EchoBackend)
