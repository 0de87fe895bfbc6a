"""networkx views of descriptions, and edits that return new, re-validated cells.

g = cell_graph(cell)                 # states as nodes, one graph edge per DAG edge input
nx.topological_sort(g)               # any networkx algorithm applies
cell = rewire_edge(cell, 1, 0, [0])  # a new CellDesc; the one given is never changed
"""

from __future__ import annotations

import networkx as nx

from descgraph.desc.model_desc import CellDesc, ModelDesc
from descgraph.desc.validate import validate_cell

OUT = "out"


def cell_graph(cell: CellDesc) -> nx.MultiDiGraph:
    """States (stems, then nodes) as graph nodes, an edge per (input state, node) pair, and an 'out' sink."""
    g = nx.MultiDiGraph(cell_id=cell.id, cell_type=cell.cell_type.value)
    n_stems = len(cell.stems)
    for s in range(cell.n_states):
        kind = "stem" if s < n_stems else "node"
        g.add_node(s, kind=kind, index=s if s < n_stems else s - n_stems, shape=cell.state_shape(s))
    for j, node in enumerate(cell.nodes):
        for k, edge in enumerate(node.edges):
            for src in edge.input_ids:
                g.add_edge(src, n_stems + j, op=edge.op_desc.name, edge_index=k, op_desc=edge.op_desc)
    g.add_node(OUT, kind="out", shape=cell.out_shape)
    for s in cell.concat or range(n_stems, cell.n_states):
        g.add_edge(s, OUT, op=cell.post_op.name)
    return g


def model_graph(desc: ModelDesc) -> nx.DiGraph:
    """Model stems -> cells (cell i reads cells i-2 and i-1, or its `input_cells`) -> aux towers, pool -> logits."""
    g = nx.DiGraph()
    stems = [f"model_stems[{i}]" for i in range(len(desc.model_stems))]
    for i, name in enumerate(stems):
        g.add_node(name, kind="model_stem", op=desc.model_stems[i].name)
        if i:
            g.add_edge(stems[i - 1], name)
    outputs = [stems[0], stems[-1]]  # s0 and s1 before the first cell
    for i, cell in enumerate(desc.cell_descs):
        name = f"cell_descs[{i}]"
        g.add_node(name, kind="cell", cell_type=cell.cell_type.value, out_shape=cell.out_shape)
        for k in cell.stem_inputs(i):
            g.add_edge(outputs[k + 2], name)
        outputs.append(name)
        aux = desc.aux_tower(i)
        if aux is not None:
            g.add_node(f"aux_tower_descs[{i}]", kind="aux_tower")
            g.add_edge(name, f"aux_tower_descs[{i}]")
    g.add_node("pool_op", kind="pool", op=desc.pool_op.name)
    g.add_node("logits_op", kind="logits", op=desc.logits_op.name)
    g.add_edge(outputs[-1], "pool_op")
    g.add_edge("pool_op", "logits_op")
    return g


def topological_states(cell: CellDesc) -> list[int]:
    """The cell's states in a topological order of its DAG."""
    return [s for s in nx.topological_sort(cell_graph(cell)) if s != OUT]


def states_reaching_output(cell: CellDesc) -> set[int]:
    """States from which the cell's output can be reached."""
    return nx.ancestors(cell_graph(cell), OUT)


def dead_nodes(cell: CellDesc) -> list[int]:
    """Indices of nodes whose state never reaches the output: computed, then thrown away."""
    live, n_stems = states_reaching_output(cell), len(cell.stems)
    return [j for j in range(len(cell.nodes)) if n_stems + j not in live]


def remove_edge(cell: CellDesc, node_index: int, edge_index: int) -> CellDesc:
    """A copy of `cell` without one edge, validated."""
    new = cell.clone()
    del new.nodes[node_index].edges[edge_index]
    validate_cell(new, path=f"cell[{cell.id}]")
    return new


def rewire_edge(cell: CellDesc, node_index: int, edge_index: int, input_ids: list[int]) -> CellDesc:
    """A copy of `cell` whose edge reads other states, validated (a later state is a cycle: DescError)."""
    new = cell.clone()
    new.nodes[node_index].edges[edge_index].input_ids = list(input_ids)
    validate_cell(new, path=f"cell[{cell.id}]")
    return new
