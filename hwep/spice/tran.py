r"""The ``.tran`` time grid: common period, settling time, and period averages.

A phase in the time domain is driven from rest until its start-up transient has
decayed, and measured over the last whole period T of the drive. The transient of a
linear circuit is a sum of free oscillations e^{λt}; the slowest decays at

    rate = min_λ (σ − Re λ),      (K + λD + λ²M) v = 0,                         (1)

with σ the uniform loss of the netlist. The transient starts as large as the largest
node response (the steady state minus rest), while an output far from the inputs may
respond orders of magnitude less; with ρ = max |X_node| / |X_out| from the
small-signal response to each input (worst output, input and harmonic),
``periods="auto"`` runs

    t = ln(ρ / tol) / rate,                                                     (2)

rounded up to whole periods: the transient at the outputs is then below ``tol`` of
their own steady amplitude. Quality factor Q at the lowest drive frequency ω means
σ = ω / (2Q).

ngspice returns its own time points: uniform (step h) with fixed steps, except the
first ones and a short final step; non-uniform with its truncation-error control. A
period average ⟨f⟩ = (1/T) ∫ f dt over [t_e − T, t_e] is taken as the exact integral of
the piecewise-linear interpolant of the samples (``period_weights``),

    ∫_a^b f dt ≈ Σ_k w_k f(t_k),                                                (3)

which is the trapezoid rule on the points inside and linear interpolation at a
boundary that falls inside a step. Its error is O(h²) on any grid. The window ends at
the last point (or the one before a final step shorter than half a step), so on a
uniform grid both ends are grid points and eq. (3) is the trapezoid rule over one
whole period: exact for trigonometric polynomials of degree below T/h, that is
spectrally accurate for the periodic steady state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import scipy.linalg as sla

from ..errors import ConfigError
from ..network import Network
from ..system import System

__all__ = [
    "TranSettings",
    "drive_period",
    "decay_rate",
    "tran_settings",
    "quality_sigma",
    "output_ratio",
    "period_window",
    "period_weights",
]

DEFAULT_POINTS_PER_PERIOD = 64
DEFAULT_SETTLE_TOLERANCE = 1e-3
MAX_PERIODS = 200_000
_HARMONIC_DENOMINATOR = 1000
_EIGEN_LIMIT = 1500


@dataclass(frozen=True)
class TranSettings:
    """Time grid of a ``.tran`` phase.

    Attributes
    ----------
    period : float
        T, s: the common period of every drive harmonic.
    harmonics : numpy.ndarray of int
        ω_h T / 2π for each harmonic, (n_harmonics,).
    periods : int
        Periods simulated from rest; the last whole one is measured.
    points_per_period : int
        Steps per period of the highest drive harmonic: h = T / (points_per_period
        × max(harmonics)).
    fixed_step : bool
        Whether ngspice's truncation-error control is off (every step h).
    sigma_added : float
        Uniform decay rate σ in 1/s added as loss (``quality``), 0 when none.
    decay_rate : float
        Slowest decay rate of the lossy circuit's free oscillations, 1/s.
    """

    period: float
    harmonics: np.ndarray
    periods: int
    points_per_period: int
    fixed_step: bool = True
    sigma_added: float = 0.0
    decay_rate: float = float("nan")

    @property
    def step(self) -> float:
        """h = T / steps_per_period, s."""
        return self.period / self.steps_per_period

    @property
    def steps_per_period(self) -> int:
        """Steps per common period T: points_per_period × the highest harmonic."""
        return self.points_per_period * int(np.max(self.harmonics))

    @property
    def stop(self) -> float:
        """Simulated time, s."""
        return self.periods * self.period


def drive_period(omega: np.ndarray) -> tuple[float, np.ndarray]:
    """Common period T of the drive harmonics and their integer multiples of 1/T.

    Parameters
    ----------
    omega : numpy.ndarray
        ω_h in rad/s, (n_harmonics,).

    Returns
    -------
    period : float
        T in s.
    harmonics : numpy.ndarray of int
        ω_h T / 2π, (n_harmonics,).

    Raises
    ------
    ConfigError
        When the frequencies have no common period with small integer ratios.
    """
    omega = np.atleast_1d(np.asarray(omega, dtype=float))
    lowest = float(omega.min())
    ratios = [
        Fraction(float(w / lowest)).limit_denominator(_HARMONIC_DENOMINATOR)
        for w in omega
    ]
    for w, ratio in zip(omega, ratios, strict=True):
        if abs(float(ratio) - w / lowest) > 1e-9 * w / lowest:
            hz = omega / (2 * math.pi)
            shown = ", ".join(f"{f:.6g}" for f in hz[:4]) + (
                f", ... ({hz.size} in all)" if hz.size > 4 else ""
            )
            raise ConfigError(
                f"drive frequencies {shown} Hz have no common period (their ratios "
                f"are not fractions with denominators up to {_HARMONIC_DENOMINATOR}); "
                ".tran measures over one whole period: use analysis='ac'"
            )
    denominator = math.lcm(*(r.denominator for r in ratios))
    fundamental = lowest / denominator
    harmonics = np.array([int(r * denominator) for r in ratios])
    return 2 * math.pi / fundamental, harmonics


def decay_rate(
    network: Network, sigma: float = 0.0, *, ignore_static: bool = False
) -> tuple[float, float]:
    """Slowest decay rate of the free oscillations, with a uniform loss σ.

    Solves (K + λD + λ²M) v = 0 by linearization; uniform loss shifts every λ by −σ.

    Parameters
    ----------
    network : Network
        Linearized at zero (nonlinear kinds enter by their small-signal coefficient).
    sigma : float
        Uniform decay rate σ in 1/s.
    ignore_static : bool
        Leave out λ = 0 (the DC offset of nodes without a DC path).

    Returns
    -------
    rate : float
        min over the finite eigenvalues of σ − Re λ, 1/s (0 for an undamped mode;
        inf when there is nothing to decay).
    frequency : float
        |Im λ| / 2π of that mode, Hz.
    """
    system = System(network)
    n = system.n_nodes
    if n > _EIGEN_LIMIT:
        raise ConfigError(
            f"network {network.name!r} has {n} nodes; the settling time is estimated "
            f"only up to {_EIGEN_LIMIT}: set periods explicitly"
        )
    M, D, K = (m.toarray() for m in (system.M, system.D, system.K))
    A = np.block([[np.zeros((n, n)), np.eye(n)], [-K, -D]])
    B = np.block([[np.eye(n), np.zeros((n, n))], [np.zeros((n, n)), M]])
    eigenvalues = sla.eig(A, B, right=False)
    finite = eigenvalues[np.isfinite(eigenvalues)]
    scale = max(float(np.max(np.abs(finite))), 1e-300) if finite.size else 1.0
    if ignore_static:
        finite = finite[np.abs(finite) > 1e-9 * scale]
    if finite.size == 0:
        return (sigma if sigma > 0 else float("inf")), 0.0

    # Round-off leaves |Re λ| ~ 1e-16 |λ| on undamped modes: treat that as zero.
    decay = -finite.real
    decay[np.abs(decay) < 1e-10 * scale] = 0.0
    rates = sigma + decay
    k = int(np.argmin(rates))
    return max(float(rates[k]), 0.0), float(abs(finite[k].imag) / (2 * math.pi))


def tran_settings(
    network: Network,
    omega: np.ndarray,
    *,
    sigma: float = 0.0,
    periods: int | str = "auto",
    points_per_period: int = DEFAULT_POINTS_PER_PERIOD,
    settle_tolerance: float = DEFAULT_SETTLE_TOLERANCE,
    quality: float | None = None,
    fixed_step: bool = True,
    convergence_aid: bool = False,
) -> TranSettings:
    """The ``.tran`` grid of a network and drive: period, steps, and settling time.

    ``periods="auto"`` runs until the slowest free oscillation of the lossy circuit
    has decayed at the outputs to ``settle_tolerance`` of their steady amplitude:
    t = ln(ρ/tol) / rate (eq. 2).

    Parameters
    ----------
    network : Network
    omega : numpy.ndarray
        Drive harmonics ω_h, rad/s, (n_harmonics,).
    sigma : float
        The drive's own uniform decay rate σ, 1/s.
    periods : int or "auto"
        Periods from rest.
    points_per_period : int
        Steps per period of the highest harmonic, >= 8.
    settle_tolerance : float
        Remaining start-up transient at the outputs, relative to their steady
        amplitude, in (0, 1).
    quality : float, optional
        Add uniform loss with quality factor Q at the lowest drive frequency,
        σ = ω_min / (2Q).
    fixed_step : bool
        Switch off ngspice's truncation-error control.
    convergence_aid : bool
        Floating nodes get leak resistors (their decay is then the slowest other one).

    Returns
    -------
    TranSettings

    Raises
    ------
    ConfigError
        For bad options, an undamped mode (a lossless network needs ``quality``), or
        a settling time above ``MAX_PERIODS`` periods.
    """
    period, harmonics = drive_period(omega)
    if int(points_per_period) < 8:
        raise ConfigError(f"points_per_period must be >= 8, got {points_per_period!r}")
    if not 0 < settle_tolerance < 1:
        raise ConfigError(
            f"settle_tolerance must be in (0, 1), got {settle_tolerance!r}"
        )
    added = quality_sigma(omega, quality)
    explicit = periods != "auto"
    if explicit and (isinstance(periods, bool) or int(periods) < 2):
        raise ConfigError(f"periods must be an integer >= 2 or 'auto', got {periods!r}")

    # The slowest free oscillation decays as e^(−rate t) (eq. 1). Floating nodes
    # with a convergence aid leak at the slowest rate of the others.
    total = sigma + added
    floating = total == 0 and bool(network.dc_floating_nodes())
    try:
        rate, frequency = decay_rate(
            network, total, ignore_static=floating and convergence_aid
        )
    except ConfigError:
        if not explicit:
            raise
        rate, frequency = float("nan"), float("nan")
    if explicit:
        return TranSettings(
            period,
            harmonics,
            int(periods),
            int(points_per_period),
            fixed_step,
            added,
            rate,
        )

    # Settling, eq. (2): ln(ρ/tol) / rate, in whole periods.
    if rate == 0:
        raise ConfigError(
            f"network {network.name!r} has an undamped mode near {frequency:.6g} Hz: "
            "from rest, .tran never reaches the periodic steady state; set quality "
            "(uniform loss, e.g. 1000) or add resistors (dampers)"
        )
    if not np.isfinite(rate):
        rate = float(np.min(omega))
    ratio = output_ratio(network, omega, sigma=total)
    count = math.ceil(math.log(ratio / settle_tolerance) / (rate * period)) + 1
    if count > MAX_PERIODS:
        raise ConfigError(
            f"network {network.name!r} settles at {rate:.3g} 1/s: .tran would need "
            f"{count} periods (limit {MAX_PERIODS}); lower the quality factor, raise "
            "settle_tolerance, or set periods"
        )
    return TranSettings(
        period,
        harmonics,
        max(count, 2),
        int(points_per_period),
        fixed_step,
        added,
        rate,
    )


def output_ratio(network: Network, omega: np.ndarray, *, sigma: float = 0.0) -> float:
    """ρ = max |X_node| / |X_out| of eq. (2), >= 1 (1 without outputs or inputs).

    From the small-signal response A(σ + iω_h)⁻¹ to a unit drive at each input: for
    every input and harmonic, the largest node response over the smallest output
    response; the worst case over inputs and harmonics.
    """
    system = System(network)
    if system.output_nodes.size == 0 or system.input_nodes.size == 0:
        return 1.0
    if system.n_nodes > _EIGEN_LIMIT:
        raise ConfigError(
            f"network {network.name!r} has {system.n_nodes} nodes; the settling time "
            f"is estimated only up to {_EIGEN_LIMIT}: set periods explicitly"
        )
    worst = 1.0
    for w in np.atleast_1d(omega):
        A = system.dynamic_matrix(complex(sigma, w)).toarray()
        B = np.zeros((system.n_nodes, system.input_nodes.size), dtype=complex)
        B[system.input_nodes, np.arange(system.input_nodes.size)] = 1.0
        X = np.abs(np.linalg.solve(A, B))
        smallest = X[system.output_nodes].min(axis=0)
        largest = X.max(axis=0)
        with np.errstate(divide="ignore"):
            ratios = np.where(smallest > 0, largest / smallest, 1.0)
        worst = max(worst, float(ratios.max()))
    return min(worst, 1e12)


def quality_sigma(omega: np.ndarray, quality: float | None) -> float:
    """σ = ω_min / (2Q) in 1/s for an added quality factor Q, else 0."""
    if quality is None:
        return 0.0
    if not quality > 0:
        raise ConfigError(f"quality must be positive, got {quality!r}")
    return float(np.min(omega)) / (2.0 * float(quality))


def period_window(t: np.ndarray, period: float) -> tuple[float, float]:
    """(t_e − T, t_e): the last whole period on ngspice's time points.

    t_e is the last point, or the one before it when the final step is shorter than
    half the step before it (ngspice ends exactly at tstop with a short step).

    Raises
    ------
    ConfigError
        When the points do not cover a whole period.
    """
    t = np.asarray(t, dtype=float)
    end = t[-1]
    if t.size >= 3 and (t[-1] - t[-2]) < 0.5 * (t[-2] - t[-3]):
        end = t[-2]
    if end - period < t[0] - 1e-9 * period:
        raise ConfigError(
            f"the simulation returned {t.size} points over {t[-1] - t[0]:.6g} s, "
            f"less than one period ({period:.6g} s)"
        )
    return max(end - period, float(t[0])), float(end)


def period_weights(t: np.ndarray, start: float, end: float) -> np.ndarray:
    """Weights w with ∫_start^end f dt = Σ_k w_k f(t_k) for piecewise-linear f (eq. 2).

    Parameters
    ----------
    t : numpy.ndarray
        Increasing time points in s, (n_times,).
    start, end : float
        Integration window in s, inside [t_0, t_last].

    Returns
    -------
    numpy.ndarray
        Weights in s, (n_times,); they sum to end − start.
    """
    t = np.asarray(t, dtype=float)
    left, right = t[:-1], t[1:]
    step = right - left
    lo = np.clip(start, left, right)
    hi = np.clip(end, left, right)

    # On each step the interpolant is f_k (1 − u) + f_{k+1} u, u = (t − t_k) / Δ.
    with np.errstate(invalid="ignore", divide="ignore"):
        u_lo = np.where(step > 0, (lo - left) / step, 0.0)
        u_hi = np.where(step > 0, (hi - left) / step, 0.0)
    second = 0.5 * step * (u_hi**2 - u_lo**2)
    first = (hi - lo) - second
    weights = np.zeros_like(t)
    np.add.at(weights, np.arange(t.size - 1), first)
    np.add.at(weights, np.arange(1, t.size), second)
    return weights
