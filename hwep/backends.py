r"""Backends run one phase of a network and return what a chip would measure.

A phase is one steady-state run for a batch of input samples: free, or nudged. The
nudge is a current (force) at the output nodes, either

- closed loop: −β e(X) with the live error of a cost (eq. 2 of ``hwep.costs``), or
- open loop: a given ``injection`` phasor, such as the free phase's recorded error
  scaled by −β (a frozen nudge), or the time-reversed error of the ``reciprocal`` mode.

The Measurement holds, per sample, the time average of every trainable parameter's
conjugate variable ∂L/∂θ, the output flux phasors and, when asked for, every element's
branch phasor. For a linear network with harmonics at s_h the time averages are

    ⟨∂L/∂θ⟩ = −¼ Σ_h Re[r(s_h)] (∂c/∂θ) |U_h|²,                              (1)

with U_h the element's branch phasor, c its linear coefficient and r(s) = 1, s, s² for
potential, Rayleigh and kinetic elements. For s = iω: ¼ ∂C/∂θ |V|² for capacitors,
−¼ ∂(1/L)/∂θ |Φ|² for inductors, and zero for resistors (no conjugate variable: NaN).
"""

from __future__ import annotations

import importlib
import inspect
import time
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from .config import Setting
from .costs import Cost
from .errors import ConfigError, ConvergenceError, HwepError
from .network import Network
from .solvers.phasor import PhasorSolver
from .system import System

__all__ = ["Drive", "Measurement", "Backend", "PhasorBackend", "make_backend"]


@dataclass(frozen=True)
class Drive:
    """Input currents (forces) of a batch: harmonics with complex amplitudes per input.

    Attributes
    ----------
    omega : numpy.ndarray
        Angular frequencies ω_h in rad/s, (n_harmonics,), > 0, distinct.
    amplitude : numpy.ndarray
        Complex amplitudes in A (N), (n_samples, n_harmonics, n_inputs); the drive of
        input j is Re[amplitude e^{iω t}].
    sigma : float
        Uniform decay rate σ in 1/s: the network is evaluated at s = σ + iω. σ > 0 is
        the response with series R = σL on every inductor and shunt G = σC on every
        capacitor (uniform loss); 0 for a physical periodic drive.

    Examples
    --------
    One sample, one tone at 1 kHz, 1 mA on the first input:

    >>> d = Drive.tone(1e3, [[1e-3]])
    >>> d.n_samples, d.n_harmonics, round(float(d.omega[0]), 3)
    (1, 1, 6283.185)
    """

    omega: np.ndarray
    amplitude: np.ndarray
    sigma: float = 0.0

    def __post_init__(self):
        omega = np.atleast_1d(np.asarray(self.omega, dtype=float))
        amplitude = np.asarray(self.amplitude, dtype=complex)
        if amplitude.ndim == 2:
            amplitude = amplitude[:, None, :]
        if amplitude.ndim != 3 or amplitude.shape[1] != omega.size:
            raise ConfigError(
                "drive amplitude must be (n_samples, "
                f"n_harmonics={omega.size}, n_inputs), "
                f"got shape {amplitude.shape}"
            )
        if not np.all(np.isfinite(omega)) or np.any(omega <= 0):
            raise ConfigError(
                f"drive frequencies must be positive and finite, got {omega}"
            )
        if len(set(omega.tolist())) != omega.size:
            raise ConfigError(f"drive frequencies must be distinct, got {omega}")
        if not np.all(np.isfinite(amplitude)):
            raise ConfigError("drive amplitudes must be finite")
        object.__setattr__(self, "omega", omega)
        object.__setattr__(self, "amplitude", amplitude)

    @classmethod
    def tone(cls, frequency: float, amplitudes, *, sigma: float = 0.0) -> Drive:
        """One harmonic at ``frequency`` Hz; ``amplitudes`` is (n_samples, n_inputs)."""
        amplitudes = np.asarray(amplitudes, dtype=complex)
        return cls(
            np.array([2 * np.pi * float(frequency)]), amplitudes[:, None, :], sigma
        )

    @property
    def s(self) -> np.ndarray:
        """Complex frequencies σ + iω_h, (n_harmonics,)."""
        return self.sigma + 1j * self.omega

    @property
    def n_samples(self) -> int:
        return self.amplitude.shape[0]

    @property
    def n_harmonics(self) -> int:
        return self.omega.size

    def subset(self, indices) -> Drive:
        """The drive of some samples."""
        return Drive(self.omega, self.amplitude[indices], self.sigma)

    def zeros(self) -> Drive:
        """The same frequencies with every amplitude zero."""
        return Drive(self.omega, np.zeros_like(self.amplitude), self.sigma)


