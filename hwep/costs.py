r"""Costs on the output phasors, and the nudge each one asks for.

A cost J maps the output phasors of one sample to a real number. Outputs are observed
as flux (displacement) Y = X or voltage (velocity) Y = s X at each harmonic's complex
frequency s. The time-averaged quadratic cost of a periodic signal is

    J = ⟨½ Σ_o w_o (y_o − y*_o)²⟩ = ¼ Σ_h Σ_o w_o |Y_ho − Y*_ho|².               (1)

The nudged Lagrangian L − βJ is stationary where A X = F − β e, with the error current

    e = 4 ∂J/∂X̄_out,                                                        (2)

(Wirtinger derivative, flux units: A/Wb times Wb² per unit cost), injected at the
output nodes with the sign −β. For eq. (1) with a flux output e = W (X − X*): the
current of an inductor 1/(βw) to a source that follows the target. A voltage output at
one frequency is the same with weight w|s|² and target Y*/s.

Costs may own digital parameters, trained by ordinary gradient descent off the chip
(a readout amplifier's gain).
"""

from __future__ import annotations

import numpy as np

from .errors import ConfigError

__all__ = [
    "Cost",
    "QuadraticCost",
    "AmplitudeCost",
    "CrossEntropyCost",
    "observable_factor",
]

_OBSERVABLES = {
    "flux": "flux",
    "displacement": "flux",
    "voltage": "voltage",
    "velocity": "voltage",
}


def observable_factor(observable: str, s: np.ndarray) -> np.ndarray:
    """dY/dX per harmonic: 1 for flux (displacement), s for voltage (velocity)."""
    s = np.asarray(s, dtype=complex)
    return s if _canonical(observable) == "voltage" else np.ones_like(s)


class Cost:
    """Base class: a per-sample cost of the output phasors.

    Subclasses implement ``value_y`` and ``grad_y`` in terms of the observable Y; this
    class converts to the flux domain in which the nudge is injected. Methods take the
    batch's ``Drive`` (its complex frequencies ``drive.s`` convert flux to voltage).

    Parameters
    ----------
    observable : {"flux", "voltage", "displacement", "velocity"}
        What the outputs measure.
    """

    n_digital = 0
    digital_names: tuple[str, ...] = ()

    def __init__(self, observable: str = "flux"):
        self.observable = _canonical(observable)

    def observe(self, x_out: np.ndarray, drive) -> np.ndarray:
        """Y from output flux phasors X, (n_samples, n_harmonics, n_outputs)."""
        return x_out * observable_factor(self.observable, drive.s)[None, :, None]

    def value(self, x_out: np.ndarray, drive) -> np.ndarray:
        """J per sample, (n_samples,)."""
        return self.value_y(self.observe(x_out, drive))

    def error(self, x_out: np.ndarray, drive) -> np.ndarray:
        """Error current e = 4 ∂J/∂X̄ (eq. 2), (n_samples, n_harmonics, n_outputs)."""
        factor = np.conj(observable_factor(self.observable, drive.s))[None, :, None]
        return 4.0 * factor * self.grad_y(self.observe(x_out, drive))

    def curvature(self, x_out: np.ndarray, drive) -> np.ndarray | None:
        """Diagonal scale of ∂e/∂X in the flux domain, (n_samples, n_harmonics, n_out).

        Used to size β: a closed-loop nudge has loop gain β‖diag(curvature) G‖, with G
        the outputs' compliance. None when the cost cannot say.
        """
        return None

    def quadratic_weight(self, drive) -> tuple[np.ndarray, np.ndarray] | None:
        """(W, X*) in the flux domain when J is eq. (1), else None.

        W is (n_samples, n_harmonics, n_outputs) real, X* the flux target, same shape.
        A closed-loop nudge on such a cost is exact through the Woodbury identity.
        """
        return None

    def digital_values(self) -> np.ndarray:
        """Values of the cost's digital parameters, (n_digital,)."""
        return np.zeros(0)

    def with_digital(self, values: np.ndarray) -> Cost:
        """A copy with new digital parameter values."""
        return self

    def digital_grad(self, x_out: np.ndarray, drive) -> np.ndarray:
        """∂J/∂(digital parameters) per sample, (n_samples, n_digital)."""
        return np.zeros((x_out.shape[0], 0))

    def subset(self, indices: np.ndarray) -> Cost:
        """The cost of a subset of the samples."""
        raise NotImplementedError

    def value_y(self, y: np.ndarray) -> np.ndarray:
        """J per sample from the observable, (n_samples,)."""
        raise NotImplementedError

    def grad_y(self, y: np.ndarray) -> np.ndarray:
        """∂J/∂Ȳ, (n_samples, n_harmonics, n_outputs)."""
        raise NotImplementedError


