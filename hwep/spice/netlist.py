r"""Compile a Network into an ngspice netlist.

A network becomes a circuit card by card: every graph node a net (ground is ``0``),
every element a device, every element value a ``.param``. The mobility analogy maps
mechanical networks onto the same cards,

    =============  ===========================  ==========================
    hwep           netlist card                 value
    =============  ===========================  ==========================
    capacitor C    ``c_<name> a b {p_<name>}``  C, F
    inductor L     ``l_<name> a b {p_<name>}``  L, H
    resistor R     ``r_<name> a b {p_<name>}``  R, Ω
    mass m         ``c_<name> a 0 {p_<name>}``  C = m numerically
    spring k       ``l_<name> a b {1/p_<name>}``  L = 1/k
    damper c       ``r_<name> a b {1/p_<name>}``  R = 1/c
    =============  ===========================  ==========================

with force ↔ current, velocity ↔ voltage and displacement ↔ flux. Inputs are current
sources from ground into the input net, so a positive drive current enters the node as
in A X = F (``hwep.system``). Nonlinear kinds become behavioural sources (B cards) for
``.tran``: a potential element reads its branch flux from an integrator net
``f_<name>`` (a B source feeding a 1 F capacitor, so v(f) = ∫ v(a, b) dt from rest) and
draws the current dE/dφ. A varactor's charge q(v) is a B voltage on net ``q_<name>``
whose 1 F capacitor draws dq/dt, mirrored into the branch by an F source (ngspice's
``ddt()`` is unstable under trapezoidal steps). Cubes are written as products,
because ngspice evaluates ``x^3`` as |x|³.

Names are lower case from ``[a-z0-9_]``: nets ``n_<node>``, devices ``<letter>_<name>``,
parameters ``p_<name>``, helper nets ``i_``, ``t_`` and ``f_``; a clash gets a ``_2``
suffix. Values are written by ``hwep.units.format_value`` in exponent notation, so no
SPICE suffix can be misread (ngspice reads ``1M`` as milli and ``1F`` as femto). The
order of every card is the network's element order, so a netlist is a deterministic
function of the network and the drive, and diffs cleanly.

Analyses:

- ``.ac`` at one drive harmonic, for linear networks. ``.options noopac`` skips the DC
  operating point, which a linear AC response does not depend on; lattices full of
  inductor loops and nodes reached only through capacitors are then fine.
- ``.tran`` from rest (``uic``) for ``periods`` drive periods, with
  ``points_per_period`` fixed steps per period of the highest harmonic (ngspice's
  truncation-error control is switched off by a huge ``trtol``, so that every phase
  runs on the same grid); only the last period is saved.

A uniform decay rate σ (``hwep.backends.Drive.sigma``) is built physically: a series
resistor σL (internal net ``i_<name>``) on every inductor and a shunt resistor 1/(σC)
on every capacitor. The admittance of each element at s is then the lossless one at
s + σ, so ``.ac`` at s = iω of the lossy netlist has exactly the node voltages of the
native model at σ + iω; only the observable changes: the native flux is V / (σ + iω).

Bad cases raise ``InvalidNetworkError`` naming the node or element before ngspice
runs: with ``operating_point=True`` (an ``.ac`` after a DC operating point, as a
designer would run it) a node without a DC path or a loop of inductors (and voltage
sources) without resistance; in ``.tran`` a node without a DC path, whose DC voltage
from the start-up would never decay. ``convergence_aid=True`` adds a leak resistor per
such node and a small series resistor per inductor in a loop instead, and lists them
in the header (``Netlist.aid``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from ..elements import KINETIC
from ..errors import ConfigError, InvalidNetworkError
from ..network import Network
from ..system import System
from ..units import format_value
from .checks import plan
from .tran import (
    DEFAULT_POINTS_PER_PERIOD,
    DEFAULT_SETTLE_TOLERANCE,
    TranSettings,
    quality_sigma,
    tran_settings,
)

__all__ = ["ANALYSES", "Coupling", "Netlist", "prepare_netlist", "sanitize"]

ANALYSES = ("ac", "tran")
TRTOL_FIXED_STEP = 1e9
TWO_PI = format_value(2 * math.pi)  # ngspice's brace expressions have no pi


def sanitize(text: object) -> str:
    """Lower-case ``text`` with every character outside [a-z0-9_] replaced by ``_``."""
    return re.sub(r"[^a-z0-9_]", "_", str(text).lower()) or "_"


@dataclass(frozen=True)
class Coupling:
    """A closed-loop nudge element from each output net to its target source.

    Attributes
    ----------
    kind : str
        ``"inductor"`` or ``"capacitor"``.
    value : numpy.ndarray
        L in H or C in F per output, (n_outputs,); negative for an active element.
    target : numpy.ndarray
        Target voltage phasors V* in V, (n_harmonics, n_outputs) (one row for ``.ac``).
    ic : numpy.ndarray or None
        Initial current (inductor, A) or voltage (capacitor, V) per output for
        ``.tran``, so that the element starts at the target's offset (THEORY §3).
    """

    kind: str
    value: np.ndarray
    target: np.ndarray
    ic: np.ndarray | None = None


@dataclass
class _Device:
    """The netlist view of one element."""

    element: int
    name: str
    nodes: tuple[str, str]
    lines: list[str] = field(default_factory=list)
    current: str | None = None
    flux_net: str | None = None


class Netlist:
    """A network as ngspice cards, with the maps between hwep and netlist names.

    Parameters
    ----------
    network : Network
        The network at its current values.
    analysis : {"ac", "tran"}
        Which analysis the cards are for (nonlinear kinds need ``"tran"``).
    sigma : float
        Uniform decay rate σ in 1/s built as series and shunt resistors; >= 0.
    omega_ref : float, optional
        Reference angular frequency in rad/s sizing the convergence aid (the lowest
        drive harmonic); default the lowest lossless resonance, else 1.
    convergence_aid : bool
        Add leak and series resistors where the analysis would otherwise fail.
    operating_point : bool
        Let ngspice compute the DC operating point before ``.ac`` (no ``noopac``).
    leak_rate : float, optional
        Decay rate in 1/s of the leak resistors added to floating nodes in ``.tran``;
        default ``omega_ref`` × 1e-3.
    source : str, optional
        Where the network came from, for the header.

    Attributes
    ----------
    nets : dict
        Graph node -> net name (ground -> ``"0"``).
    devices : list of str
        Device name of each element, in element order.
    params : list of (str, float, str)
        ``.param`` name, value and the parameter's label, in element order.
    aid : list of str
        What the convergence aid added, one line each; empty when nothing.

    Raises
    ------
    InvalidNetworkError
        For a floating node or an inductor loop the analysis cannot accept (see the
        module docstring), and for nonlinear elements in ``.ac``.

    Examples
    --------
    An LC tank at node 'a' becomes two devices and two parameters:

    >>> import networkx as nx
    >>> G = nx.MultiGraph(ground="gnd", inputs=["a"], outputs=["a"])
    >>> _ = G.add_edge("a", "gnd", kind="inductor", value="10m")
    >>> _ = G.add_edge("a", "gnd", kind="capacitor", value="100u")
    >>> netlist = Netlist(Network(G))
    >>> netlist.nets, netlist.devices
    ({'a': 'n_a', 'gnd': '0'}, ['l_l1', 'c_c1'])
    >>> netlist.element_lines()
    ['l_l1 n_a 0 {p_l1}', 'c_c1 n_a 0 {p_c1}']
    """

    def __init__(
        self,
        network: Network,
        *,
        analysis: str = "ac",
        sigma: float = 0.0,
        omega_ref: float | None = None,
        convergence_aid: bool = False,
        operating_point: bool = False,
        leak_rate: float | None = None,
        source: str | None = None,
    ):
        if analysis not in ANALYSES:
            raise ConfigError(
                f"analysis {analysis!r} is unknown; use one of {ANALYSES}"
            )
        if not (np.isfinite(sigma) and sigma >= 0):
            raise ConfigError(f"uniform decay rate sigma must be >= 0, got {sigma!r}")
        self.network = network
        self.analysis = analysis
        self.sigma = float(sigma)
        self.operating_point = bool(operating_point) and analysis == "ac"
        self.convergence_aid = bool(convergence_aid)
        self.source = source
        self.omega_ref = float(omega_ref) if omega_ref else _lowest_mode(network)
        self.leak_rate = leak_rate if leak_rate else 1e-3 * self.omega_ref

        # Names first: nets and parameters, unique and deterministic.
        self.nets = _net_names(network)
        self._used: set[str] = set()
        self.params: list[tuple[str, float, str]] = []
        self._param_of: dict[tuple[int, str], str] = {}
        self._name_params()

        # Checks, which raise or decide the convergence aid, then the device cards.
        self._aid = plan(
            network,
            self.nets,
            analysis=analysis,
            operating_point=self.operating_point,
            sigma=self.sigma,
            convergence_aid=self.convergence_aid,
            omega_ref=self.omega_ref,
            leak_rate=self.leak_rate,
        )
        self.aid = self._aid.notes
        self._devices = [self._device(i, e) for i, e in enumerate(network.elements)]
        self.devices = [d.name for d in self._devices]
        self._cards: tuple[list[str], list[str]] | None = None

    # -- names of what ngspice returns ------------------------------------------------

    @property
    def node_nets(self) -> list[str]:
        """Net of each non-ground node, in ``network.nodes`` order."""
        return [self.nets[n] for n in self.network.nodes]

    @property
    def input_nets(self) -> list[str]:
        """Net of each input port."""
        return [self.nets[n] for n in self.network.inputs]

    @property
    def output_nets(self) -> list[str]:
        """Net of each output port."""
        return [self.nets[n] for n in self.network.outputs]

    def branch_readers(self) -> list[tuple[str, str | None]]:
        """How each element's branch variable is read: (kind, vector name).

        ``("current", device)``: an inductor's current (branch flux = I / coefficient);
        ``("flux", net)``: the integrator net of a nonlinear potential element;
        ``("voltage", None)``: from the node voltages (kinetic and Rayleigh elements).
        """
        readers = []
        for device in self._devices:
            if device.flux_net is not None:
                readers.append(("flux", device.flux_net))
            elif device.current is not None:
                readers.append(("current", device.current))
            else:
                readers.append(("voltage", None))
        return readers

    # -- cards ------------------------------------------------------------------------

    def param_lines(self) -> list[str]:
        """``.param`` cards of every element value, trainable ones first."""
        trainable = {p.label for p in self.network.parameters}
        groups = {True: [], False: []}
        for name, value, label in self.params:
            groups[label in trainable].append(f".param {name}={format_value(value)}")
        lines = []
        for flag, title in ((True, "trainable values"), (False, "fixed values")):
            if groups[flag]:
                lines += [f"* {title} (SI units)", *groups[flag]]
        if self.sigma > 0:
            lines.append(f".param g_sigma={format_value(self.sigma)}")
        return lines

    def element_lines(self) -> list[str]:
        """Device cards of every element, then the convergence aid's."""
        lines = [line for d in self._devices for line in d.lines]
        return lines + self._aid.lines

    def header(self, *, title: str, notes: list[str]) -> list[str]:
        """Title line and comment header: version, source, node map, analogy."""
        if self._cards is None:
            self._cards = (
                self._header_lines(),
                self.param_lines() + self.element_lines(),
            )
        return [title, *self._cards[0], *(f"* {note}" for note in notes)]

    def _body(self) -> list[str]:
        """Parameter and device cards (computed once: values are fixed)."""
        if self._cards is None:
            self.header(title="", notes=[])
        return list(self._cards[1])

    def _header_lines(self) -> list[str]:
        """The header's comment lines after the title, before the notes."""
        net = self.network
        counts = ", ".join(f"{n} {k}" for k, n in net.summary()["elements"].items())
        lines = [
            f"* written by hwep {_version()}: network {_ascii(net.name)} "
            f"({net.domain}, {net.n_nodes} nodes; {counts})",
        ]
        if self.source:
            lines.append(f"* source: {_ascii(self.source)}")
        if net.domain == "mechanical":
            lines.append(
                "* mobility analogy: mass -> C to ground (C = m), spring -> L = 1/k, "
                "damper -> R = 1/c; force -> current, velocity -> voltage, "
                "displacement -> flux"
            )
        lines.append("* node map (graph node -> net):")
        lines.append(f"*   {_ascii(net.ground)} -> 0 (ground)")
        lines.extend(f"*   {_ascii(n)} -> {self.nets[n]}" for n in net.nodes)
        lines.append(
            "* inputs (current sources from ground into the net): "
            + (", ".join(self.input_nets) or "none")
        )
        lines.append(
            "* outputs (observed against ground): "
            + (", ".join(self.output_nets) or "none")
        )
        if self.sigma > 0:
            lines.append(
                f"* uniform loss sigma = {format_value(self.sigma)} 1/s: series R = "
                "sigma*L on inductors, shunt R = 1/(sigma*C) on capacitors"
            )
        lines.extend(f"* convergence aid: {line}" for line in self.aid)
        return lines

    def ac(
        self,
        amplitude: np.ndarray,
        omega: float,
        *,
        injection: np.ndarray | None = None,
        coupling: Coupling | None = None,
        standalone: bool = False,
        notes: list[str] | None = None,
    ) -> str:
        """A complete ``.ac`` netlist at one frequency.

        Parameters
        ----------
        amplitude : numpy.ndarray
            Drive current phasors in A (N), (n_inputs,).
        omega : float
            ω in rad/s.
        injection : numpy.ndarray, optional
            Nudge current phasors into the outputs in A (N), (n_outputs,).
        coupling : Coupling, optional
            Closed-loop nudge elements (targets of shape (1, n_outputs)).
        standalone : bool
            Add ``.print`` cards of the outputs, for ``ngspice -b``.
        notes : list of str, optional
            Extra header comments.

        Returns
        -------
        str
        """
        if self.analysis != "ac":
            raise ConfigError("this netlist was compiled for .tran, not .ac")
        frequency = format_value(omega / (2 * math.pi))
        notes = list(notes or [])
        if not self.operating_point:
            notes.append(
                "ngspice skips the DC operating point (.options noopac): the linear "
                "AC response does not depend on it"
            )
        lines = self.header(title=f"hwep {_ascii(self.network.name)} ac", notes=notes)
        lines += self._body()

        # Sources: drive into the inputs, nudge into the outputs, coupling elements.
        lines += _ac_sources("iin", self.input_nets, amplitude)
        if injection is not None:
            lines += _ac_sources("inudge", self.output_nets, injection)
        if coupling is not None:
            lines += self._coupling_lines(coupling, tran=False)

        # Analysis cards.
        if not self.operating_point:
            lines.append(".options noopac")
        lines.append(f".ac lin 1 {frequency} {frequency}")
        if standalone and self.output_nets:
            lines.append(
                ".print ac " + " ".join(f"vr({n}) vi({n})" for n in self.output_nets)
            )
        lines.append(".end")
        return "\n".join(lines) + "\n"

    def tran(
        self,
        amplitude: np.ndarray,
        settings: TranSettings,
        *,
        injection: np.ndarray | None = None,
        coupling: Coupling | None = None,
        standalone: bool = False,
        notes: list[str] | None = None,
    ) -> str:
        """A complete ``.tran`` netlist from rest, saving the last period and a step.

        Parameters
        ----------
        amplitude : numpy.ndarray
            Drive current phasors in A (N), (n_harmonics, n_inputs): the input j
            carries Σ_h Re[a_hj e^{iω_h t}] from t = 0.
        settings : TranSettings
            Period, harmonics and grid.
        injection : numpy.ndarray, optional
            Nudge current phasors into the outputs, (n_harmonics, n_outputs).
        coupling : Coupling, optional
            Closed-loop nudge elements to target sources.
        standalone : bool
            Add ``.four`` cards of the outputs, for ``ngspice -b``.
        notes : list of str, optional
            Extra header comments.

        Returns
        -------
        str
        """
        if self.analysis != "tran":
            raise ConfigError("this netlist was compiled for .ac, not .tran")
        h, T = settings.step, settings.period
        frequencies = settings.harmonics / T
        notes = list(notes or []) + [
            f"from rest (uic): {settings.periods} periods of T = {format_value(T)} s, "
            f"{settings.steps_per_period} steps each; the last period is measured",
        ]
        if settings.fixed_step:
            notes.append(
                "fixed steps: trtol is huge so truncation-error control never cuts h"
            )
        lines = self.header(title=f"hwep {_ascii(self.network.name)} tran", notes=notes)
        lines += self._body()

        # Sources: one SIN per harmonic and port.
        lines += _sin_sources("iin", self.input_nets, amplitude, frequencies)
        if injection is not None:
            lines += _sin_sources("inudge", self.output_nets, injection, frequencies)
        if coupling is not None:
            lines += self._coupling_lines(coupling, tran=True, frequencies=frequencies)

        # Analysis: save from two steps before the last period, to bracket its start.
        start = max(0.0, settings.stop - T - 2 * h)
        if settings.fixed_step:
            lines.append(f".options trtol={format_value(TRTOL_FIXED_STEP)}")
        lines.append(
            f".tran {format_value(h)} {format_value(settings.stop)} "
            f"{format_value(start)} {format_value(h)} uic"
        )
        if standalone and self.output_nets:
            # .four reads the last period of its fundamental: the common one, with
            # every harmonic listed, resampled at the simulation's own step.
            count = int(np.max(settings.harmonics)) + 1
            lines.append(
                f".options nfreqs={max(count, 10)} "
                f"fourgridsize={settings.steps_per_period}"
            )
            outputs = " ".join(f"v({n})" for n in self.output_nets)
            lines.append(f".four {format_value(1.0 / T)} {outputs}")
        lines.append(".end")
        return "\n".join(lines) + "\n"

    # -- construction ---------------------------------------------------------------

    def _unique(self, name: str) -> str:
        """``name``, or with a ``_2``, ``_3`` ... suffix when it is taken."""
        candidate, k = name, 2
        while candidate in self._used:
            candidate, k = f"{name}_{k}", k + 1
        self._used.add(candidate)
        return candidate

    def _name_params(self) -> None:
        """A ``.param`` per element parameter, in element order."""
        for i, element in enumerate(self.network.elements):
            for spec in element.kind.parameters:
                main = spec.name == element.kind.symbol
                base = f"p_{sanitize(element.name)}"
                name = self._unique(base if main else f"{base}_{sanitize(spec.name)}")
                label = element.name if main else f"{element.name}.{spec.name}"
                self.params.append((name, element.params[spec.name], label))
                self._param_of[(i, spec.name)] = name

    def _device(self, index: int, element) -> _Device:
        """The cards of one element, with its uniform-loss or aid resistors.

        Element devices are named ``<letter>_<name>``; helper devices get two-letter
        prefixes (``rs_``, ``rp_``, ``bi_``, ``ci_``), which no element name can
        produce, and helper nets ``i_<device>`` and ``f_<device>``.
        """
        kind = element.kind
        a, b = (self.nets[n] for n in element.nodes)
        p = self._param_of[(index, kind.symbol)]
        if kind.nonlinear:
            return self._nonlinear_device(index, element, a, b)

        # Linear: C, L, R cards; springs and dampers through their reciprocal.
        letter = kind.spice_letter.lower()
        name = self._unique(f"{letter}_{sanitize(element.name)}")
        value = f"1/{p}" if kind.name in ("spring", "damper") else p
        device = _Device(index, name, (a, b))
        series = None
        if letter == "l" and self.sigma > 0:
            series = f"{{g_sigma*{value}}}"
        elif index in self._aid.series:
            series = format_value(self._aid.series[index])
        if series is None:
            device.lines.append(f"{name} {a} {b} {{{value}}}")
        else:
            device.lines.append(f"{name} {a} i_{name} {{{value}}}")
            device.lines.append(f"rs_{name} i_{name} {b} {series}")
        if letter == "c" and self.sigma > 0:
            device.lines.append(f"rp_{name} {a} {b} {{1/(g_sigma*{value})}}")
        if letter == "l":
            device.current = name
        return device

    def _nonlinear_device(self, index, element, a, b) -> _Device:
        """B-source cards of a nonlinear kind (``.tran`` only)."""
        kind = element.kind
        if self.analysis != "tran":
            raise InvalidNetworkError(
                f"{element.describe()} is nonlinear; ngspice's .ac is a linear "
                "analysis: use analysis='tran'"
            )
        p = {spec.name: self._param_of[(index, spec.name)] for spec in kind.parameters}
        name = self._unique(f"b_{sanitize(element.name)}")
        device = _Device(index, name, (a, b))
        if kind.role == KINETIC:
            # Varactor: q = C0 (v + a v³/3) on net q_, whose 1 F capacitor's current
            # dq/dt (sensed by a 0 V source) an F source mirrors into the branch.
            v = _voltage(a, b)
            q, sensed = f"q_{name}", f"s_{name}"
            device.lines += [
                f"{name} {q} 0 v = {{{p['C0']}}}*({v}+{{{p['a']}}}*{_cube(v)}/3)",
                f"vq_{name} {q} {sensed} dc 0",
                f"cq_{name} {sensed} 0 1",
                f"fq_{name} {a} {b} vq_{name} 1",
            ]
            if self.sigma > 0:
                device.lines.append(f"rp_{name} {a} {b} {{1/(g_sigma*{p['C0']})}}")
            return device

        # Potential: the branch flux from an integrator, then i = dE/dφ.
        inner = b
        if self.sigma > 0:
            inner = f"i_{name}"
            small = _small_signal_inductance(kind, p)
            device.lines.append(f"rs_{name} {inner} {b} {{g_sigma*{small}}}")
        flux = f"f_{name}"
        device.lines.append(f"bi_{name} 0 {flux} i = {_voltage(a, inner)}")
        device.lines.append(f"ci_{name} {flux} 0 1")
        phi = f"v({flux})"
        if kind.name == "josephson":
            current = f"{{{p['Ic']}}}*sin({TWO_PI}*{phi}/{{{p['phi0']}}})"
        elif kind.name == "duffing_spring":
            current = f"{{{p['k']}}}*{phi}+{{{p['k3']}}}*{_cube(phi)}"
        else:
            current = f"{phi}/{{{p['L']}}}+{{{p['a3']}}}*{_cube(phi)}"
        device.lines.append(f"{name} {a} {inner} i = {current}")
        device.flux_net = flux
        return device

    def _coupling_lines(self, coupling: Coupling, *, tran: bool, frequencies=None):
        """Coupling elements from each output to a target voltage source.

        Helper names: ``lcouple_``/``ccouple_`` devices, ``t_`` target nets and
        ``vtarget_`` sources, none of which an element name can produce.
        """
        lines = []
        letter = "l" if coupling.kind == "inductor" else "c"
        for o, net in enumerate(self.output_nets):
            tag = net[2:]
            target, name = f"t_{tag}", f"{letter}couple_{tag}"
            value = float(coupling.value[o])
            if not np.isfinite(value) or value == 0:
                continue  # a zero cost weight: no coupling at this output
            ic = ""
            if tran and coupling.ic is not None:
                ic = f" ic={format_value(coupling.ic[o])}"

            # The element, with the uniform loss of its kind.
            if letter == "l" and self.sigma > 0:
                lines.append(f"{name} {net} i_{name} {format_value(value)}{ic}")
                series = format_value(self.sigma * value)
                lines.append(f"rs_{name} i_{name} {target} {series}")
            else:
                lines.append(f"{name} {net} {target} {format_value(value)}{ic}")
            if letter == "c" and self.sigma > 0:
                shunt = format_value(1.0 / (self.sigma * value))
                lines.append(f"rp_{name} {net} {target} {shunt}")

            # The target source: one AC phasor, or a chain of SIN sources.
            if not tran:
                mag, phase = _polar(coupling.target[0, o])
                lines.append(f"vtarget_{tag} {target} 0 dc 0 ac {mag} {phase}")
                continue
            upper = target
            for h, frequency in enumerate(frequencies):
                last = h == len(frequencies) - 1
                lower = "0" if last else f"{target}_h{h + 1}"
                mag, phase = _polar(coupling.target[h, o], sine=True)
                lines.append(
                    f"vtarget_{tag}_h{h + 1} {upper} {lower} dc 0 "
                    f"sin(0 {mag} {format_value(frequency)} 0 0 {phase})"
                )
                upper = lower
        return lines


