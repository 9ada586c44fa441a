"""Tests of hwep.spice.netlist and hwep.spice.tran: cards, names, checks, time grid.

Most of these need no simulator; the ones that run ngspice take the ``ngspice``
fixture of ``spice_cases``.
"""

from __future__ import annotations

import math
import re

import networkx as nx
import numpy as np
import pytest
from conftest import random_network
from spice_cases import high_q_lattice, ngspice, random_chain, tank  # noqa: F401

from hwep.backends import Drive
from hwep.builders import lc_lattice
from hwep.errors import ConfigError, InvalidNetworkError
from hwep.network import Network
from hwep.spice.export import compile_netlist, read_params
from hwep.spice.netlist import Netlist, prepare_netlist, sanitize
from hwep.spice.runner import run_netlist
from hwep.spice.tran import (
    decay_rate,
    drive_period,
    period_weights,
    period_window,
    tran_settings,
)
from hwep.units import parse_value

NET_NAME = re.compile(r"^(0|[a-z][a-z0-9_]*)$")
EXPONENT = re.compile(r"^-?\d(\.\d+)?e[+-]\d\d$")


def clashing_network() -> Network:
    """Names that sanitize to the same text, a numeric node, suffixed values."""
    G = nx.MultiGraph(ground="GND", inputs=["A-1"], outputs=["a 1", 7])
    G.add_edge("A-1", "GND", kind="capacitor", value="1u", name="C.in")
    G.add_edge("A-1", "a_1", kind="inductor", value="1m", name="c.in")
    G.add_edge("A-1", "GND", kind="capacitor", value="2u", name="c-in")
    G.add_edge("a_1", "a 1", kind="inductor", value="3m", name="L2")
    G.add_edge("a 1", "GND", kind="capacitor", value="1M", name="Cm")  # SPICE milli
    G.add_edge("a 1", 7, kind="inductor", value="1Meg", name="Lmeg")
    G.add_edge(7, "GND", kind="capacitor", value="1F", name="Cf")  # femto
    G.add_edge(7, "GND", kind="inductor", value="2m", name="L4")
    G.add_edge("a_1", "GND", kind="capacitor", value="2u", name="C5")
    return Network(G)


# -- names and cards ------------------------------------------------------------------


def test_nets_are_sanitized_unique_and_ground_is_zero():
    netlist = Netlist(clashing_network())
    nets = netlist.nets
    assert nets["GND"] == "0"
    assert nets["A-1"] == "n_a_1" and nets["a_1"] == "n_a_1_2"
    assert nets["a 1"] == "n_a_1_3" and nets[7] == "n_7"
    assert len(set(nets.values())) == len(nets)
    assert all(NET_NAME.match(net) for net in nets.values())
    names = [e.name for e in netlist.network.elements]
    devices = dict(zip(names, netlist.devices, strict=True))
    assert devices["C.in"] == "c_c_in" and devices["c-in"] == "c_c_in_2"
    assert devices["c.in"] == "l_c_in" and devices["Lmeg"] == "l_lmeg"
    params = {label: name for name, _, label in netlist.params}
    assert params["C.in"] == "p_c_in" and params["c-in"] == "p_c_in_2"
    assert params["c.in"] == "p_c_in_3"
    assert sanitize("Ab-Ω") == "ab__"


def test_header_maps_every_node_and_states_version_and_source():
    network = clashing_network()
    text = Netlist(network, source="my/graph.graphml").ac(np.ones(1), 10.0)
    header = [line for line in text.splitlines() if line.startswith("*")]
    assert text.splitlines()[0] == "hwep network ac"
    assert any(re.match(r"\* written by hwep \d+\.\d+", line) for line in header)
    assert "* source: my/graph.graphml" in header
    assert "*   GND -> 0 (ground)" in header
    for node, net in [("A-1", "n_a_1"), ("a_1", "n_a_1_2"), ("a 1", "n_a_1_3")]:
        assert f"*   {node} -> {net}" in header
    assert "*   7 -> n_7" in header
    assert text.isascii()