class QuadraticCost(Cost):
    """J = ¼ Σ_h Σ_o w_o |Y_ho − Y*_ho|², the time average of ½ w (y − y*)² (eq. 1).

    Parameters
    ----------
    target : array_like of complex
        Y*, (n_samples, n_harmonics, n_outputs), in Wb, V, m or m/s.
    weight : array_like of float, optional
        w, broadcastable to the target's shape; default 1.
    observable : str
        See ``Cost``.
    """

    def __init__(self, target, weight=1.0, observable: str = "flux"):
        super().__init__(observable)
        self.target, self.weight = _target_and_weight(
            target, weight, complex, "quadratic"
        )

    def value_y(self, y):
        return 0.25 * np.sum(self.weight * np.abs(y - self.target) ** 2, axis=(1, 2))

    def grad_y(self, y):
        return 0.25 * self.weight * (y - self.target)

    def curvature(self, x_out, drive):
        return self.quadratic_weight(drive)[0]

    def quadratic_weight(self, drive):
        factor = observable_factor(self.observable, drive.s)[None, :, None]
        return self.weight * np.abs(factor) ** 2, self.target / factor

    def subset(self, indices):
        return QuadraticCost(
            self.target[indices], self.weight[indices], observable=self.observable
        )


class AmplitudeCost(Cost):
    """J = ½ Σ_h Σ_o w_o (|Y_ho| − a_ho)²: target amplitudes, phases free.

    What a vibration or level specification asks for. Not differentiable where an
    output vanishes; there the error current is taken as zero.

    Parameters
    ----------
    amplitude : array_like of float
        Target amplitudes a ≥ 0, (n_samples, n_harmonics, n_outputs), in the
        observable's unit.
    weight : array_like of float, optional
        w, broadcastable to the target's shape; default 1.
    observable : str
        See ``Cost``.
    """

    def __init__(self, amplitude, weight=1.0, observable: str = "flux"):
        super().__init__(observable)
        self.amplitude, self.weight = _target_and_weight(
            amplitude, weight, float, "amplitude"
        )

    def value_y(self, y):
        return 0.5 * np.sum(
            self.weight * (np.abs(y) - self.amplitude) ** 2, axis=(1, 2)
        )

    def curvature(self, x_out, drive):
        factor = observable_factor(self.observable, drive.s)[None, :, None]
        return 2.0 * self.weight * np.abs(factor) ** 2

    def grad_y(self, y):
        magnitude = np.abs(y)
        unit = np.divide(y, magnitude, out=np.zeros_like(y), where=magnitude > 0)
        return 0.5 * self.weight * (magnitude - self.amplitude) * unit

    def subset(self, indices):
        return AmplitudeCost(
            self.amplitude[indices], self.weight[indices], observable=self.observable
        )