# -- helpers -------------------------------------------------------------------------


def _net_names(network: Network) -> dict:
    """Graph node -> unique net name, ground first as ``0``."""
    nets = {network.ground: "0"}
    used = {"0"}
    for node in network.nodes:
        base = f"n_{sanitize(node)}"
        name, k = base, 2
        while name in used:
            name, k = f"{base}_{k}", k + 1
        used.add(name)
        nets[node] = name
    return nets


def _lowest_mode(network: Network) -> float:
    """Lowest nonzero lossless resonance ω in rad/s, or 1."""
    try:
        omega, _ = System(network).modes()
    except (ValueError, np.linalg.LinAlgError):
        return 1.0
    positive = omega[omega > 0]
    return float(positive.min()) if positive.size else 1.0


def prepare_netlist(
    network: Network,
    drive,
    *,
    analysis: str = "ac",
    quality: float | None = None,
    periods: int | str = "auto",
    points_per_period: int = DEFAULT_POINTS_PER_PERIOD,
    settle_tolerance: float = DEFAULT_SETTLE_TOLERANCE,
    fixed_step: bool = True,
    convergence_aid: bool = False,
    operating_point: bool = False,
    source: str | None = None,
) -> tuple[Netlist, TranSettings | None]:
    """The Netlist (and ``.tran`` grid) of a network for a drive's frequencies.

    The drive's σ plus the loss of ``quality`` (σ = ω_min / 2Q) become the netlist's
    uniform loss; the lowest drive frequency sizes the convergence aid.

    Parameters
    ----------
    network : Network
    drive : hwep.backends.Drive
        Only ``omega`` and ``sigma`` are used.
    analysis : {"ac", "tran"}
    quality, periods, points_per_period, settle_tolerance, fixed_step
        ``.tran`` sizing, see ``hwep.spice.tran.tran_settings``; ``quality`` adds
        loss in ``.ac`` too.
    convergence_aid, operating_point, source
        See ``Netlist``.

    Returns
    -------
    (Netlist, TranSettings or None)
    """
    omega = np.asarray(drive.omega, dtype=float)
    settings = None
    added = quality_sigma(omega, quality)
    leak_rate = None
    if analysis == "tran":
        if drive.sigma + added == 0 and not convergence_aid:
            _check_floating(network)  # before the settling time, which it breaks
        settings = tran_settings(
            network,
            omega,
            sigma=drive.sigma,
            periods=periods,
            points_per_period=points_per_period,
            settle_tolerance=settle_tolerance,
            quality=quality,
            fixed_step=fixed_step,
            convergence_aid=convergence_aid,
        )
        if np.isfinite(settings.decay_rate) and settings.decay_rate > 0:
            leak_rate = settings.decay_rate
    netlist = Netlist(
        network,
        analysis=analysis,
        sigma=float(drive.sigma) + added,
        omega_ref=float(omega.min()),
        convergence_aid=convergence_aid,
        operating_point=operating_point,
        leak_rate=leak_rate,
        source=source,
    )
    return netlist, settings


