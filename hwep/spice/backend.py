r"""The ngspice backend: free and nudged phases simulated by ngspice.

Each phase of a batch compiles one netlist per sample (``hwep.spice.netlist``), runs it
with ngspice (``hwep.spice.runner``) and measures what a chip's sensors would:

- ``analysis="ac"`` (linear networks): one ``.ac`` run per sample and drive harmonic.
  The node fluxes are X = V / s with s = σ + iω the drive's complex frequency; the
  branch phasor of an inductor (spring) is U = I / c from its measured current, that
  of every other element U = V_b / s from its branch voltage. The conjugates are
  eq. (1) of ``hwep.backends`` on these branch phasors, exactly as the native
  ``PhasorBackend`` computes them.
- ``analysis="tran"``: one ``.tran`` run per sample, from rest until the start-up
  transient has decayed (``hwep.spice.tran``), with the network's own loss plus the
  drive's σ and any ``quality`` loss. Over the last whole period,

      ⟨∂L/∂θ⟩ = (1/T) ∫ sign · ∂E/∂θ(u(t)) dt,                                   (1)

  with u the branch voltage of a kinetic element (capacitor: +½ V²; mass: +½ v²) and
  the branch flux L·I of a potential one (inductor w.r.t. L: +½ I²; spring w.r.t. k:
  −½ Δx²), integrated by ``period_weights`` on ngspice's own time points. Outputs are
  the Fourier coefficients (2/T) ∫ v e^{−iω_h t} dt of the output voltages divided by
  s_h. With σ > 0 the measured ⟨½ V²⟩ of a capacitor is ¼ |s|² |U|², while the
  native eq. (1) continues it as ¼ Re(−s²) |U|²: they differ by O(σ²/ω²); inductors
  agree exactly.

Nudges: an ``injection`` (the frozen nudge, or the reciprocal mode's time-reversed
error) is always a current source into the outputs, its phasors (``.ac``) or SIN
waveforms (``.tran``) computed from the measured free-phase outputs. A closed-loop
nudge (``beta`` and ``cost``) is built as ``nudge_element`` says:

- ``"source"``: the same current source, recomputed from the measured outputs and
  rerun until the outputs change by less than ``tolerance`` (the loop settling);
- ``"coupling"``: a coupling element from each output to a target voltage source,
  for quadratic costs: an inductor 1/(βW) (a capacitor −βW/ω² for β < 0 in ``.ac``,
  passive at one frequency) for a flux cost, a capacitor −βw for a voltage cost in
  ``.tran`` (THEORY §3); negative values are active elements.

In ``.tran`` the start-up transient of a phase is measured with it. Injected sources
leave the circuit unchanged, so the transients of the free and nudged phases are the
same and cancel in the EP difference (superposition, to round-off). A coupling
element changes the circuit: its modes shift by about β̂, the transients dephase over
the run, and the remnant must itself be far below β̂: hence the tighter default
``settle_tolerance`` with ``"coupling"`` (about 2.7 times the periods).

Samples of a batch run in ``workers`` worker processes, one ngspice per process,
kept in a pool for the backend's life; ``close()`` (or leaving a ``with`` block) ends
them. Workers are started by ``spawn``, so a script that uses them must guard its
entry point with ``if __name__ == "__main__":``.

Options (the config's ``[backend]`` table, ``name = "ngspice"``):

    analysis           "auto" (default: "ac" for a linear network, else "tran"),
                       "ac" or "tran"
    mode               "auto" (default), "shared" (libngspice in-process) or
                       "subprocess" (ngspice -b)
    workers            worker processes for the samples of a batch; 1 (default) runs
                       in this process
    nudge_element      "source" (default) or "coupling": how a closed-loop nudge is
                       built
    periods            .tran: periods from rest, or "auto" (default) from the decay
                       rate of the slowest free oscillation
    points_per_period  .tran: fixed steps per period; default 64
    settle_tolerance   .tran: start-up transient left at the outputs when the last
                       period is measured, relative to their steady amplitude;
                       default 1e-3, 1e-8 with nudge_element "coupling" (see below)
    quality            add uniform loss of quality factor Q at the lowest drive
                       frequency (a lossless network needs it in .tran); default none
    fixed_step         .tran: switch off ngspice's truncation-error control so every
                       phase runs on the same grid; default true
    convergence_aid    add a leak resistor per node without a DC path and a small
                       series resistor per inductor in a loop, where the analysis
                       needs them; reported in the netlist header, a HwepWarning and
                       Measurement.extra; default false
    operating_point    let ngspice compute the DC operating point before .ac; default
                       false (.options noopac)
    timeout            seconds per ngspice run; default none
    tolerance          relative change that ends a "source" closed loop; default 1e-10
    max_iterations     limit of those iterations; default 100
    workdir            folder for the netlists of failing runs; default a temporary one
"""