class CrossEntropyCost(Cost):
    """Softmax cross-entropy of the in-phase output amplitudes, with a readout gain.

    A lock-in amplifier reads each output's in-phase amplitude a_o = Re(Y_o e^{−iψ}) at
    harmonic ``harmonic``; an off-chip amplifier of gain g turns it into the logit
    z_o = g a_o / a_ref. The cost is J = −log softmax(z)_label. The gain g is a digital
    parameter; a_ref (same unit as Y) fixes its scale so that g is dimensionless.

    Parameters
    ----------
    labels : array_like of int
        Class of each sample, (n_samples,), in [0, n_outputs).
    gain : float
        Readout gain g, dimensionless.
    reference : float
        a_ref, in the observable's unit; > 0.
    observable : str
        See ``Cost``.
    harmonic : int
        Which harmonic is read.
    phase : float
        Lock-in reference phase ψ, rad.
    """

    n_digital = 1
    digital_names = ("readout_gain",)

    def __init__(
        self,
        labels,
        *,
        gain: float = 1.0,
        reference: float = 1.0,
        observable: str = "flux",
        harmonic: int = 0,
        phase: float = 0.0,
    ):
        super().__init__(observable)
        self.labels = np.asarray(labels, dtype=int)
        if not reference > 0:
            raise ConfigError(f"readout reference must be positive, got {reference!r}")
        self.gain = float(gain)
        self.reference = float(reference)
        self.harmonic = int(harmonic)
        self.phase = float(phase)

    def logits(self, y: np.ndarray) -> np.ndarray:
        """z = g Re(Y e^{−iψ}) / a_ref at the read harmonic, (n_samples, n_outputs)."""
        amplitude = np.real(y[:, self.harmonic, :] * np.exp(-1j * self.phase))
        return self.gain * amplitude / self.reference

    def probabilities(self, y: np.ndarray) -> np.ndarray:
        """softmax(z), (n_samples, n_outputs)."""
        z = self.logits(y)
        z = z - z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)

    def value_y(self, y):
        z = self.logits(y)
        z_max = z.max(axis=1)
        log_norm = z_max + np.log(np.exp(z - z_max[:, None]).sum(axis=1))
        return log_norm - z[np.arange(len(z)), self.labels]

    def grad_y(self, y):
        residual = self.probabilities(y)
        residual[np.arange(len(residual)), self.labels] -= 1.0
        grad = np.zeros(y.shape, dtype=complex)
        # ∂J/∂Ȳ = ½ ∂J/∂a · e^{iψ}, since a = (Y e^{−iψ} + Ȳ e^{iψ}) / 2.
        grad[:, self.harmonic, :] = (
            0.5 * residual * self.gain / self.reference * np.exp(1j * self.phase)
        )
        return grad

    def curvature(self, x_out, drive):
        p = self.probabilities(self.observe(x_out, drive))
        factor = np.abs(observable_factor(self.observable, drive.s))
        scale = (self.gain / self.reference) ** 2 * factor[self.harmonic] ** 2
        curvature = np.zeros(x_out.shape)
        curvature[:, self.harmonic, :] = scale * p * (1.0 - p)
        return curvature

    def digital_values(self):
        return np.array([self.gain])

    def with_digital(self, values):
        return CrossEntropyCost(
            self.labels,
            gain=float(values[0]),
            reference=self.reference,
            observable=self.observable,
            harmonic=self.harmonic,
            phase=self.phase,
        )

    def digital_grad(self, x_out, drive):
        y = self.observe(x_out, drive)
        residual = self.probabilities(y)
        residual[np.arange(len(residual)), self.labels] -= 1.0
        amplitude = np.real(y[:, self.harmonic, :] * np.exp(-1j * self.phase))
        return np.sum(residual * amplitude / self.reference, axis=1, keepdims=True)

    def subset(self, indices):
        return CrossEntropyCost(
            self.labels[indices],
            gain=self.gain,
            reference=self.reference,
            observable=self.observable,
            harmonic=self.harmonic,
            phase=self.phase,
        )


def _target_and_weight(target, weight, dtype, what: str):
    """A (n_samples, n_harmonics, n_outputs) target and its broadcast weight."""
    target = np.asarray(target, dtype=dtype)
    if target.ndim != 3:
        raise ConfigError(
            f"{what} cost target must be (n_samples, n_harmonics, n_outputs), "
            f"got shape {target.shape}"
        )
    return target, np.broadcast_to(np.asarray(weight, dtype=float), target.shape)


def _canonical(observable: str) -> str:
    """Map displacement/velocity to flux/voltage; reject anything else."""
    try:
        return _OBSERVABLES[str(observable).lower()]
    except KeyError:
        valid = ", ".join(_OBSERVABLES)
        raise ConfigError(
            f"output observable {observable!r} is unknown; use {valid}"
        ) from None