def _check_floating(network: Network) -> None:
    """Raise naming the nodes without a DC path, as ``Netlist`` does in ``.tran``."""
    if network.dc_floating_nodes():
        Netlist(network, analysis="tran")


def _small_signal_inductance(kind, p: dict[str, str]) -> str:
    """Expression of the small-signal inductance of a nonlinear potential kind."""
    if kind.name == "josephson":
        return f"{p['phi0']}/({TWO_PI}*{p['Ic']})"
    if kind.name == "duffing_spring":
        return f"1/{p['k']}"
    return p["L"]


def _polar(phasor: complex, *, sine: bool = False) -> tuple[str, str]:
    """Magnitude and phase in degrees of a phasor, as netlist numbers.

    With ``sine`` the phase is that of a SIN source: Re[a e^{iωt}] = |a| sin(ωt +
    arg a + 90°).
    """
    magnitude = abs(complex(phasor))
    phase = math.degrees(math.atan2(phasor.imag, phasor.real)) if magnitude else 0.0
    if sine:
        phase += 90.0
    return format_value(magnitude), format_value(phase)


def _ac_sources(prefix: str, nets: list[str], phasors: np.ndarray) -> list[str]:
    """AC current sources from ground into each net."""
    lines = []
    for net, phasor in zip(nets, np.asarray(phasors), strict=True):
        mag, phase = _polar(phasor)
        lines.append(f"{prefix}_{net[2:]} 0 {net} dc 0 ac {mag} {phase}")
    return lines