@dataclass
class Measurement:
    """What one phase measured.

    Attributes
    ----------
    conjugates : numpy.ndarray
        ⟨∂L/∂θ⟩ per sample and trainable parameter, (n_samples, n_params), in the
        parameter's conjugate unit (J/F for a capacitor); NaN where none exists.
    outputs : numpy.ndarray
        Output flux (displacement) phasors, (n_samples, n_harmonics, n_outputs).
    branches : numpy.ndarray or None
        Branch coordinate phasors of every element, (n_samples, n_harmonics,
        n_elements), when requested.
    backend : str
        Which backend measured.
    status : str
        ``"ok"``, or a short reason when the result is degraded.
    residual : float
        Relative residual of the solve.
    iterations : int
        Iterations of a closed-loop or nonlinear solve (1 for a direct solve).
    wall_time : float
        Seconds.
    """

    conjugates: np.ndarray
    outputs: np.ndarray
    branches: np.ndarray | None = None
    backend: str = ""
    status: str = "ok"
    residual: float = 0.0
    iterations: int = 1
    wall_time: float = 0.0
    extra: dict = field(default_factory=dict)


@runtime_checkable
class Backend(Protocol):
    """Runs phases of one network; see the module docstring."""

    name: str
    network: Network

    def set_values(self, values: np.ndarray) -> None:
        """Set the trainable parameters (SI units, (n_params,))."""

    def run(
        self,
        drive: Drive,
        *,
        beta: float = 0.0,
        cost: Cost | None = None,
        injection: np.ndarray | None = None,
        record_branches: bool = False,
    ) -> Measurement:
        """Run one phase; ``injection`` is (n_samples, n_harmonics, n_outputs)."""


