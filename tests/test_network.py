"""Network: reading graphs and files, and the rules that reject bad ones."""

import json

import networkx as nx
import numpy as np
import pytest

from hwep.builders import lc_lattice, spring_chain
from hwep.errors import InvalidNetworkError
from hwep.network import Network, load_graph, save_graph


def _tank(**edge):
    G = nx.MultiGraph(ground="gnd", inputs=["a"], outputs=["a"])
    G.add_edge("a", "gnd", kind="inductor", value="10m")
    G.add_edge("a", "gnd", **({"kind": "capacitor", "value": "100u"} | edge))
    return G


def test_elements_names_values_and_parameters():
    net = Network(_tank())
    assert [e.name for e in net.elements] == ["L1", "C1"]
    assert net.nodes == ["a"] and net.ground == "gnd"
    np.testing.assert_array_equal(net.values(), [1e-2, 1e-4])
    assert [p.unit for p in net.parameters] == ["H", "F"]
    assert net.domain == "circuit" and net.is_linear and not net.has_loss


def test_resistors_are_not_trainable_by_default():
    G = _tank()
    G.add_edge("a", "gnd", kind="resistor", value="1k")
    net = Network(G)
    assert [p.label for p in net.parameters] == ["L1", "C1"]
    assert net.has_loss


def test_with_values_changes_only_copies():
    net = Network(_tank())
    other = net.with_values([2e-2, 3e-4])
    np.testing.assert_array_equal(other.values(), [2e-2, 3e-4])
    np.testing.assert_array_equal(net.values(), [1e-2, 1e-4])
    with pytest.raises(
        InvalidNetworkError,
        match="parameter C1: value -1.0 must be finite and positive",
    ):
        net.with_values([1e-2, -1.0])


def test_incidence_signs():
    G = nx.MultiGraph(ground=0, inputs=[1], outputs=[2])
    G.add_edge(1, 2, kind="inductor", value=1.0)
    G.add_edge(2, 0, kind="capacitor", value=1.0)
    G.add_edge(1, 0, kind="capacitor", value=1.0)
    net = Network(G)
    E = net.incidence().toarray()
    for element, row in zip(net.elements, E, strict=True):
        expected = np.zeros(2)
        a, b = element.nodes
        for node, sign in ((a, 1.0), (b, -1.0)):
            if node != 0:
                expected[net.node_index[node]] = sign
        np.testing.assert_array_equal(row, expected)
    assert sorted(e.nodes for e in net.elements) == [(1, 0), (1, 2), (2, 0)]


@pytest.mark.parametrize("suffix", [".graphml", ".gml", ".json"])
@pytest.mark.parametrize(
    "graph",
    [
        lc_lattice(
            2, 3, L=("1m", "3m"), C=("1u", "2u"), ground_L="5m", R="10k", seed=3
        ),
        spring_chain(4, m=(0.5, 2), k=(50, 150), c=0.1, outputs=["x2", "x4"], seed=4),
    ],
    ids=["lattice", "chain"],
)
def test_graph_files_load_into_the_same_model(tmp_path, suffix, graph):
    net = Network(graph)
    path = tmp_path / f"net{suffix}"
    save_graph(net.to_graph(), path)
    again = Network(load_graph(path))
    assert [e.name for e in again.elements] == [e.name for e in net.elements]
    assert [str(n) for n in again.nodes] == [str(n) for n in net.nodes]
    assert [str(n) for n in again.outputs] == [str(n) for n in net.outputs]
    np.testing.assert_array_equal(again.values(), net.values())
    assert [p.label for p in again.parameters] == [p.label for p in net.parameters]


def test_graphml_written_by_hand(tmp_path):
    path = tmp_path / "tank.graphml"
    path.write_text(
        """<?xml version='1.0' encoding='utf-8'?>
<graphml xmlns="http://graphml.graphdrawing.org/xmlns">
  <key id="g0" for="graph" attr.name="ground" attr.type="string"/>
  <key id="g1" for="graph" attr.name="inputs" attr.type="string"/>
  <key id="g2" for="graph" attr.name="outputs" attr.type="string"/>
  <key id="e0" for="edge" attr.name="kind" attr.type="string"/>
  <key id="e1" for="edge" attr.name="value" attr.type="string"/>
  <graph edgedefault="undirected">
    <data key="g0">0</data><data key="g1">a</data><data key="g2">a</data>
    <node id="0"/><node id="a"/>
    <edge source="a" target="0">
      <data key="e0">inductor</data><data key="e1">10m</data>
    </edge>
    <edge source="a" target="0">
      <data key="e0">capacitor</data><data key="e1">100uF</data>
    </edge>
  </graph>
</graphml>"""
    )
    net = Network.from_file(path)
    np.testing.assert_allclose(net.values(), [1e-2, 1e-4])


def test_node_link_json_with_int_nodes(tmp_path):
    G = nx.MultiGraph(ground=0, inputs=[1], outputs=[2])
    G.add_edge(1, 2, kind="spring", value=10.0)
    G.add_edge(1, 0, kind="mass", value=1.0)
    G.add_edge(2, 0, kind="mass", value=2.0)
    G.add_edge(2, 0, kind="spring", value=5.0)
    path = tmp_path / "chain.json"
    path.write_text(json.dumps(nx.node_link_data(G, edges="links")))
    net = Network.from_file(path)
    assert net.ground == 0 and net.inputs == (1,) and net.domain == "mechanical"


