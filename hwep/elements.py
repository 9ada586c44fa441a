r"""Element kinds: the two-terminal building blocks of a Lagrangian network.

Every element sits on an edge (a, b) and sees one branch variable u. Kinetic and
Rayleigh elements see the branch velocity u = Δẋ (a voltage, or a relative speed);
potential elements see the branch coordinate u = Δx (a flux, or an elongation). Each
kind defines an energy E(u; θ) and enters the network's Lagrangian and dissipation
function as

    L = Σ_kinetic E(Δẋ; θ) − Σ_potential E(Δx; θ) + Σ_nodes f_n x_n,
    R = Σ_rayleigh E(Δẋ; θ).

The conjugate variable of a parameter θ is ∂L/∂θ: +∂E/∂θ for kinetic elements and
−∂E/∂θ for potential ones. Rayleigh elements have none (a resistor's value does not
enter L); they are trained by the ``reciprocal`` and ``adjoint`` gradient modes.

The force–current (mobility) analogy maps the mechanical kinds onto the circuit ones:

    =================  ===========  ===========  =====================
    role               circuit      mechanical   linear energy E(u)
    =================  ===========  ===========  =====================
    kinetic            capacitor C  mass m       ½ C u²     ½ m u²
    potential          inductor L   spring k     u² / (2L)  ½ k u²
    rayleigh           resistor R   damper c     u² / (2R)  ½ c u²
    =================  ===========  ===========  =====================

Nonlinear kinds add a quartic or cosine term:

- ``duffing_spring``: E = ½ k u² + ¼ k3 u⁴ (k in N/m, k3 in N/m³);
- ``duffing_inductor``: E = u² / (2L) + ¼ a3 u⁴ (L in H, a3 in A/Wb³), so that the
  current is I = φ/L + a3 φ³;
- ``josephson``: E = (Φ0 Ic / 2π) (1 − cos(2π u / Φ0)) (Ic in A, Φ0 in Wb, by default
  the flux quantum h/2e);
- ``varactor``: a capacitor with C(V) = C0 (1 + a V²), whose co-energy is
  E = C0 (V²/2 + a V⁴/12) (C0 in F, a in 1/V²).

All functions here are polynomial or trigonometric in u and θ, so they accept complex
arguments (complex-step differentiation works through them). Elements with a nonzero
quartic or cosine term are nonlinear; the phasor solver rejects them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .errors import InvalidNetworkError

__all__ = [
    "ElementKind",
    "ParameterSpec",
    "KINDS",
    "FLUX_QUANTUM_WB",
    "get_kind",
    "kinds_of_domain",
]

FLUX_QUANTUM_WB = 2.067833848461929e-15

KINETIC, POTENTIAL, RAYLEIGH = "kinetic", "potential", "rayleigh"
CIRCUIT, MECHANICAL = "circuit", "mechanical"


@dataclass(frozen=True)
class ParameterSpec:
    """One parameter of an element kind.

    Attributes
    ----------
    name : str
        Key in the edge data (the first parameter of a kind is stored as ``value``).
    unit : str
        SI unit symbol.
    positive : bool
        Whether the parameter must be strictly positive (then optimizers step its log).
    default : float or None
        Value used when the edge does not give one; None means required.
    """

    name: str
    unit: str
    positive: bool = True
    default: float | None = None


@dataclass(frozen=True)
class ElementKind:
    """What an element kind is: its role, units, SPICE letter and energy function.

    Attributes
    ----------
    name : str
        Canonical name, for instance ``"capacitor"``.
    role : str
        ``"kinetic"``, ``"potential"`` or ``"rayleigh"``.
    domain : str
        ``"circuit"`` or ``"mechanical"``.
    parameters : tuple of ParameterSpec
        The first is the element's value (C, L, R, m, k, c, Ic, C0).
    spice_letter : str
        Letter of the netlist card of the circuit analogue (C, L, R, or B for the
        nonlinear behavioural elements).
    to_ground : bool
        Whether the element must have ground as one terminal (a mass).
    trainable : bool
        Whether the value is trainable by default.
    """

    name: str
    role: str
    domain: str
    parameters: tuple[ParameterSpec, ...]
    spice_letter: str
    analog: str
    to_ground: bool = False
    trainable: bool = True
    nonlinear: bool = False
    aliases: tuple[str, ...] = field(default=())

    @property
    def value_spec(self) -> ParameterSpec:
        """The spec of the element's main value."""
        return self.parameters[0]

    @property
    def symbol(self) -> str:
        """Symbol of the main value (``C``, ``L``, ``k``, ...)."""
        return self.parameters[0].name

    @property
    def unit(self) -> str:
        """Unit of the main value."""
        return self.parameters[0].unit

    @property
    def has_conjugate(self) -> bool:
        """Whether ∂L/∂θ exists (False for resistors and dampers)."""
        return self.role != RAYLEIGH

    @property
    def conjugate_sign(self) -> float:
        """+1 for kinetic, −1 for potential: ∂L/∂θ = sign · ∂E/∂θ."""
        return {KINETIC: 1.0, POTENTIAL: -1.0, RAYLEIGH: 0.0}[self.role]

    def coefficient(self, p: dict[str, np.ndarray]) -> np.ndarray:
        """Linear coefficient c in E = ½ c u² + (higher order): C, 1/L, 1/R, m, k, c.

        For the cosine element this is the small-signal stiffness Ic · 2π/Φ0.
        """
        return self.stiffness(np.zeros_like(p[self.symbol]), p)

    def coefficient_grad(self, p: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """∂c/∂θ for every parameter θ of the kind (c the linear coefficient)."""
        raise NotImplementedError

    def is_linear(self, p: dict[str, np.ndarray]) -> np.ndarray:
        """Per element, whether E is exactly ½ c u² (a Duffing term of zero, say)."""
        ones = np.ones(np.shape(p[self.symbol]), dtype=bool)
        if not self.nonlinear:
            return ones
        if self.name == "josephson":
            return ~ones
        return np.asarray(p[self.parameters[1].name]) == 0.0

    def energy(self, u: np.ndarray, p: dict[str, np.ndarray]) -> np.ndarray:
        """E(u; θ), shape of u."""
        raise NotImplementedError

    def force(self, u: np.ndarray, p: dict[str, np.ndarray]) -> np.ndarray:
        """dE/du: the branch current (or tension, or charge for kinetic elements)."""
        raise NotImplementedError

    def stiffness(self, u: np.ndarray, p: dict[str, np.ndarray]) -> np.ndarray:
        """d²E/du²: incremental coefficient (C(V), 1/L(φ), k(x), ...)."""
        raise NotImplementedError

    def energy_grad(self, u: np.ndarray, p: dict[str, np.ndarray]) -> dict:
        """∂E/∂θ for every parameter θ, each the shape of u."""
        raise NotImplementedError

    def force_grad(self, u: np.ndarray, p: dict[str, np.ndarray]) -> dict:
        """∂²E/∂u∂θ for every parameter θ, each the shape of u."""
        raise NotImplementedError


class _Quadratic(ElementKind):
    """E = ½ c u², with c = θ (capacitor, mass, spring, damper)."""

    def energy(self, u, p):
        return 0.5 * p[self.symbol] * u**2

    def force(self, u, p):
        return p[self.symbol] * u

    def stiffness(self, u, p):
        return p[self.symbol] * np.ones_like(u)

    def energy_grad(self, u, p):
        return {self.symbol: 0.5 * u**2}

    def force_grad(self, u, p):
        return {self.symbol: u}

    def coefficient_grad(self, p):
        return {self.symbol: np.ones_like(p[self.symbol])}


class _InverseQuadratic(ElementKind):
    """E = u² / (2θ), with c = 1/θ (inductor, resistor)."""

    def energy(self, u, p):
        return 0.5 * u**2 / p[self.symbol]

    def force(self, u, p):
        return u / p[self.symbol]

    def stiffness(self, u, p):
        return np.ones_like(u) / p[self.symbol]

    def energy_grad(self, u, p):
        return {self.symbol: -0.5 * u**2 / p[self.symbol] ** 2}

    def force_grad(self, u, p):
        return {self.symbol: -u / p[self.symbol] ** 2}

    def coefficient_grad(self, p):
        return {self.symbol: -1.0 / p[self.symbol] ** 2}


class _DuffingSpring(ElementKind):
    """E = ½ k u² + ¼ k3 u⁴."""

    def energy(self, u, p):
        return 0.5 * p["k"] * u**2 + 0.25 * p["k3"] * u**4

    def force(self, u, p):
        return p["k"] * u + p["k3"] * u**3

    def stiffness(self, u, p):
        return p["k"] + 3.0 * p["k3"] * u**2

    def energy_grad(self, u, p):
        return {"k": 0.5 * u**2, "k3": 0.25 * u**4}

    def force_grad(self, u, p):
        return {"k": u, "k3": u**3}

    def coefficient_grad(self, p):
        one = np.ones_like(p["k"])
        return {"k": one, "k3": 0.0 * one}


class _DuffingInductor(ElementKind):
    """E = u² / (2L) + ¼ a3 u⁴, so I = φ/L + a3 φ³."""

    def energy(self, u, p):
        return 0.5 * u**2 / p["L"] + 0.25 * p["a3"] * u**4

    def force(self, u, p):
        return u / p["L"] + p["a3"] * u**3

    def stiffness(self, u, p):
        return 1.0 / p["L"] + 3.0 * p["a3"] * u**2

    def energy_grad(self, u, p):
        return {"L": -0.5 * u**2 / p["L"] ** 2, "a3": 0.25 * u**4}

    def force_grad(self, u, p):
        return {"L": -u / p["L"] ** 2, "a3": u**3}

    def coefficient_grad(self, p):
        return {"L": -1.0 / p["L"] ** 2, "a3": 0.0 * p["L"]}


class _Josephson(ElementKind):
    """E = (Φ0 Ic / 2π) (1 − cos(2π u / Φ0))."""

    def energy(self, u, p):
        scale = p["phi0"] / (2.0 * math.pi)
        return scale * p["Ic"] * (1.0 - np.cos(u / scale))

    def force(self, u, p):
        scale = p["phi0"] / (2.0 * math.pi)
        return p["Ic"] * np.sin(u / scale)

    def stiffness(self, u, p):
        scale = p["phi0"] / (2.0 * math.pi)
        return p["Ic"] / scale * np.cos(u / scale)

    def energy_grad(self, u, p):
        scale = p["phi0"] / (2.0 * math.pi)
        cosine, sine = np.cos(u / scale), np.sin(u / scale)
        return {
            "Ic": scale * (1.0 - cosine),
            "phi0": p["Ic"] / (2.0 * math.pi) * (1.0 - cosine - (u / scale) * sine),
        }

    def force_grad(self, u, p):
        scale = p["phi0"] / (2.0 * math.pi)
        return {
            "Ic": np.sin(u / scale),
            "phi0": -p["Ic"] * np.cos(u / scale) * u / (scale * p["phi0"]),
        }

    def coefficient_grad(self, p):
        scale = p["phi0"] / (2.0 * math.pi)
        return {"Ic": 1.0 / scale, "phi0": -p["Ic"] / (scale * p["phi0"])}


class _Varactor(ElementKind):
    """E = C0 (u²/2 + a u⁴/12): incremental capacitance C(V) = C0 (1 + a V²)."""

    def energy(self, u, p):
        return p["C0"] * (0.5 * u**2 + p["a"] * u**4 / 12.0)

    def force(self, u, p):
        return p["C0"] * (u + p["a"] * u**3 / 3.0)

    def stiffness(self, u, p):
        return p["C0"] * (1.0 + p["a"] * u**2)

    def energy_grad(self, u, p):
        return {
            "C0": 0.5 * u**2 + p["a"] * u**4 / 12.0,
            "a": p["C0"] * u**4 / 12.0,
        }

    def force_grad(self, u, p):
        return {"C0": u + p["a"] * u**3 / 3.0, "a": p["C0"] * u**3 / 3.0}

    def coefficient_grad(self, p):
        return {"C0": np.ones_like(p["C0"]), "a": 0.0 * p["C0"]}


def _kinds() -> dict[str, ElementKind]:
    """The registry of element kinds, by canonical name."""
    kinds = [
        _Quadratic(
            "capacitor",
            KINETIC,
            CIRCUIT,
            (ParameterSpec("C", "F"),),
            "C",
            "mass",
            aliases=("c", "cap"),
        ),
        _InverseQuadratic(
            "inductor",
            POTENTIAL,
            CIRCUIT,
            (ParameterSpec("L", "H"),),
            "L",
            "spring",
            aliases=("l", "ind"),
        ),
        _InverseQuadratic(
            "resistor",
            RAYLEIGH,
            CIRCUIT,
            (ParameterSpec("R", "Ohm"),),
            "R",
            "damper",
            trainable=False,
            aliases=("r", "res"),
        ),
        _Quadratic(
            "mass",
            KINETIC,
            MECHANICAL,
            (ParameterSpec("m", "kg"),),
            "C",
            "capacitor",
            to_ground=True,
        ),
        _Quadratic(
            "spring",
            POTENTIAL,
            MECHANICAL,
            (ParameterSpec("k", "N/m"),),
            "L",
            "inductor",
        ),
        _Quadratic(
            "damper",
            RAYLEIGH,
            MECHANICAL,
            (ParameterSpec("c", "N*s/m"),),
            "R",
            "resistor",
            trainable=False,
        ),
        _DuffingSpring(
            "duffing_spring",
            POTENTIAL,
            MECHANICAL,
            (ParameterSpec("k", "N/m"), ParameterSpec("k3", "N/m^3", False, 0.0)),
            "B",
            "duffing_inductor",
            nonlinear=True,
            aliases=("cubic_spring",),
        ),
        _DuffingInductor(
            "duffing_inductor",
            POTENTIAL,
            CIRCUIT,
            (ParameterSpec("L", "H"), ParameterSpec("a3", "A/Wb^3", False, 0.0)),
            "B",
            "duffing_spring",
            nonlinear=True,
            aliases=("cubic_inductor",),
        ),
        _Josephson(
            "josephson",
            POTENTIAL,
            CIRCUIT,
            (
                ParameterSpec("Ic", "A"),
                ParameterSpec("phi0", "Wb", True, FLUX_QUANTUM_WB),
            ),
            "B",
            "pendulum",
            nonlinear=True,
            aliases=("cosine_inductor",),
        ),
        _Varactor(
            "varactor",
            KINETIC,
            CIRCUIT,
            (ParameterSpec("C0", "F"), ParameterSpec("a", "1/V^2", False, 0.0)),
            "B",
            "nonlinear mass",
            nonlinear=True,
            aliases=("nonlinear_capacitor",),
        ),
    ]
    return {kind.name: kind for kind in kinds}


KINDS: dict[str, ElementKind] = _kinds()
_LOOKUP = {key: kind for kind in KINDS.values() for key in (kind.name, *kind.aliases)}


def get_kind(name: object, *, where: str = "element") -> ElementKind:
    """Return the element kind called ``name`` (case-insensitive, aliases allowed).

    Raises
    ------
    InvalidNetworkError
        When no kind has that name; the message lists the valid ones.
    """
    kind = _LOOKUP.get(str(name).strip().lower()) if name is not None else None
    if kind is None:
        valid = ", ".join(sorted(KINDS))
        raise InvalidNetworkError(
            f"{where}: unknown kind {name!r}; valid kinds: {valid}"
        )
    return kind


def kinds_of_domain(domain: str) -> list[str]:
    """Names of the kinds of one domain (``"circuit"`` or ``"mechanical"``)."""
    return [name for name, kind in KINDS.items() if kind.domain == domain]
