"""networkx views: topological order, reachability, dead nodes, edits that re-validate."""

from __future__ import annotations

import networkx as nx
import pytest

from descgraph.builders import build_from_genotype
from descgraph.conf.schema import ModelDescConf
from descgraph.desc import (
    cell_graph,
    dead_nodes,
    model_graph,
    remove_edge,
    rewire_edge,
    states_reaching_output,
    topological_states,
)
from descgraph.desc.genotype import parse_genotype
from descgraph.errors import DescError


@pytest.fixture()
def desc():
    md = ModelDescConf(n_cells=4, n_reductions=1, model_stems={"init_node_ch": 8}, aux_weight=0.4)
    return build_from_genotype(parse_genotype("DARTS_V2"), md)


def test_cell_graph_has_every_edge_and_a_topological_order(desc):
    cell = desc.cell_descs[0]
    g = cell_graph(cell)
    assert g.number_of_edges() == 8 + 4  # 8 DAG edges, 4 concat edges into 'out'
    order = topological_states(cell)
    assert sorted(order) == list(range(6))
    for src, dst in ((s, d) for s, d in g.edges() if d != "out"):
        assert order.index(src) < order.index(dst)
    # DARTS_V2 normal node 3 (state 5): skip_connect from state 0, dil_conv_3x3 from state 2
    assert [d["op"] for d in g[0][5].values()] == ["skip_connect"]
    assert [d["op"] for d in g[2][5].values()] == ["dil_conv_3x3"]


def test_reachability_and_dead_nodes(desc):
    cell = desc.cell_descs[0].clone()
    assert states_reaching_output(cell) == {0, 1, 2, 3, 4, 5} and dead_nodes(cell) == []
    cell.concat = [3, 4, 5]  # state 2 is not concatenated but feeds state 5
    assert 2 in states_reaching_output(cell) and dead_nodes(cell) == []
    cell.concat = [3, 4]  # now state 5 is unused, and state 2 fed only state 5
    assert dead_nodes(cell) == [0, 3]


def test_edits_return_new_validated_cells(desc):
    cell = desc.cell_descs[0]
    before = cell.hash()
    rewired = rewire_edge(cell, 3, 1, [1])
    assert rewired.nodes[3].edges[1].input_ids == [1] and cell.hash() == before
    removed = remove_edge(cell, 3, 0)
    assert len(removed.nodes[3].edges) == 1 and len(cell.nodes[3].edges) == 2
    with pytest.raises(DescError, match=r"nodes\[1\]\.edges\[0\]\.input_ids: state 4 is not earlier"):
        rewire_edge(cell, 1, 0, [4])


def test_model_graph_wiring(desc):
    g = model_graph(desc)
    assert nx.is_directed_acyclic_graph(g)
    assert set(g.predecessors("cell_descs[2]")) == {"cell_descs[0]", "cell_descs[1]"}
    assert set(g.predecessors("cell_descs[0]")) == {"model_stems[0]"}
    assert list(g.successors("pool_op")) == ["logits_op"] and "aux_tower_descs[2]" in g