class PhasorBackend:
    """Native exact backend for linear networks in periodic steady state.

    One sparse LU per drive frequency and parameter set, shared by every phase and
    sample (``PhasorSolver``). Closed-loop nudges on quadratic costs are exact
    (Woodbury); other costs are iterated to a fixed point.

    Parameters
    ----------
    network : Network
        A linear network.
    tolerance : float
        Relative tolerance of closed-loop fixed-point iterations.
    max_iterations : int
        Limit of those iterations.
    """

    name = "phasor"

    def __init__(
        self, network: Network, *, tolerance: float = 1e-12, max_iterations: int = 200
    ):
        where = "config [backend]"
        tolerance = Setting("float", low=0, high=1, open_low=True).read(
            tolerance, f"{where} tolerance"
        )
        max_iterations = Setting("int", low=1).read(
            max_iterations, f"{where} max_iterations"
        )
        self.network = network
        self.system = System(network)
        self.tolerance = tolerance
        self.max_iterations = max_iterations
        self._solver: PhasorSolver | None = None
        self._compliance: tuple | None = None
        self._derivatives = self.system.parameter_derivatives()

    def set_values(self, values: np.ndarray) -> None:
        self.system = self.system.with_values(values)
        self.network = self.system.network
        self._derivatives = self.system.parameter_derivatives()
        self._solver = None

    def solver(self, s: np.ndarray) -> PhasorSolver:
        """The factorizations at ``s`` for the current values (cached)."""
        s = np.asarray(s, dtype=complex)
        if self._solver is None or not np.array_equal(self._solver.s, s):
            self._solver = PhasorSolver(self.system, s)
        return self._solver

    def output_compliance(self, drive: Drive, *, tolerance: float = 0.1) -> np.ndarray:
        """G_h = P A(s_h)⁻¹ Pᵀ, (n_harmonics, n_outputs, n_outputs), Wb/A (m/N).

        Used to size β, which needs only its order of magnitude: a value computed
        for parameters that all lie within a relative ``tolerance`` of the current ones
        is reused, which saves n_outputs solves in most training steps. ``reset_cache``
        forgets it (the trainer does so at every epoch, so that a resumed run sizes β
        exactly as an uninterrupted one).
        """
        s = np.asarray(drive.s)
        values = self.network.values()
        cached = self._compliance
        if (
            cached is not None
            and np.array_equal(cached[0], s)
            and np.all(np.abs(values - cached[1]) <= tolerance * np.abs(cached[1]))
        ):
            return cached[2]
        compliance = self.solver(s).output_compliance()
        self._compliance = (s.copy(), values, compliance)
        return compliance

    def reset_cache(self) -> None:
        """Forget the cached output compliance."""
        self._compliance = None

    def run(
        self,
        drive: Drive,
        *,
        beta: float = 0.0,
        cost: Cost | None = None,
        injection: np.ndarray | None = None,
        record_branches: bool = False,
    ) -> Measurement:
        start = time.perf_counter()
        solver = self.solver(drive.s)
        rhs = self._rhs(drive, injection)

        # Free or open-loop phase: one solve. Closed loop: exact or iterated.
        iterations = 1
        if beta != 0.0:
            if cost is None:
                raise ConfigError("a closed-loop nudge (beta != 0) needs a cost")
            x, iterations = self._closed_loop(solver, rhs, drive, beta, cost)
        else:
            x = solver.solve(rhs)

        branches = self.system.branch_values(x)
        residual = self._residual(solver, x, rhs, beta)
        return Measurement(
            conjugates=self.conjugates(branches, drive.s),
            outputs=x[:, :, self.system.output_nodes],
            branches=branches if record_branches else None,
            backend=self.name,
            residual=residual,
            iterations=iterations,
            wall_time=time.perf_counter() - start,
        )

    def conjugates(self, branches: np.ndarray, s: np.ndarray) -> np.ndarray:
        """Time-averaged ⟨∂L/∂θ⟩ from branch phasors (eq. 1), (n_samples, n_params)."""
        elements, roles, dcoef = self._derivatives
        if elements.size == 0:
            return np.zeros((branches.shape[0], 0))
        power = np.abs(branches[:, :, elements]) ** 2
        factor = np.real(self.system.parameter_factors(s))
        values = -0.25 * np.sum(factor[None] * power, axis=1) * dcoef[None, :]
        return np.where((roles == "rayleigh")[None, :], np.nan, values)

    # -- private ----------------------------------------------------------------

    def _rhs(self, drive: Drive, injection: np.ndarray | None) -> np.ndarray:
        """Node currents: drive at the inputs plus any injection at the outputs."""
        if drive.amplitude.shape[2] != len(self.system.input_nodes):
            raise ConfigError(
                f"drive has {drive.amplitude.shape[2]} inputs but network "
                f"{self.network.name!r} has {len(self.system.input_nodes)} input ports"
            )
        return self.system.node_currents(drive.amplitude, injection)

    def _closed_loop(self, solver, rhs, drive, beta, cost):
        """Solve A X = rhs − β e(X_out): Woodbury when e is linear, else iterate."""
        quadratic = cost.quadratic_weight(drive)
        if quadratic is not None:
            W, target = quadratic
            pull = self.system.node_currents(
                outputs=beta * W * target, batch=rhs.shape[:2]
            )
            return solver.solve_nudged(rhs + pull, beta * W), 1

        # Fixed point X ← A⁻¹ (rhs − β e(X_out)), converging for small β.
        x = solver.solve(rhs)
        out = self.system.output_nodes
        for iteration in range(1, self.max_iterations + 1):
            nudge = -beta * cost.error(x[:, :, out], drive)
            x_new = solver.solve(
                rhs + self.system.node_currents(outputs=nudge, batch=rhs.shape[:2])
            )
            change = np.linalg.norm(x_new - x) / max(np.linalg.norm(x_new), 1e-300)
            x = x_new
            if change < self.tolerance:
                return x, iteration
        raise ConvergenceError(
            f"closed-loop nudge did not converge in {self.max_iterations} iterations "
            f"(relative change {change:.2e} at beta={beta:g}); use a smaller beta or "
            "the frozen nudge",
            residual=change,
            iterations=self.max_iterations,
        )

    def _residual(self, solver, x, rhs, beta) -> float:
        """‖A X − rhs‖ / ‖rhs‖ of the free or open-loop equation (NaN when nudged)."""
        if beta != 0.0:
            return float("nan")
        worst = 0.0
        for h, A in enumerate(solver.matrices):
            r = A @ x[:, h, :].T - rhs[:, h, :].T
            scale = max(np.linalg.norm(rhs[:, h, :]), 1e-300)
            worst = max(worst, float(np.linalg.norm(r) / scale))
        return worst


def make_backend(name: str, network: Network, **options) -> Backend:
    """Build a backend by name: ``"phasor"`` here; others register on import.

    Raises
    ------
    ConfigError
        When the name is unknown, or an option is not one the backend takes.
    """
    if name not in _REGISTRY and name in _PROVIDERS:
        importlib.import_module(_PROVIDERS[name], __package__)  # registers it
    if name not in _REGISTRY:
        valid = ", ".join(sorted(set(_REGISTRY) | set(_PROVIDERS)))
        raise ConfigError(f"backend {name!r} is unknown; available: {valid}")
    factory = _REGISTRY[name]
    accepted = [
        p.name
        for p in inspect.signature(factory).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ConfigError(
            f"config [backend]: unknown key(s) {unknown} for backend {name!r}; "
            f"valid: {sorted(accepted)}"
        )
    try:
        return factory(network, **options)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, HwepError):
            raise
        reason = " ".join(str(exc).split())
        raise ConfigError(f"config [backend] of {name!r}: {reason}") from None


_REGISTRY: dict[str, type] = {"phasor": PhasorBackend}
_PROVIDERS = {  # modules that register a backend on import
    "ngspice": ".spice",
    "periodic": ".trajectory",
    "boundary": ".trajectory",
    "echo": ".trajectory",
}


def register_backend(name: str, factory) -> None:
    """Make a backend available to ``make_backend`` and the configs."""
    _REGISTRY[name] = factory
