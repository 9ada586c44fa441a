r"""Time-domain drives and costs for the trajectory backends.

A ``TimeDrive`` holds the input currents (forces) of a batch sampled on a uniform grid
of one period (``periodic``: N points, q_N ≡ q_0) or of a horizon (bounded: N + 1
points, ends included), plus the end states that fixed-endpoint and initial-value
problems need. A ``TrajectoryCost`` compares the output trajectories with target
waveforms,

    J = (1/T) Σ_j h b_j ½ Σ_o w_jo (y_jo − y*_jo)²,                           (1)

the time average of c = ½ w (y − y*)² by the grid's quadrature b_j (1 on a periodic
grid, trapezoid ends on a bounded one). The output y is the flux (displacement) at the
grid points, or the voltage (velocity) (x_{j+1} − x_j)/h of the step after each point.

The nudge of the discrete action S_d − β T J is the node force −β e with the error

    e_j = (T / (h a_j)) ∂J/∂x_j,                                              (2)

a_j the action's point weights (``hwep.solvers._action``): e = w (x − y*) for a flux
cost, the current of an inductor 1/(βw) to a source that follows the target. Because
``error`` returns force samples per unit β, ``hwep.ep.ep_gradient``'s frozen nudge
``injection = −β e`` works unchanged; closed-loop nudges use the same error live.

A ``LockInCost`` reads outputs the way a lock-in amplifier does, as their projections
on reference waveforms (the in-phase amplitude of a harmonic, say), and
``LockInClassCost`` classifies by the nearest template of those readings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp

from .costs import Cost
from .errors import ConfigError

__all__ = ["TimeDrive", "TrajectoryCost", "LockInCost", "LockInClassCost"]


class _NoPhasorError(ConfigError, AttributeError):
    """A phasor-only feature was asked of a time-domain drive."""


@dataclass(frozen=True)
class TimeDrive:
    """Input currents (forces) of a batch, sampled on a uniform time grid.

    Attributes
    ----------
    horizon : float
        Period (periodic grid) or horizon (bounded grid) T, s.
    force : numpy.ndarray
        Samples f(t_j) in A (N), (n_samples, n_times, n_inputs); n_times = n_steps on
        a periodic grid, n_steps + 1 on a bounded one.
    periodic : bool
        Which grid.
    initial, final : numpy.ndarray or None
        End coordinates q_0 and q_N in Wb (m), (n_samples, n_nodes), for fixed-endpoint
        and initial-value problems; None means zero.
    initial_momentum : numpy.ndarray or None
        p_0 in C (kg·m/s), (n_samples, n_nodes), for initial-value problems; None means
        zero (rest).

    Examples
    --------
    One 1 A tone at 50 Hz on one input, 64 points per period:

    >>> d = TimeDrive.from_harmonics(0.02, 64, [2 * np.pi * 50], [[[1.0]]])
    >>> d.n_samples, d.n_times, round(float(d.force[0, 16, 0]), 12)
    (1, 64, 0.0)
    """

    horizon: float
    force: np.ndarray
    periodic: bool = True
    initial: np.ndarray | None = None
    final: np.ndarray | None = None
    initial_momentum: np.ndarray | None = None

    def __post_init__(self):
        force = np.asarray(self.force)
        if force.dtype.kind not in "fc":
            force = force.astype(float)
        if force.ndim == 2:
            force = force[None]
        if force.ndim != 3:
            raise ConfigError(
                "time drive force must be (n_samples, n_times, n_inputs), got shape "
                f"{force.shape}"
            )
        if not (np.isfinite(self.horizon) and self.horizon > 0):
            raise ConfigError(
                f"time drive horizon must be positive, got {self.horizon}"
            )
        minimum = 4 if self.periodic else 3
        if force.shape[1] < minimum:
            raise ConfigError(
                f"time drive needs at least {minimum} time points, got {force.shape[1]}"
            )
        if not np.all(np.isfinite(force)):
            raise ConfigError("time drive force samples must be finite")
        object.__setattr__(self, "force", force)
        object.__setattr__(self, "horizon", float(self.horizon))
        for name in ("initial", "final", "initial_momentum"):
            value = getattr(self, name)
            if value is None:
                continue
            value = np.asarray(value)
            value = value.astype(np.result_type(value.dtype, float))
            if value.ndim == 1:
                value = np.broadcast_to(value, (force.shape[0], value.size)).copy()
            if value.ndim != 2 or value.shape[0] != force.shape[0]:
                raise ConfigError(
                    f"time drive {name} must be (n_samples={force.shape[0]}, n_nodes), "
                    f"got shape {value.shape}"
                )
            object.__setattr__(self, name, value)

    # -- constructors ---------------------------------------------------------------

    @classmethod
    def from_harmonics(
        cls,
        horizon: float,
        n_steps: int,
        omega,
        amplitude,
        *,
        offset=None,
        periodic: bool = True,
        **ends,
    ) -> TimeDrive:
        """f(t) = Re Σ_h a_h e^{iω_h t} + offset, sampled on the grid.

        Parameters
        ----------
        horizon : float
            T, s; on a periodic grid every ω_h T / 2π must be an integer.
        n_steps : int
            Steps N of the grid.
        omega : array_like
            Angular frequencies ω_h, rad/s, (n_harmonics,).
        amplitude : array_like of complex
            a_h in A (N), (n_samples, n_harmonics, n_inputs).
        offset : array_like, optional
            DC force per sample and input, (n_samples, n_inputs).
        periodic : bool
            Periodic or bounded grid.
        **ends
            ``initial``, ``final``, ``initial_momentum`` (see the class).

        Raises
        ------
        ConfigError
            For a harmonic that is not periodic over T on a periodic grid.
        """
        omega = np.atleast_1d(np.asarray(omega, dtype=float))
        amplitude = np.asarray(amplitude, dtype=complex)
        if amplitude.ndim != 3 or amplitude.shape[1] != omega.size:
            raise ConfigError(
                f"harmonic amplitudes must be (n_samples, n_harmonics={omega.size}, "
                f"n_inputs), got shape {amplitude.shape}"
            )
        if periodic:
            cycles = omega * horizon / (2 * np.pi)
            bad = np.abs(cycles - np.round(cycles)) > 1e-9 * np.maximum(cycles, 1)
            if np.any(bad):
                raise ConfigError(
                    f"harmonic at {omega[bad][0] / (2 * np.pi):.6g} Hz does not repeat "
                    f"over the period T = {horizon:.6g} s; on a periodic grid every "
                    "frequency must be a multiple of 1/T"
                )
        times = _grid_times(horizon, n_steps, periodic)
        phases = np.exp(1j * omega[:, None] * times[None, :])
        force = np.real(np.einsum("sho,ht->sto", amplitude, phases))
        if offset is not None:
            force = force + np.asarray(offset, dtype=float)[:, None, :]
        return cls(horizon, force, periodic, **ends)

    @classmethod
    def from_drive(cls, drive, n_steps: int) -> TimeDrive:
        """The periodic samples of a phasor ``hwep.backends.Drive``.

        The period is 2π/ω_1 with ω_1 the lowest frequency; every other frequency must
        be a multiple of it.
        """
        if getattr(drive, "sigma", 0.0) != 0.0:
            raise ConfigError(
                "a phasor drive with decay rate sigma != 0 is not periodic; it has no "
                "time-domain samples"
            )
        period = 2 * np.pi / float(np.min(drive.omega))
        return cls.from_harmonics(period, n_steps, drive.omega, drive.amplitude)

    @classmethod
    def from_function(
        cls,
        horizon: float,
        n_steps: int,
        function: Callable[[np.ndarray], np.ndarray],
        *,
        periodic: bool = True,
        **ends,
    ) -> TimeDrive:
        """Samples of ``function(times)`` → (n_samples, n_times, n_inputs) or
        (n_times, n_inputs), on the grid."""
        return cls(
            horizon,
            np.asarray(function(_grid_times(horizon, n_steps, periodic))),
            periodic,
            **ends,
        )

    # -- views ----------------------------------------------------------------------

    @property
    def n_samples(self) -> int:
        return self.force.shape[0]

    @property
    def n_times(self) -> int:
        """Grid points: n_steps (periodic) or n_steps + 1 (bounded)."""
        return self.force.shape[1]

    @property
    def n_inputs(self) -> int:
        return self.force.shape[2]

    @property
    def n_steps(self) -> int:
        """Steps N of the grid."""
        return self.n_times if self.periodic else self.n_times - 1

    @property
    def dt(self) -> float:
        """Time step h = T / N, s."""
        return self.horizon / self.n_steps

    @property
    def times(self) -> np.ndarray:
        """Grid times t_j = j h, s, (n_times,)."""
        return _grid_times(self.horizon, self.n_steps, self.periodic)

    @property
    def amplitude(self) -> np.ndarray:
        """The force samples (the name ``ep_gradient`` sizes β from)."""
        return self.force

    @property
    def s(self):
        """Not defined: a time-domain drive has no complex frequencies."""
        raise _NoPhasorError(
            "a time-domain drive has no complex frequencies: the 'reciprocal' gradient "
            "mode and phasor costs need a phasor Drive; use mode 'ep' or 'adjoint'"
        )

    def subset(self, indices) -> TimeDrive:
        """The drive of some samples."""
        indices = np.asarray(indices, dtype=int)
        ends = {
            name: None if getattr(self, name) is None else getattr(self, name)[indices]
            for name in ("initial", "final", "initial_momentum")
        }
        return TimeDrive(self.horizon, self.force[indices], self.periodic, **ends)

    def zeros(self) -> TimeDrive:
        """The same grid with every force sample zero (end states kept)."""
        return replace(self, force=np.zeros_like(self.force))

    def scaled(self, factor: float) -> TimeDrive:
        """Forces and end states multiplied by ``factor``."""
        ends = {
            name: None if getattr(self, name) is None else getattr(self, name) * factor
            for name in ("initial", "final", "initial_momentum")
        }
        return TimeDrive(self.horizon, self.force * factor, self.periodic, **ends)


class TrajectoryCost(Cost):
    """Eq. (1): the time-averaged squared error of output trajectories.

    Parameters
    ----------
    target : array_like
        y*, (n_samples, n_times, n_outputs), Wb, V, m or m/s.
    weight : array_like, optional
        w ≥ 0, broadcastable to the target's shape (a time window, per output
        weights); default 1.
    observable : {"flux", "voltage", "displacement", "velocity"}
        What y is. Voltage samples sit at the half steps t_j + h/2; on a bounded grid
        the last one does not exist and carries no weight.
    periodic : bool
        The grid the cost is for (it fixes the quadrature of eq. (1)).

    Examples
    --------
    A flux output that sits at 1 Wb against a 0 Wb target costs ½ on average:

    >>> d = TimeDrive(1.0, np.zeros((1, 8, 1)))
    >>> cost = TrajectoryCost(np.zeros((1, 8, 1)))
    >>> float(cost.value(np.ones((1, 8, 1)), d)[0])
    0.5
    """

    def __init__(self, target, weight=1.0, observable: str = "flux", *, periodic=True):
        super().__init__(observable)
        self.target = np.asarray(target, dtype=float)
        if self.target.ndim != 3:
            raise ConfigError(
                "trajectory target must be (n_samples, n_times, n_outputs), got shape "
                f"{self.target.shape}"
            )
        self.weight = np.broadcast_to(
            np.asarray(weight, dtype=float), self.target.shape
        )
        if np.any(self.weight < 0):
            raise ConfigError("trajectory cost weights must be >= 0")
        self.periodic = bool(periodic)

    # -- eq. (1) --------------------------------------------------------------------

    def observe(self, x_out: np.ndarray, drive: TimeDrive) -> np.ndarray:
        """y from output flux trajectories, (n_samples, n_times, n_outputs)."""
        self._check(x_out, drive)
        if self.observable == "flux":
            return x_out
        following = np.roll(x_out, -1, axis=1)
        y = (following - x_out) / drive.dt
        if not drive.periodic:
            y[:, -1] = y[:, -2]
        return y

    def quadrature(self) -> np.ndarray:
        """Weights b_j / N of eq. (1) (they sum to 1), (n_times,)."""
        n_times = self.target.shape[1]
        b = np.ones(n_times)
        if not self.periodic:
            if self.observable == "flux":
                b[[0, -1]] = 0.5
            else:
                b[-1] = 0.0
        return b / b.sum()

    def value(self, x_out: np.ndarray, drive: TimeDrive) -> np.ndarray:
        """J per sample, (n_samples,)."""
        return self.value_y(self.observe(x_out, drive))

    def value_y(self, y: np.ndarray) -> np.ndarray:
        squared = 0.5 * self.weight * (y - self.target) ** 2
        return np.einsum("j,sjo->s", self.quadrature(), squared)

    def error(self, x_out: np.ndarray, drive: TimeDrive) -> np.ndarray:
        """e of eq. (2): nudge force per unit β, (n_samples, n_times, n_outputs)."""
        residual = (
            self.quadrature()[None, :, None]
            * self.weight
            * (self.observe(x_out, drive) - self.target)
        )
        if self.observable == "voltage":
            # ∂/∂x_j of terms in (x_{j+1} − x_j)/h: a difference of neighbours (the
            # last point of a bounded grid has no weight, so the wrap adds nothing).
            residual = (np.roll(residual, 1, axis=1) - residual) / drive.dt
        return residual * drive.n_steps / _point_weights(drive)[None, :, None]

    def hessian(self, drive: TimeDrive, sample: int) -> sp.csr_matrix:
        """∂(a e)/∂x of eq. (2) for one sample, time-major (n_times · n_outputs)².

        The Jacobian of a live (closed-loop) nudge: (T/h) ∂²J/∂x².
        """
        n_times, n_out = self.target.shape[1:]
        w = (self.quadrature()[:, None] * self.weight[sample]).reshape(-1)
        if self.observable == "flux":
            return sp.diags(w * drive.n_steps).tocsr()
        D = _difference(n_times, drive.periodic) / drive.dt
        D = sp.kron(D, sp.eye(n_out)).tocsr()
        return (D.T @ sp.diags(w * drive.n_steps) @ D).tocsr()

    def curvature(self, x_out: np.ndarray, drive: TimeDrive) -> np.ndarray:
        """Largest pointwise ∂e/∂x per sample and output, (n_samples, 1, n_outputs).

        With a trajectory backend's ``output_compliance`` it bounds the loop gain of a
        closed-loop nudge, which ``hwep.ep.ep_gradient`` uses to size β. For a voltage
        cost the difference operator adds its norm (2/h)².
        """
        scale = self.quadrature() * drive.n_steps / _point_weights(drive)
        curvature = np.max(self.weight * scale[None, :, None], axis=1, keepdims=True)
        if self.observable == "voltage":
            curvature = curvature * (2.0 / drive.dt) ** 2
        return curvature

    def nudge_weight(self, drive: TimeDrive) -> np.ndarray | None:
        """W with e = W (x − y*) pointwise, (n_samples, n_times, n_outputs); None for
        voltage costs (their error couples neighbouring points)."""
        if self.observable != "flux":
            return None
        scale = self.quadrature() * drive.n_steps / _point_weights(drive)
        return self.weight * scale[None, :, None]

    def rms_error(self, x_out: np.ndarray, drive: TimeDrive) -> np.ndarray:
        """‖y − y*‖ / ‖y*‖ per sample, in the cost's weighted quadrature, (n_samples,).

        The output error as a fraction of the target's RMS.
        """
        weights = self.quadrature()[None, :, None] * self.weight
        y = self.observe(x_out, drive)
        error = np.sum(weights * (y - self.target) ** 2, axis=(1, 2))
        size = np.sum(weights * self.target**2, axis=(1, 2))
        return np.sqrt(error / np.maximum(size, 1e-300))

    def subset(self, indices) -> TrajectoryCost:
        indices = np.asarray(indices, dtype=int)
        return TrajectoryCost(
            self.target[indices],
            self.weight[indices],
            self.observable,
            periodic=self.periodic,
        )

    # -- private --------------------------------------------------------------------

    def _check(self, x_out: np.ndarray, drive: TimeDrive) -> None:
        """The outputs, target and drive must share one grid."""
        if drive.periodic != self.periodic or x_out.shape[1] != self.target.shape[1]:
            raise ConfigError(
                f"trajectory cost is for a {'periodic' if self.periodic else 'bounded'}"
                f" grid of {self.target.shape[1]} points; got outputs on "
                f"{x_out.shape[1]} points of a "
                f"{'periodic' if drive.periodic else 'bounded'} drive"
            )


class LockInCost(Cost):
    """Squared error of lock-in amplitudes: the outputs projected on references.

    A lock-in amplifier multiplies an output by a reference waveform r_k(t) and
    averages over the grid, z_ko = (1/T) Σ_j h b_j r_k(t_j) y_jo (a reference
    2 cos(nωt) reads the in-phase amplitude of harmonic n). The cost is

        J = ½ Σ_k Σ_o w_ko (z_ko − z*_ko)²,                                     (3)

    and its nudge (eq. 2) is e_j = Σ_k w (z_k − z*_k) r_k(t_j) b_j / a_j: the error
    fed back as a current at the reference's frequency.

    Parameters
    ----------
    reference : array_like
        r_k(t_j), (n_references, n_times), dimensionless.
    levels : array_like
        Target amplitudes z*, (n_samples, n_references, n_outputs), in the
        observable's unit (not a waveform, so the attribute is not ``target``).
    weight : array_like, optional
        w ≥ 0, broadcastable to the target's shape; default 1.
    observable : {"flux", "displacement"}
        What is read (voltage lock-ins are not provided).
    periodic : bool
        The grid the cost is for.

    Examples
    --------
    The in-phase amplitude of cos 2t read by the reference 2 cos 2t:

    >>> d = TimeDrive(np.pi, np.zeros((1, 16, 1)))
    >>> r = 2 * np.cos(2 * d.times)[None]
    >>> cost = LockInCost(r, np.zeros((1, 1, 1)))
    >>> float(cost.amplitudes(np.cos(2 * d.times)[None, :, None])[0, 0, 0])
    1.0
    """

    def __init__(
        self, reference, levels, weight=1.0, observable="flux", *, periodic=True
    ):
        super().__init__(observable)
        if self.observable != "flux":
            raise ConfigError(
                f"lock-in cost reads flux (displacement) outputs, not {observable!r}"
            )
        self.reference = np.atleast_2d(np.asarray(reference, dtype=float))
        self.levels = np.asarray(levels, dtype=float)
        if self.levels.ndim != 3 or self.levels.shape[1] != len(self.reference):
            raise ConfigError(
                "lock-in levels must be (n_samples, n_references="
                f"{len(self.reference)}, n_outputs), got shape {self.levels.shape}"
            )
        self.weight = np.broadcast_to(
            np.asarray(weight, dtype=float), self.levels.shape
        )
        self.periodic = bool(periodic)

    def quadrature(self) -> np.ndarray:
        """Weights b_j / N of the time average (they sum to 1), (n_times,)."""
        b = np.ones(self.reference.shape[1])
        if not self.periodic:
            b[[0, -1]] = 0.5
        return b / b.sum()

    def observe(self, x_out: np.ndarray, drive) -> np.ndarray:
        """y: the output flux trajectories themselves."""
        if x_out.shape[1] != self.reference.shape[1]:
            raise ConfigError(
                f"lock-in references have {self.reference.shape[1]} time points; the "
                f"outputs have {x_out.shape[1]}"
            )
        return x_out

    def amplitudes(self, y: np.ndarray) -> np.ndarray:
        """z of eq. (3), (n_samples, n_references, n_outputs)."""
        return np.einsum("kj,sjo->sko", self.reference * self.quadrature(), y)

    def value_y(self, y: np.ndarray) -> np.ndarray:
        residual = self.amplitudes(y) - self.levels
        return 0.5 * np.sum(self.weight * residual**2, axis=(1, 2))

    def value(self, x_out: np.ndarray, drive) -> np.ndarray:
        return self.value_y(self.observe(x_out, drive))

    def error(self, x_out: np.ndarray, drive) -> np.ndarray:
        """The nudge of eq. (3), (n_samples, n_times, n_outputs)."""
        residual = self.weight * (
            self.amplitudes(self.observe(x_out, drive)) - self.levels
        )
        scale = self.quadrature() * drive.n_steps / _point_weights(drive)
        return np.einsum("kj,sko->sjo", self.reference * scale, residual)

    def hessian(self, drive, sample: int) -> sp.csr_matrix:
        """∂(a e)/∂x for one sample: rank one per reference, (n_times · n_out)²."""
        n_times, n_out = self.reference.shape[1], self.levels.shape[2]
        rows = self.reference * self.quadrature()
        H = np.zeros((n_times * n_out, n_times * n_out))
        for k, row in enumerate(rows):
            for o in range(n_out):
                index = np.arange(n_times) * n_out + o
                block = drive.n_steps * self.weight[sample, k, o] * np.outer(row, row)
                H[np.ix_(index, index)] += block
        return sp.csr_matrix(H)

    def curvature(self, x_out: np.ndarray, drive) -> np.ndarray:
        """‖∂e/∂x‖ per sample and output, (n_samples, 1, n_outputs)."""
        scale = self.quadrature() * drive.n_steps / _point_weights(drive)
        norms = np.linalg.norm(self.reference * scale, axis=1) * np.linalg.norm(
            self.reference * self.quadrature(), axis=1
        )
        return np.sum(self.weight * norms[None, :, None], axis=1, keepdims=True)

    def subset(self, indices) -> LockInCost:
        indices = np.asarray(indices, dtype=int)
        return LockInCost(
            self.reference,
            self.levels[indices],
            self.weight[indices],
            self.observable,
            periodic=self.periodic,
        )


class LockInClassCost(LockInCost):
    """Classification by the nearest class template of lock-in amplitudes.

    Each class has a template z_c (n_references, n_outputs); a sample's target is its
    class's template, trained with eq. (3). The predicted class is the nearest
    template, and ``probabilities`` is the softmax of minus the weighted squared
    distances in units of the templates' mean squared size.

    Parameters
    ----------
    reference : array_like
        r_k(t_j), (n_references, n_times).
    templates : array_like
        z_c, (n_classes, n_references, n_outputs).
    labels : array_like of int
        Class of each sample, (n_samples,).
    weight, observable, periodic
        As for ``LockInCost``.
    """

    def __init__(
        self,
        reference,
        templates,
        labels,
        weight=1.0,
        observable="flux",
        *,
        periodic=True,
    ):
        self.templates = np.asarray(templates, dtype=float)
        self.labels = np.asarray(labels, dtype=int)
        if self.templates.ndim != 3:
            raise ConfigError(
                "class templates must be (n_classes, n_references, n_outputs), got "
                f"shape {self.templates.shape}"
            )
        if self.labels.size and not (
            0 <= self.labels.min() and self.labels.max() < len(self.templates)
        ):
            raise ConfigError(
                f"class labels must lie in [0, {len(self.templates)}), got "
                f"{sorted(set(self.labels.tolist()))}"
            )
        super().__init__(
            reference,
            self.templates[self.labels],
            weight,
            observable,
            periodic=periodic,
        )

    def distances(self, y: np.ndarray) -> np.ndarray:
        """Weighted squared distance to each template, (n_samples, n_classes)."""
        diff = self.amplitudes(y)[:, None] - self.templates[None]
        return np.sum(self.weight[:, None] * diff**2, axis=(2, 3))

    def logits(self, y: np.ndarray) -> np.ndarray:
        """−d / P, P the templates' mean squared size, (n_samples, n_classes)."""
        power = max(float(np.mean(np.sum(self.templates**2, axis=(1, 2)))), 1e-300)
        return -self.distances(y) / power

    def probabilities(self, y: np.ndarray) -> np.ndarray:
        """softmax of ``logits``, (n_samples, n_classes)."""
        z = self.logits(y)
        z = z - z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, x_out: np.ndarray, drive) -> np.ndarray:
        """Nearest template per sample, (n_samples,)."""
        return np.argmin(self.distances(self.observe(x_out, drive)), axis=1)

    def subset(self, indices) -> LockInClassCost:
        indices = np.asarray(indices, dtype=int)
        return LockInClassCost(
            self.reference,
            self.templates,
            self.labels[indices],
            self.weight[indices],
            self.observable,
            periodic=self.periodic,
        )


def _grid_times(horizon: float, n_steps: int, periodic: bool) -> np.ndarray:
    """t_j = j T / N for the grid's points, (n_times,)."""
    n_steps = int(n_steps)
    if n_steps < 2:
        raise ConfigError(f"a time grid needs n_steps >= 2, got {n_steps}")
    count = n_steps if periodic else n_steps + 1
    return np.arange(count) * (float(horizon) / n_steps)


def _point_weights(drive: TimeDrive) -> np.ndarray:
    """The action's point weights a_j: 1, with ½ at a bounded grid's ends."""
    a = np.ones(drive.n_times)
    if not drive.periodic:
        a[[0, -1]] = 0.5
    return a


def _difference(n_times: int, periodic: bool) -> sp.csr_matrix:
    """Forward differences x_{j+1} − x_j, (n_times, n_times); bounded: last row zero."""
    D = sp.diags([-np.ones(n_times), np.ones(n_times - 1)], [0, 1], format="lil")
    if periodic:
        D[n_times - 1, 0] = 1.0
    else:
        D[n_times - 1, :] = 0.0
    return D.tocsr()