from __future__ import annotations

import multiprocessing
import time
import warnings
import weakref
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import numpy as np

from ..backends import Drive, Measurement
from ..costs import Cost
from ..errors import (
    ConfigError,
    ConvergenceError,
    HwepWarning,
    SimulatorError,
    SimulatorMissingError,
)
from ..network import Network
from ..solvers.phasor import PhasorSolver
from ..system import System, role_factor
from .export import compile_netlist
from .netlist import Coupling, Netlist, prepare_netlist
from .runner import MODES, ngspice_available, run_netlist
from .tran import (
    DEFAULT_POINTS_PER_PERIOD,
    DEFAULT_SETTLE_TOLERANCE,
    TranSettings,
    period_weights,
    period_window,
)

__all__ = ["NgspiceBackend", "NUDGE_ELEMENTS"]

NUDGE_ELEMENTS = ("source", "coupling")
COUPLING_SETTLE_TOLERANCE = 1e-8


class NgspiceBackend:
    """Runs EP phases of a network in ngspice; see the module docstring.

    Parameters
    ----------
    network : Network
        The network; linear for ``analysis="ac"``.
    analysis, mode, workers, nudge_element, periods, points_per_period,
    settle_tolerance, quality, fixed_step, convergence_aid, operating_point, timeout,
    tolerance, max_iterations, workdir
        Options, as in the module docstring.

    Raises
    ------
    ConfigError
        For an unknown or out-of-range option.
    SimulatorMissingError
        When ngspice cannot run in ``mode``; the message says what to install.

    Examples
    --------
    An LC tank (L = 10 mH, C = 100 µF) driven by 1 A at ω = 50 rad/s moves with flux
    1 / (1/L − ω² C) = 0.010025 Wb, in ngspice as in the native solver:

    >>> import networkx as nx                                    # doctest: +SKIP
    >>> G = nx.MultiGraph(ground=0, inputs=[1], outputs=[1])
    >>> _ = G.add_edge(1, 0, kind="inductor", value=0.01)
    >>> _ = G.add_edge(1, 0, kind="capacitor", value=1e-4)
    >>> with NgspiceBackend(Network(G)) as backend:
    ...     m = backend.run(Drive(np.array([50.0]), np.ones((1, 1, 1))))
    >>> round(float(m.outputs[0, 0, 0].real), 6)
    0.010025
    """

    name = "ngspice"

    def __init__(
        self,
        network: Network,
        *,
        analysis: str = "auto",
        mode: str = "auto",
        workers: int = 1,
        nudge_element: str = "source",
        periods: int | str = "auto",
        points_per_period: int = DEFAULT_POINTS_PER_PERIOD,
        settle_tolerance: float | None = None,
        quality: float | None = None,
        fixed_step: bool = True,
        convergence_aid: bool = False,
        operating_point: bool = False,
        timeout: float | None = None,
        tolerance: float = 1e-10,
        max_iterations: int = 100,
        workdir: str | None = None,
    ):
        _choice("analysis", analysis, ("auto", "ac", "tran"))
        if analysis == "auto":
            analysis = "ac" if network.is_linear else "tran"
        _choice("mode", mode, MODES)
        _choice("nudge_element", nudge_element, NUDGE_ELEMENTS)
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ConfigError(
                f"[backend] workers must be an integer >= 1, got {workers!r}"
            )
        if not tolerance > 0 or int(max_iterations) < 1:
            raise ConfigError("[backend] needs tolerance > 0 and max_iterations >= 1")
        available, reason = ngspice_available(mode)
        if not available:
            raise SimulatorMissingError(f"the ngspice backend cannot run: {reason}")

        self.network = network
        self.system = System(network)
        self.analysis = analysis
        self.mode = mode
        self.workers = workers
        self.nudge_element = nudge_element
        self.timeout = timeout
        self.tolerance = float(tolerance)
        self.max_iterations = int(max_iterations)
        self.workdir = workdir
        if settle_tolerance is None:
            coupled = nudge_element == "coupling" and analysis == "tran"
            settle_tolerance = COUPLING_SETTLE_TOLERANCE if coupled else None
        self.options = {
            "quality": quality,
            "periods": periods,
            "points_per_period": int(points_per_period),
            "settle_tolerance": float(settle_tolerance or DEFAULT_SETTLE_TOLERANCE),
            "fixed_step": bool(fixed_step),
            "convergence_aid": bool(convergence_aid),
            "operating_point": bool(operating_point),
        }
        self._compiled: dict = {}
        self._reported: set[str] = set()
        self._pool: ProcessPoolExecutor | None = None
        self._finalizer = None

    # -- the Backend protocol ----------------------------------------------------------

    def set_values(self, values: np.ndarray) -> None:
        """Set the trainable parameters (SI units, (n_params,))."""
        self.system = self.system.with_values(values)
        self.network = self.system.network
        self._compiled = {}

    def output_compliance(self, drive: Drive) -> np.ndarray:
        """G_h = P A(s_h)⁻¹ Pᵀ natively, (n_harmonics, n_outputs, n_outputs), Wb/A.

        Sizes β exactly as for the native backend (``hwep.ep``); nonlinear elements
        enter by their small-signal coefficient.
        """
        if self.system.is_linear:
            return PhasorSolver(self.system, drive.s).output_compliance()
        out = self.system.output_nodes
        compliance = []
        for s in drive.s:
            A = self.system.dynamic_matrix(s).toarray()
            P = np.zeros((self.system.n_nodes, out.size), dtype=complex)
            P[out, np.arange(out.size)] = 1.0
            compliance.append(np.linalg.solve(A, P)[out])
        return np.array(compliance)

    def run(
        self,
        drive: Drive,
        *,
        beta: float = 0.0,
        cost: Cost | None = None,
        injection: np.ndarray | None = None,
        record_branches: bool = False,
    ) -> Measurement:
        """Run one phase for every sample of ``drive``.

        Parameters
        ----------
        drive : Drive
            Harmonic drive of the batch.
        beta : float
            Closed-loop nudge strength (needs ``cost``); 0 for a free or open-loop
            phase.
        cost : Cost, optional
            Cost whose error the closed loop injects.
        injection : numpy.ndarray, optional
            Open-loop nudge currents into the outputs in A (N), (n_samples,
            n_harmonics, n_outputs).
        record_branches : bool
            Also return every element's branch flux phasors.

        Returns
        -------
        Measurement
            ``extra`` holds the analysis, the ngspice runs and seconds, and what the
            convergence aid or ``quality`` added.

        Raises
        ------
        SimulatorError
            When ngspice fails; the message names the phase and the sample.
        ConvergenceError
            When a ``"source"`` closed loop does not settle.
        """
        start = time.perf_counter()
        self._check_drive(drive)
        netlist, settings = self._compile(drive)
        phase = "free" if beta == 0 and injection is None else "nudged"
        if injection is not None:
            injection = np.broadcast_to(
                np.asarray(injection, dtype=complex),
                (drive.n_samples, drive.n_harmonics, len(self.network.outputs)),
            )

        # Open loop: one round. Closed loop: a coupling element, or iterated sources.
        iterations, spice = 1, {"runs": 0, "seconds": 0.0}
        if beta != 0.0:
            if cost is None:
                raise ConfigError("a closed-loop nudge (beta != 0) needs a cost")
            if self.nudge_element == "coupling":
                couplings = self._couplings(drive, beta, cost, netlist)
                data = self._round(
                    netlist, settings, drive, injection, couplings, spice
                )
            else:
                data, iterations = self._settle(
                    netlist, settings, drive, beta, cost, injection, spice
                )
        else:
            data = self._round(netlist, settings, drive, injection, None, spice, phase)
        outputs, branches, conjugates = data

        extra = {
            "analysis": self.analysis,
            "mode": self.mode,
            "workers": self.workers,
            "spice_runs": spice["runs"],
            "spice_seconds": spice["seconds"],
            "nudge_element": self.nudge_element if beta != 0 else "source",
            "convergence_aid": list(netlist.aid),
            "sigma": netlist.sigma,
        }
        if settings is not None:
            extra.update(
                periods=settings.periods,
                points_per_period=settings.points_per_period,
                sigma_added=settings.sigma_added,
                decay_rate=settings.decay_rate,
            )
        return Measurement(
            conjugates=conjugates,
            outputs=outputs,
            branches=branches if record_branches else None,
            backend=self.name,
            residual=self._residual(drive, outputs, injection, beta, netlist),
            iterations=iterations,
            wall_time=time.perf_counter() - start,
            extra=extra,
        )

    # -- netlists ----------------------------------------------------------------------

    def netlist(
        self,
        drive: Drive,
        *,
        sample: int = 0,
        harmonic: int = 0,
        injection: np.ndarray | None = None,
        standalone: bool = False,
        source: str | None = None,
    ) -> str:
        """The netlist text of one run: ``sample`` at ``harmonic`` (``.ac``).

        Parameters
        ----------
        drive : Drive
        sample, harmonic : int
            Which run.
        injection : numpy.ndarray, optional
            Nudge currents, (n_samples, n_harmonics, n_outputs).
        standalone : bool
            Add ``.print`` / ``.four`` cards for ``ngspice -b``.
        source : str, optional
            Origin for the header.
        """
        self._check_drive(drive)
        return compile_netlist(
            self.network,
            drive,
            sample=sample,
            harmonic=harmonic,
            injection=injection,
            analysis=self.analysis,
            standalone=standalone,
            source=source,
            **self.options,
        )

    # -- worker processes --------------------------------------------------------------

    def close(self) -> None:
        """End the worker processes (a later run starts them again)."""
        pool, self._pool = self._pool, None
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        if pool is not None:
            _shutdown(pool)

    def __enter__(self) -> NgspiceBackend:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"NgspiceBackend({self.network.name!r}, analysis={self.analysis!r}, "
            f"mode={self.mode!r}, workers={self.workers})"
        )

    # -- private: compiling and running ------------------------------------------------

    def _check_drive(self, drive) -> None:
        """A harmonic Drive whose inputs match the network's."""
        if not isinstance(drive, Drive):
            raise ConfigError(
                f"the ngspice backend takes a harmonic Drive, not "
                f"{type(drive).__name__}; time-domain drives run on the trajectory "
                "backends ('periodic', 'boundary', 'echo')"
            )
        if drive.amplitude.shape[2] != len(self.network.inputs):
            raise ConfigError(
                f"drive has {drive.amplitude.shape[2]} inputs but network "
                f"{self.network.name!r} has {len(self.network.inputs)} input ports"
            )

    def _compile(self, drive: Drive):
        """The Netlist and ``.tran`` grid for the drive's frequencies (cached)."""
        key = (float(drive.sigma), drive.omega.tobytes())
        if key not in self._compiled:
            netlist, settings = prepare_netlist(
                self.network, drive, analysis=self.analysis, **self.options
            )
            self._compiled[key] = (netlist, settings)
            self._report_aid(netlist)
        return self._compiled[key]

    def _report_aid(self, netlist: Netlist) -> None:
        """Warn once per added element: a convergence aid changes the circuit."""
        new = [line for line in netlist.aid if line not in self._reported]
        if new:
            self._reported.update(new)
            warnings.warn(
                f"ngspice backend: convergence aid added to {self.network.name!r}: "
                + "; ".join(new[:5])
                + (f"; and {len(new) - 5} more" if len(new) > 5 else ""),
                HwepWarning,
                stacklevel=4,
            )

    def _round(self, netlist, settings, drive, injection, couplings, spice, phase=""):
        """One run per sample (and harmonic for ``.ac``); the measured phasors."""
        phase = phase or ("nudged" if injection is not None or couplings else "free")
        jobs, where = [], []
        for i in range(drive.n_samples):
            nudge = None if injection is None else injection[i]
            if self.analysis == "ac":
                for h in range(drive.n_harmonics):
                    coupling = None if couplings is None else couplings[i][h]
                    jobs.append(
                        netlist.ac(
                            drive.amplitude[i, h],
                            float(drive.omega[h]),
                            injection=None if nudge is None else nudge[h],
                            coupling=coupling,
                        )
                    )
                    where.append((i, h))
            else:
                coupling = None if couplings is None else couplings[i]
                jobs.append(
                    netlist.tran(
                        drive.amplitude[i], settings, injection=nudge, coupling=coupling
                    )
                )
                where.append((i, None))
        results = self._execute(jobs, netlist, where, phase, drive)
        spice["runs"] += len(jobs)
        spice["seconds"] += sum(r[-1] for r in results)
        if self.analysis == "ac":
            return self._measure_ac(drive, netlist, results, where)
        return self._measure_tran(drive, netlist, settings, results)

    def _execute(self, jobs, netlist, where, phase, drive) -> list:
        """Run the netlists here or in the pool; raise with the sample named."""
        vectors = _vector_names(netlist)
        settings = (self.mode, self.timeout, self.workdir)
        if self.workers == 1 or len(jobs) == 1:
            outcomes = _simulate(jobs, vectors, settings)
        else:
            outcomes = self._parallel(jobs, vectors, settings, where, phase, drive)
        for k, outcome in enumerate(outcomes):
            if outcome[0] == "error":
                self._raise(outcome, where[k], phase, drive)
        return [outcome[1:] for outcome in outcomes]

    def _parallel(self, jobs, vectors, settings, where, phase, drive) -> list:
        """Split the jobs into one chunk per worker and gather them in order."""
        if self._pool is None:
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=context
            )
            self._finalizer = weakref.finalize(self, _shutdown, self._pool)
        bounds = np.linspace(0, len(jobs), min(self.workers, len(jobs)) + 1).astype(int)
        chunks = [(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]
        try:
            futures = [
                self._pool.submit(_simulate, jobs[a:b], vectors, settings)
                for a, b in chunks
            ]
            return [outcome for future in futures for outcome in future.result()]
        except BrokenProcessPool:
            self.close()
            samples = sorted({w[0] for w in where})
            raise SimulatorError(
                f"an ngspice worker process died during the {phase} phase of samples "
                f"{samples[0]}..{samples[-1]} of {drive.n_samples} (ngspice crashed or "
                "the process was killed); the worker pool is restarted on the next run"
            ) from None

    def _raise(self, outcome, where, phase, drive) -> None:
        """Re-raise a worker's failure with the phase and sample named."""
        _, kind, message, path = outcome
        i, h = where
        at = f"sample {i} of {drive.n_samples}"
        if h is not None:
            at += f", harmonic {h + 1} ({drive.omega[h] / (2 * np.pi):.6g} Hz)"
        text = f"ngspice failed in the {phase} phase, {at}: {message}"
        if kind == "SimulatorMissingError":
            raise SimulatorMissingError(text)
        if kind == "KeyError":
            raise SimulatorError(text)
        error = SimulatorError(text)
        error.netlist_path = path
        raise error

    # -- private: nudges ---------------------------------------------------------------

    def _settle(self, netlist, settings, drive, beta, cost, injection, spice):
        """Closed loop by sources: rerun with −β e(outputs) until the outputs settle."""
        base = injection if injection is not None else 0.0
        data = self._round(netlist, settings, drive, injection, None, spice, "nudged")
        change = float("inf")
        for iteration in range(1, self.max_iterations + 1):
            nudge = base - beta * cost.error(data[0], drive)
            new = self._round(netlist, settings, drive, nudge, None, spice, "nudged")
            scale = max(float(np.linalg.norm(new[0])), 1e-300)
            change = float(np.linalg.norm(new[0] - data[0])) / scale
            data = new
            if change < self.tolerance:
                return data, iteration
        raise ConvergenceError(
            f"closed-loop nudge by sources did not settle in {self.max_iterations} "
            f"ngspice rounds (relative change {change:.2e} at beta={beta:g}); use a "
            "smaller beta, nudge_element='coupling' or the frozen nudge",
            residual=change,
            iterations=self.max_iterations,
        )

    def _couplings(self, drive, beta, cost, netlist) -> list:
        """Coupling elements per sample (and harmonic for ``.ac``), THEORY §3."""
        quadratic = cost.quadratic_weight(drive)
        if quadratic is None:
            raise ConfigError(
                f"nudge_element 'coupling' needs a quadratic cost; "
                f"{type(cost).__name__} is not: use nudge_element='source'"
            )
        W, target = (np.asarray(a) for a in quadratic)
        W = np.broadcast_to(W, target.shape)
        s = drive.s
        if self.analysis == "ac":
            return [
                [
                    _ac_coupling(beta * W[i, h], target[i, h], s[h], netlist.sigma)
                    for h in range(drive.n_harmonics)
                ]
                for i in range(drive.n_samples)
            ]
        return [
            _tran_coupling(beta, W[i], target[i], s, cost.observable)
            for i in range(drive.n_samples)
        ]

    # -- private: measurement ----------------------------------------------------------

    def _measure_ac(self, drive, netlist, results, where):
        """Outputs, branch phasors and eq. (1) conjugates from ``.ac`` vectors."""
        n, H = drive.n_samples, drive.n_harmonics
        X = np.zeros((n, H, self.system.n_nodes), complex)
        U = np.zeros((n, H, self.system.n_elements), complex)
        current, _ = _reader_elements(netlist)
        coefficients = self.system.coefficients[current]
        for (i, h), (_, V, current_i, _, _) in zip(where, results, strict=True):
            X[i, h] = V[0] / drive.s[h]
            U[i, h] = self.system.E @ X[i, h]
            U[i, h, current] = current_i[0] / coefficients
        conjugates = _phasor_conjugates(self.system, U, drive.s)
        return X[:, :, self.system.output_nodes], U, conjugates

    def _measure_tran(self, drive, netlist, settings: TranSettings, results):
        """Fourier outputs, branch phasors and eq. (1) averages from ``.tran``."""
        n, H = drive.n_samples, drive.n_harmonics
        omega_t = 2 * np.pi * settings.harmonics / settings.period
        outputs = np.zeros((n, H, len(self.network.outputs)), complex)
        U = np.zeros((n, H, self.system.n_elements), complex)
        conjugates = np.zeros((n, len(self.network.parameters)))
        current, flux = _reader_elements(netlist)
        potential = np.zeros(self.system.n_elements, dtype=bool)
        potential[current] = potential[flux] = True
        coefficients = self.system.coefficients[current]
        signs = self.system.conjugate_signs()
        rayleigh = signs == 0
        for i, (t, V, current_i, F, _) in enumerate(results):
            start, end = period_window(t, settings.period)
            w = period_weights(t, start, end)
            scale = w * (2.0 / settings.period)
            basis = np.exp(-1j * np.outer(t, omega_t)) * scale[:, None]

            # Branch variables u(t): voltage (kinetic, Rayleigh) or flux (potential).
            u = (self.system.E @ V.T).T
            u[:, current] = current_i / coefficients
            u[:, flux] = F

            # Eq. (1) and the Fourier coefficients at the drive harmonics.
            grad = self.system.parameter_energy_grad(u)
            conjugates[i] = (w @ grad) / (end - start) * signs
            phasors = basis.T @ u
            U[i] = np.where(potential[None, :], phasors, phasors / drive.s[:, None])
            outputs[i] = (basis.T @ V[:, self.system.output_nodes]) / drive.s[:, None]
        conjugates[:, rayleigh] = np.nan
        return outputs, U, conjugates

    def _residual(self, drive, outputs, injection, beta, netlist) -> float:
        """Native residual of a free ``.ac`` phase's outputs (NaN otherwise).

        ‖P A⁻¹ F − X_out‖ / ‖X_out‖ against the native model: how far ngspice's
        answer is from the native one (0 up to round-off without added loss).
        """
        if self.analysis != "ac" or beta != 0 or injection is not None:
            return float("nan")
        if not self.system.is_linear or netlist.aid:
            return float("nan")
        solver = PhasorSolver(self.system, drive.s)
        rhs = np.zeros(
            (drive.n_samples, drive.n_harmonics, self.system.n_nodes), complex
        )
        rhs[:, :, self.system.input_nodes] = drive.amplitude
        native = solver.solve(rhs)[:, :, self.system.output_nodes]
        scale = max(float(np.linalg.norm(native)), 1e-300)
        return float(np.linalg.norm(native - outputs) / scale)


# -- worker side -----------------------------------------------------------------------


def _simulate(jobs: list[str], vectors, settings) -> list[tuple]:
    """Run netlists in this process; per job ("ok", t, V, I, F, seconds) or an error.

    Module level so that worker processes can run it. V holds the node voltages in
    node order, I the listed device currents, F the listed flux nets, each
    (n_points, n_vectors).
    """
    nets, devices, fluxes = vectors
    mode, timeout, workdir = settings
    outcomes = []
    for text in jobs:
        try:
            result = run_netlist(text, mode=mode, timeout=timeout, workdir=workdir)
            points = max(len(result.axis), 1)
            V = _stack(result.voltages, nets, "net", points)
            currents = _stack(result.currents, devices, "branch current of", points)
            F = _stack(result.voltages, fluxes, "net", points)
        except (SimulatorError, SimulatorMissingError, KeyError) as error:
            message = str(error.args[0]) if error.args else str(error)
            path = getattr(error, "netlist_path", None)
            outcomes.append(("error", type(error).__name__, message, path))
            continue
        outcomes.append(("ok", result.axis, V, currents, F, result.wall_time))
    return outcomes


def _stack(vectors: dict, names: list[str], what: str, points: int) -> np.ndarray:
    """Columns of the named vectors, (n_points, n_names); KeyError naming a gap."""
    missing = [name for name in names if name not in vectors]
    if missing:
        raise KeyError(
            f"ngspice returned no {what} {missing[0]!r}; it returned "
            f"{', '.join(sorted(vectors)) or 'nothing'}"
        )
    if not names:
        return np.zeros((points, 0))
    return np.stack([np.atleast_1d(vectors[name]) for name in names], axis=1)


def _shutdown(pool: ProcessPoolExecutor) -> None:
    """Stop a worker pool and wait for its processes."""
    pool.shutdown(wait=True, cancel_futures=True)


# -- helpers ---------------------------------------------------------------------------


def _vector_names(netlist: Netlist) -> tuple[list[str], list[str], list[str]]:
    """(node nets, inductor devices, flux nets) to read back, in a fixed order."""
    readers = netlist.branch_readers()
    devices = [name for how, name in readers if how == "current"]
    fluxes = [name for how, name in readers if how == "flux"]
    return netlist.node_nets, devices, fluxes


def _reader_elements(netlist: Netlist) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the elements read by their current, and by a flux net."""
    readers = netlist.branch_readers()
    current = [b for b, (how, _) in enumerate(readers) if how == "current"]
    flux = [b for b, (how, _) in enumerate(readers) if how == "flux"]
    return np.array(current, dtype=int), np.array(flux, dtype=int)


def _phasor_conjugates(system: System, U: np.ndarray, s: np.ndarray) -> np.ndarray:
    """⟨∂L/∂θ⟩ = −¼ Σ_h Re[r(s_h)] ∂c/∂θ |U_h|² (``hwep.backends`` eq. 1)."""
    elements, roles, dcoef = system.parameter_derivatives()
    if elements.size == 0:
        return np.zeros((U.shape[0], 0))
    power = np.abs(U[:, :, elements]) ** 2
    factor = np.stack([np.real(role_factor(r, s)) for r in roles], axis=-1)
    values = -0.25 * np.sum(factor[None] * power, axis=1) * dcoef[None, :]
    return np.where((roles == "rayleigh")[None, :], np.nan, values)


def _ac_coupling(bw: np.ndarray, target: np.ndarray, s: complex, sigma: float):
    """Elements carrying −βW (X − X*) at one frequency: L = 1/(βW) or C = −βW/ω².

    The inductor, with the netlist's series loss σL, draws (V − V*)/(L (s_ω + σ)) =
    βW (X − X*) for V* = s X*; without loss and for β < 0 a passive capacitor −βW/ω²
    to V* = iω X* does the same.
    """
    omega = s.imag
    if np.all(bw < 0) and sigma == 0:
        return Coupling("capacitor", -bw / omega**2, (1j * omega * target)[None, :])
    with np.errstate(divide="ignore"):
        value = np.where(bw != 0, 1.0 / bw, np.inf)
    return Coupling("inductor", value, (s * target)[None, :])


def _tran_coupling(beta, W, target, s, observable: str) -> Coupling:
    """Broadband coupling: inductor 1/(βw) (flux cost) or capacitor −βw (voltage).

    One element serves every harmonic only when the cost's weight w is the same for
    all of them. Its initial current (charge) matches the target's value at t = 0, so
    that the coupling starts without an offset (THEORY §3).
    """
    factor = np.abs(s) ** 2 if observable == "voltage" else np.ones(s.shape)
    w = W / factor[:, None]
    if not np.allclose(w, w[:1], rtol=1e-12, atol=0):
        raise ConfigError(
            "a broadband coupling element realizes one cost weight for all harmonics; "
            "this cost's weights differ between harmonics: use nudge_element='source'"
        )
    w = w[0]
    voltage = s[:, None] * target
    if observable == "voltage":
        value = -beta * w
        return Coupling("capacitor", value, voltage, ic=-np.real(voltage.sum(axis=0)))
    with np.errstate(divide="ignore"):
        value = np.where(w != 0, 1.0 / (beta * w), np.inf)
    flux0 = np.real(target.sum(axis=0))
    return Coupling("inductor", value, voltage, ic=-flux0 / value)


def _choice(option: str, value, valid) -> None:
    """ConfigError naming the valid values of an option."""
    if value not in valid:
        raise ConfigError(
            f"[backend] {option} = {value!r} is unknown for the ngspice backend; use "
            f"one of {', '.join(map(repr, valid))}"
        )
