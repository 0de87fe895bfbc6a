"""Where a description spends its inference time: each op with the shapes it reads, and each node's sum.

Shapes follow from the description alone (the wiring of `descgraph.nn.Model`: cell i reads cells i-2
and i-1, a node sums its edges, the post op concatenates), so pricing a description from a lookup
table needs no torch. Aux towers are left out: they do not run at inference.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from descgraph.desc import ModelDesc, OpDesc, Shape


@dataclass(frozen=True)
class OpSite:
    """An op of a description and the shapes of its inputs (without the batch axis)."""

    path: str
    op: OpDesc
    in_shapes: tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class SumSite:
    """A node that sums `terms` edge outputs of `shape` (terms - 1 additions)."""

    path: str
    shape: tuple[int, ...]
    terms: int


@dataclass(frozen=True)
class NodeSite:
    """A node of two single-input edges, as one block: a `multi_op` summing the two edge ops.

    onnxruntime fuses a node's sum into one of its convolutions and keeps the layout between them, so a
    node costs less than its two edges and an addition timed apart; `edge_paths` are the sites it covers.
    """

    path: str
    op: OpDesc
    in_shapes: tuple[tuple[int, ...], ...]
    edge_paths: tuple[str, ...]


def node_op(edges: list[tuple[OpDesc, tuple[int, ...], int]]) -> tuple[OpDesc, tuple[tuple[int, ...], ...]]:
    """The canonical `multi_op` summing edges given as (op, input shape, input state), and its input shapes.

    A sum does not depend on the order of its terms, so the edges are sorted: equal nodes share one key.
    """
    edges = sorted(edges, key=lambda e: (e[0].name, json.dumps(e[0].params, sort_keys=True), e[1], e[2]))
    states = sorted({state for _, _, state in edges}, key=[state for _, _, state in edges].index)
    shapes = tuple(next(shape for _, shape, st in edges if st == state) for state in states)
    op = OpDesc(
        name="multi_op",
        params={"reduce": "sum", "in_len": len(states)},
        in_len=len(states),
        children=[o for o, _, _ in edges],
        children_ins=[[states.index(state)] for _, _, state in edges],
    )
    return op, shapes


def node_sites(desc: ModelDesc) -> list[NodeSite]:
    """Every node whose edges are exactly two ops of one input each, as a NodeSite."""
    sites = []
    for i, cell in enumerate(desc.cell_descs):
        for j, node in enumerate(cell.nodes):
            if len(node.edges) != 2 or any(len(e.input_ids) != 1 or e.op_desc.children for e in node.edges):
                continue
            edges = [(e.op_desc, _t(cell.state_shape(e.input_ids[0])), e.input_ids[0]) for e in node.edges]
            op, shapes = node_op(edges)
            paths = tuple(f"cell_descs[{i}].nodes[{j}].edges[{k}].op_desc" for k in range(2))
            sites.append(NodeSite(f"cell_descs[{i}].nodes[{j}]", op, shapes, paths))
    return sites


def _t(shape: Shape) -> tuple[int, ...]:
    return tuple(int(s) for s in shape)


def stem_out_shape(op: OpDesc, in_shape: Shape) -> Shape:
    """Output shape of a model stem: `ch_out` channels, spatial size divided by its stride (rounded up)."""
    stride = op.stride
    return [op.ch_out, *(-(-s // stride) for s in in_shape[1:])]


def _model_stem_sites(desc: ModelDesc) -> tuple[list[OpSite], list[Shape]]:
    sites, shape, outs = [], list(desc.input_shape), []
    for i, stem in enumerate(desc.model_stems):
        sites.append(OpSite(f"model_stems[{i}]", stem, (_t(shape),)))
        shape = stem_out_shape(stem, shape)
        outs.append(shape)
    return sites, outs * 2 if len(outs) == 1 else outs


def op_sites(desc: ModelDesc) -> list[OpSite]:
    """Every top-level op that runs at inference, in model order, with its input shapes."""
    sites, (s0, s1) = _model_stem_sites(desc)
    outs: dict[int, Shape] = {-2: s0, -1: s1}  # outputs numbered as in CellDesc.stem_inputs
    for i, cell in enumerate(desc.cell_descs):
        inputs = [outs[k] for k in cell.stem_inputs(i)]
        prefix = f"cell_descs[{i}]"
        sites += [OpSite(f"{prefix}.stems[{k}]", op, (_t(inputs[k]),)) for k, op in enumerate(cell.stems)]
        for j, node in enumerate(cell.nodes):
            for k, edge in enumerate(node.edges):
                shapes = tuple(_t(cell.state_shape(s)) for s in edge.input_ids)
                sites.append(OpSite(f"{prefix}.nodes[{j}].edges[{k}].op_desc", edge.op_desc, shapes))
        n_stems = len(cell.stems)
        concat = cell.concat or list(range(n_stems, cell.n_states))
        sites.append(OpSite(f"{prefix}.post_op", cell.post_op, tuple(_t(cell.state_shape(s)) for s in concat)))
        outs[i] = cell.out_shape
    last = outs[len(desc.cell_descs) - 1] if desc.cell_descs else s1
    sites.append(OpSite("pool_op", desc.pool_op, (_t(last),)))
    sites.append(OpSite("logits_op", desc.logits_op, ((desc.pool_op.ch_out or last[0],),)))
    return sites


def sum_sites(desc: ModelDesc) -> list[SumSite]:
    """Every node with more than one edge: its outputs are added (terms - 1 element-wise additions)."""
    return [
        SumSite(f"cell_descs[{i}].nodes[{j}]", _t(cell.node_shapes[j]), len(node.edges))
        for i, cell in enumerate(desc.cell_descs)
        for j, node in enumerate(cell.nodes)
        if len(node.edges) > 1
    ]