def _sin_sources(prefix, nets, phasors, frequencies) -> list[str]:
    """SIN current sources from ground into each net, one per nonzero harmonic."""
    lines = []
    phasors = np.asarray(phasors)
    for j, net in enumerate(nets):
        for h, frequency in enumerate(frequencies):
            if phasors[h, j] == 0:
                continue
            mag, phase = _polar(phasors[h, j], sine=True)
            lines.append(
                f"{prefix}_{net[2:]}_h{h + 1} 0 {net} dc 0 "
                f"sin(0 {mag} {format_value(frequency)} 0 0 {phase})"
            )
    return lines


def _version() -> str:
    """hwep's version, from the package or, when it is not imported, its metadata."""
    try:
        from .. import __version__

        return __version__
    except ImportError:
        from importlib.metadata import version

        return version("hwep")


def _cube(x: str) -> str:
    """x³ as a product: ngspice evaluates ``x^3`` (and ``x**3``) as |x|³."""
    return f"{x}*{x}*{x}"


def _voltage(a: str, b: str) -> str:
    """ngspice's expression of the voltage from net a to net b."""
    return f"v({a})" if b == "0" else f"v({a},{b})"


def _ascii(value: object) -> str:
    """A printable ASCII rendering of a node or name for comments."""
    return ascii(value) if not isinstance(value, str) else ascii(value)[1:-1]