@pytest.mark.parametrize(
    "edit, message",
    [
        (
            lambda G: G.add_edge("a", "gnd", kind="memristor", value=1),
            "unknown kind 'memristor'",
        ),
        (
            lambda G: G.add_edge("a", "gnd", kind="capacitor", value=-1e-6),
            r"capacitor 'C2' between 'a' and 'gnd': value -1e-06 must be positive",
        ),
        (
            lambda G: G.add_edge("a", "gnd", kind="capacitor", value=0),
            "must be positive",
        ),
        (
            lambda G: G.add_edge("a", "gnd", kind="inductor", value="ten"),
            r"inductor 'L2' between 'a' and 'gnd': value: 'ten' is not a number",
        ),
        (
            lambda G: G.add_edge("a", "gnd", kind="inductor"),
            r"inductor 'L2' .*: missing 'value'",
        ),
        (
            lambda G: G.add_edge("a", "a", kind="inductor", value=1),
            "both terminals on one node",
        ),
        (
            lambda G: G.add_edge("a", "b", kind="mass", value=1),
            "a mass must connect a node to ground",
        ),
        (
            lambda G: G.add_edge("b", "c", kind="inductor", value=1),
            "node 'b' has no path to ground",
        ),
        (lambda G: G.add_node("lonely"), "node 'lonely' has no path to ground"),
        (
            lambda G: G.add_edge("a", "gnd", kind="spring", value=1),
            r"mixes circuit \(inductor 'L1'.*\) and mechanical \(spring 'k1'",
        ),
        (
            lambda G: G.add_edge("a", "gnd", kind="inductor", value=1, name="C1"),
            "name 'C1' is used twice",
        ),
        (
            lambda G: G.add_edge("a", "gnd", kind="inductor", value=1, bounds=[2, 3]),
            r"value 1 H lies outside its bounds \(2, 3\)",
        ),
        (
            lambda G: G.add_edge("a", "gnd", kind="inductor", value=1, trainable=["Q"]),
            "trainable names 'Q', which is not a parameter of a inductor",
        ),
    ],
)
def test_bad_graphs_name_the_culprit(edit, message):
    G = _tank()
    edit(G)
    with pytest.raises(InvalidNetworkError, match=message):
        Network(G)


def test_missing_ground():
    G = _tank()
    del G.graph["ground"]
    with pytest.raises(InvalidNetworkError, match="network has no ground node"):
        Network(G)


def test_ground_not_in_graph():
    with pytest.raises(
        InvalidNetworkError, match="ground node 'earth' is not in the graph"
    ):
        Network(_tank(), ground="earth")


def test_ground_marked_on_a_node():
    G = _tank()
    del G.graph["ground"]
    G.nodes["gnd"]["ground"] = "true"
    assert Network(G).ground == "gnd"


@pytest.mark.parametrize(
    "ports, message",
    [
        ({"inputs": ["z"]}, "input port 'z' is not in the graph"),
        ({"outputs": ["gnd"]}, "output port 'gnd' is the ground node"),
        ({"inputs": ["a", "a"]}, "input port 'a' is listed twice"),
    ],
)
def test_bad_ports(ports, message):
    with pytest.raises(InvalidNetworkError, match=message):
        Network(_tank(), **ports)


def test_comma_separated_ports():
    G = lc_lattice(2, 2)
    G.graph["outputs"] = "n0_1, n1_1"
    assert Network(G).outputs == ("n0_1", "n1_1")


def test_dc_floating_nodes():
    G = nx.MultiGraph(ground="g")
    G.add_edge("a", "g", kind="capacitor", value=1.0)
    G.add_edge("a", "b", kind="capacitor", value=1.0)
    G.add_edge("b", "g", kind="inductor", value=1.0)
    assert Network(G).dc_floating_nodes() == ["a"]


def test_unknown_graph_file_extension(tmp_path):
    path = tmp_path / "net.txt"
    path.write_text("x")
    with pytest.raises(InvalidNetworkError, match="unknown extension '.txt'"):
        load_graph(path)
    with pytest.raises(InvalidNetworkError, match="does not exist"):
        load_graph(tmp_path / "none.graphml")


def test_gml_round_trip_with_boolean_trainable(tmp_path):
    G = nx.MultiGraph(ground="g")
    G.add_edge("a", "b", kind="inductor", value=1e-3, trainable=True)
    G.add_edge("b", "g", kind="capacitor", value=1e-6, trainable=False)
    G.add_edge("a", "g", kind="capacitor", value=1e-6)
    save_graph(G, tmp_path / "rt.gml")
    net = Network.from_file(tmp_path / "rt.gml")
    assert [p.label for p in net.parameters] == [p.label for p in Network(G).parameters]


def test_automatic_name_clash_is_explained():
    G = _tank(name="C2")
    G.add_edge("a", "gnd", kind="capacitor", value=1e-6)
    G.add_edge("a", "gnd", kind="capacitor", value=1e-6)
    with pytest.raises(
        InvalidNetworkError, match="an automatic name, given to another"
    ):
        Network(G)