def test_netlist_is_deterministic():
    first = Netlist(clashing_network()).ac(np.array([1 + 2j]), 10.0)
    second = Netlist(clashing_network()).ac(np.array([1 + 2j]), 10.0)
    assert first == second


def test_values_are_params_in_exponent_notation_without_suffix_letters():
    network = clashing_network()
    text = Netlist(network).ac(np.ones(1), 10.0)
    params = re.findall(r"^\.param (\w+)=(\S+)$", text, flags=re.M)
    assert len(params) == len(network.elements)
    assert all(EXPONENT.match(value) for _, value in params)
    values = dict(params)
    assert float(values["p_cm"]) == 1e-3  # "1M" is one milli ...
    assert float(values["p_cf"]) == 1e-15  # ... and "1F" one femto
    assert float(values["p_lmeg"]) == 1e6  # "1Meg" a million

    # Device cards reference the parameters only: no number can carry a suffix.
    for line in text.splitlines():
        if line[:1] in "cl" and not line.startswith("*"):
            assert re.fullmatch(r"[cl]_\w+ \w+ \w+ \{p_\w+\}", line), line


def test_values_round_trip_through_text_to_1e_12():
    rng = np.random.default_rng(4)
    network = random_network(3, n_nodes=6)
    values = network.values() * np.exp(rng.uniform(-20, 20, network.values().size))
    network = network.with_values(values)
    netlist = Netlist(network)
    parsed = read_params(netlist.ac(np.ones(len(network.inputs)), 3.0))
    for name, value, _label in netlist.params:
        assert abs(parsed[name] - value) <= 1e-12 * abs(value)
        assert parse_value(f"{parsed[name]!r}") == value


def test_mechanical_cards_follow_the_mobility_analogy():
    network = random_chain(2)
    text = Netlist(network).ac(np.ones(len(network.inputs)), 3.0)
    assert "mobility analogy: mass -> C to ground (C = m), spring -> L = 1/k" in text
    assert re.search(r"^c_m1 (0 n_x1|n_x1 0) \{p_m1\}$", text, flags=re.M)
    assert re.search(r"^l_k2 n_x1 n_x2 \{1/p_k2\}$", text, flags=re.M)


def test_sigma_adds_series_and_shunt_resistors():
    text = Netlist(tank(), sigma=50.0).ac(np.ones(1), 10.0)
    assert ".param g_sigma=5e+01" in text
    assert "l_l1 n_a i_l_l1 {p_l1}" in text
    assert "rs_l_l1 i_l_l1 0 {g_sigma*p_l1}" in text
    assert "rp_c_c1 n_a 0 {1/(g_sigma*p_c1)}" in text


def test_ac_skips_the_operating_point_unless_asked():
    lattice = Network(lc_lattice(2, 2, ground_L="1m"))
    assert ".options noopac" in Netlist(lattice).ac(np.ones(1), 1e3)
    aided = Netlist(lattice, operating_point=True, convergence_aid=True)
    assert ".options noopac" not in aided.ac(np.ones(1), 1e3)


# -- bad cases ------------------------------------------------------------------------


def floating_network() -> Network:
    """Node 'f' reaches ground only through capacitors."""
    G = nx.MultiGraph(ground="g", inputs=["a"], outputs=["f"])
    G.add_edge("a", "g", kind="inductor", value=1.0)
    G.add_edge("a", "g", kind="capacitor", value=1.0)
    G.add_edge("a", "f", kind="capacitor", value=0.5)
    G.add_edge("f", "g", kind="capacitor", value=2.0)
    G.add_edge("a", "g", kind="resistor", value=100.0)
    return Network(G)


