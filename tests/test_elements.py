"""Element kinds: energies and their derivatives, by complex step."""

import numpy as np
import pytest

from hwep.elements import KINDS, get_kind
from hwep.errors import InvalidNetworkError

H = 1e-30


def _params(kind, rng):
    return {
        spec.name: np.array(rng.uniform(0.5, 2.0, size=4)) for spec in kind.parameters
    }


@pytest.mark.parametrize("name", sorted(KINDS))
def test_derivatives_match_complex_step(name):
    kind = KINDS[name]
    rng = np.random.default_rng(0)
    p = _params(kind, rng)
    u = rng.uniform(-0.8, 0.8, size=4)

    # dE/du and d²E/du² against complex steps of E and dE/du.
    np.testing.assert_allclose(
        kind.force(u, p), kind.energy(u + 1j * H, p).imag / H, rtol=1e-12
    )
    np.testing.assert_allclose(
        kind.stiffness(u, p), kind.force(u + 1j * H, p).imag / H, rtol=1e-12
    )

    # Parameter derivatives of E, dE/du and the linear coefficient.
    energy_grad, force_grad = kind.energy_grad(u, p), kind.force_grad(u, p)
    coefficient_grad = kind.coefficient_grad(p)
    for spec in kind.parameters:
        shifted = dict(p)
        shifted[spec.name] = p[spec.name] + 1j * H
        np.testing.assert_allclose(
            energy_grad[spec.name],
            kind.energy(u, shifted).imag / H,
            rtol=1e-12,
            atol=1e-14,
        )
        np.testing.assert_allclose(
            force_grad[spec.name],
            kind.force(u, shifted).imag / H,
            rtol=1e-12,
            atol=1e-14,
        )
        np.testing.assert_allclose(
            coefficient_grad[spec.name],
            kind.coefficient(shifted).imag / H,
            rtol=1e-12,
            atol=1e-14,
        )


@pytest.mark.parametrize(
    "name, coefficient",
    [
        ("capacitor", lambda v: v),
        ("inductor", lambda v: 1 / v),
        ("resistor", lambda v: 1 / v),
        ("mass", lambda v: v),
        ("spring", lambda v: v),
        ("damper", lambda v: v),
    ],
)
def test_linear_coefficients(name, coefficient):
    kind = KINDS[name]
    p = {kind.symbol: np.array([2.0])}
    assert kind.coefficient(p)[0] == pytest.approx(coefficient(2.0))
    assert kind.is_linear(p).all()


def test_conjugate_signs_follow_roles():
    assert KINDS["capacitor"].conjugate_sign == 1.0
    assert KINDS["inductor"].conjugate_sign == -1.0
    assert not KINDS["resistor"].has_conjugate
    # ∂L/∂L of an inductor is +½ I²: −∂E/∂L with E = φ²/(2L).
    phi, L = 0.3, 2.0
    grad = KINDS["inductor"].energy_grad(np.array(phi), {"L": np.array(L)})["L"]
    assert -grad == pytest.approx(0.5 * (phi / L) ** 2)


def test_josephson_small_signal_inductance():
    kind = KINDS["josephson"]
    p = {"Ic": np.array(1e-6), "phi0": np.array(2.067833848e-15)}
    L_J = p["phi0"] / (2 * np.pi * p["Ic"])
    assert kind.coefficient(p) == pytest.approx(1 / L_J)
    assert not kind.is_linear(p)


def test_duffing_with_zero_cubic_term_is_linear():
    kind = KINDS["duffing_spring"]
    assert kind.is_linear({"k": np.array(1.0), "k3": np.array(0.0)})
    assert not kind.is_linear({"k": np.array(1.0), "k3": np.array(0.1)})


def test_aliases_and_unknown_kind():
    assert get_kind("C").name == "capacitor"
    assert get_kind("Inductor").name == "inductor"
    with pytest.raises(
        InvalidNetworkError, match="unknown kind 'transistor'; valid kinds"
    ):
        get_kind("transistor", where="edge ('a', 'b')")