def test_floating_node_in_tran_is_named():
    with pytest.raises(
        InvalidNetworkError, match=r"node 'f' \(net n_f\) .* no DC path"
    ):
        Netlist(floating_network(), analysis="tran")
    with pytest.raises(InvalidNetworkError, match=r"convergence_aid=True"):
        Netlist(floating_network(), analysis="tran")


def test_floating_node_with_operating_point_is_named():
    with pytest.raises(InvalidNetworkError, match=r"'f' .*operating point is singular"):
        Netlist(floating_network(), operating_point=True)


def test_inductor_loop_with_operating_point_is_named():
    lattice = Network(lc_lattice(2, 2, ground_L="1m"))
    with pytest.raises(
        InvalidNetworkError,
        match=r"inductor 'L1' between 'n0_0' and 'n0_1' is in a loop of inductors "
        r"with no resistance \(L1, L2, Lg1, L3, Lg2, L4 and 2 more\)",
    ):
        Netlist(lattice, operating_point=True)


def test_convergence_aid_adds_and_lists_its_elements():
    netlist = Netlist(floating_network(), analysis="tran", convergence_aid=True)
    assert len(netlist.aid) == 1 and "leak resistor raid_f" in netlist.aid[0]
    settings = tran_settings(floating_network(), [1.0], convergence_aid=True)
    assert settings.decay_rate == pytest.approx(1 / 280)  # the slowest other mode
    text = netlist.tran(np.ones((1, 1)), settings)
    assert "* convergence aid: leak resistor raid_f" in text
    assert re.search(r"^raid_f n_f 0 \S+$", text, flags=re.M)

    lattice = Network(lc_lattice(2, 2, ground_L="1m"))
    aided = Netlist(lattice, operating_point=True, convergence_aid=True)
    assert len(aided.aid) == 8 and all("series resistor" in a for a in aided.aid)
    assert "rs_l_l1 i_l_l1 n_n0_1 " in aided.ac(np.ones(1), 1e3)


def test_nonlinear_element_needs_tran():
    G = nx.MultiGraph(ground="g", inputs=["a"], outputs=["a"])
    G.add_edge("a", "g", kind="duffing_inductor", value=1e-3, a3=1e6)
    G.add_edge("a", "g", kind="capacitor", value=1e-6)
    with pytest.raises(InvalidNetworkError, match=r"nonlinear; ngspice's .ac is a"):
        Netlist(Network(G))
    text = Netlist(Network(G), analysis="tran").element_lines()
    assert "bi_b_l1 0 f_b_l1 i = v(n_a)" in text
    cube = "v(f_b_l1)*v(f_b_l1)*v(f_b_l1)"  # ngspice reads v^3 as |v|^3
    assert f"b_l1 n_a 0 i = v(f_b_l1)/{{p_l1}}+{{p_l1_a3}}*{cube}" in text


# -- the .tran grid -----------------------------------------------------------------


def test_drive_period_of_commensurate_harmonics():
    period, harmonics = drive_period(2 * np.pi * np.array([0.8, 2.5]))
    assert period == pytest.approx(10.0, rel=1e-12)
    assert harmonics.tolist() == [8, 25]
    with pytest.raises(ConfigError, match=r"have no common period"):
        drive_period(np.array([1.0, math.pi]))


def test_decay_rate_of_a_damped_tank_is_one_over_2RC():
    # Poles of C s² + s/R + 1/L: Re λ = −1/(2RC) = −5 per second for R = 1 kΩ.
    rate, frequency = decay_rate(tank(R=1e3))
    assert rate == pytest.approx(5.0, rel=1e-9)
    assert frequency == pytest.approx(math.sqrt(1e6 - 25) / (2 * math.pi), rel=1e-9)
    assert decay_rate(tank(R=1e3), sigma=2.0)[0] == pytest.approx(7.0, rel=1e-9)
    assert decay_rate(tank())[0] == 0.0


def test_tran_periods_follow_the_slowest_decay():
    settings = tran_settings(tank(R=1e3), [500.0], settle_tolerance=1e-3)
    expected = math.ceil(math.log(1e3) / (5.0 * settings.period)) + 1
    assert settings.periods == expected
    assert settings.step == pytest.approx(settings.period / 64)
    with pytest.raises(ConfigError, match=r"undamped mode near 159.155 Hz"):
        tran_settings(tank(), [500.0])
    lossy = tran_settings(tank(), [500.0], quality=100.0)
    assert lossy.sigma_added == pytest.approx(2.5) and lossy.decay_rate == 2.5


def test_period_window_skips_a_short_final_step():
    t = np.concatenate([np.arange(0, 10) * 0.1 + 0.04, [0.97]])
    assert period_window(t, 0.5) == pytest.approx((0.44, 0.94))
    with pytest.raises(ConfigError, match=r"less than one period"):
        period_window(t, 2.0)


def test_period_weights_are_exact_for_trig_polynomials_on_a_uniform_grid():
    # A whole period of a uniform grid: the trapezoid rule, exact below T/h.
    T, n = 1.0, 16
    t = 0.37 + np.arange(n + 1) * T / n
    w = period_weights(t, t[0], t[-1])
    assert w.sum() == pytest.approx(T, rel=1e-14)
    for k in range(1, n // 2):
        f = np.cos(2 * np.pi * k * t + 0.3) ** 2
        assert w @ f == pytest.approx(0.5 * T, rel=1e-12)


def test_period_weights_converge_at_second_order_on_nonuniform_grids():
    rng = np.random.default_rng(0)
    errors, steps = [], []
    for n in (32, 64, 128, 256, 512):
        # A jittered grid, with a window that does not start or end on a point.
        t = np.sort(np.concatenate([[0.0, 1.3], rng.uniform(0, 1.3, 2 * n)]))
        start, end = 0.1234, 1.1234
        f = np.sin(2 * np.pi * 3 * t) ** 2 + t
        exact = (
            0.5
            + (end**2 - start**2) / 2
            - np.sin(12 * np.pi * end) / (24 * np.pi)
            + np.sin(12 * np.pi * start) / (24 * np.pi)
        )
        errors.append(abs(period_weights(t, start, end) @ f - exact))
        steps.append(1.3 / (2 * n))
    slope = np.polyfit(np.log(steps), np.log(errors), 1)[0]
    assert 1.7 < slope < 2.4


# -- compiled netlists in ngspice ----------------------------------------------------


@pytest.mark.usefixtures("ngspice")
def test_sin_sources_have_the_phase_of_the_drive():
    # A resistor alone: v(t) = R i(t) = R |a| cos(ωt + arg a) at every point.
    G = nx.MultiGraph(ground="g", inputs=["a"], outputs=["a"])
    G.add_edge("a", "g", kind="resistor", value=2.0)
    G.add_edge("a", "g", kind="capacitor", value=1e-12)
    network = Network(G)
    a = 0.3 - 0.4j
    drive = Drive(np.array([2 * np.pi * 50.0]), np.array([[[a]]]))
    netlist, settings = prepare_netlist(network, drive, analysis="tran", periods=3)
    result = run_netlist(netlist.tran(drive.amplitude[0], settings))
    expected = 2.0 * np.real(a * np.exp(1j * drive.omega[0] * result.axis))
    assert np.max(np.abs(result.voltage("n_a") - expected)) < 1e-9


def test_exported_tran_netlist_prints_fourier_of_each_harmonic():
    network = random_chain(5)
    drive = Drive(2 * np.pi * np.array([1.0, 3.0]), np.ones((1, 2, 1)))
    text = compile_netlist(network, drive, analysis="tran", quality=100.0)
    assert re.findall(r"^\.four (\S+) ", text, flags=re.M) == ["1e+00"]
    assert ".options nfreqs=10 fourgridsize=192" in text
    assert "* added loss: quality factor 100 at the lowest drive tone" in text
