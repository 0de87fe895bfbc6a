"""One-node cells wired by `input_cells`, for the wiring tests of descriptions and of models."""

from __future__ import annotations

from descgraph.desc import CellDesc, ConvMacroParams, EdgeDesc, ModelDesc, NodeDesc, OpDesc


def one_node_cell(index: int, edge_ops: list[str], shape: list[int], input_cells: list[int] | None = None) -> CellDesc:
    """Cell `index` of one node summing `edge_ops[s]` of stem s, its output; stems and post op are identities."""
    ch = shape[0]

    def op(name: str) -> OpDesc:
        return OpDesc(name=name, params={"ch_in": ch, "ch_out": ch})

    n = len(edge_ops)
    return CellDesc(
        id=index,
        stems=[op("identity") for _ in range(n)],
        stem_shapes=[list(shape)] * n,
        nodes=[
            NodeDesc(
                edges=[EdgeDesc(op_desc=op(name), input_ids=[s]) for s, name in enumerate(edge_ops)],
                conv_params=ConvMacroParams(ch_in=ch, ch_out=ch),
            )
        ],
        node_shapes=[list(shape)],
        post_op=op("identity"),
        out_shape=list(shape),
        concat=[n],
        trainables_from=index,
        input_cells=input_cells or [],
    )


def wired_model(cells: list[CellDesc], input_size: int, n_classes: int) -> ModelDesc:
    """A model of these cells over an RGB input: one 3x3 stem, global average pool, linear logits."""
    ch = cells[-1].out_shape[0]
    return ModelDesc(
        input_shape=[3, input_size, input_size],
        n_classes=n_classes,
        model_stems=[OpDesc(name="stem_conv3x3", params={"ch_in": 3, "ch_out": ch})],
        cell_descs=cells,
        pool_op=OpDesc(name="pool_adaptive_avg2d", params={"ch_in": ch, "ch_out": ch}),
        logits_op=OpDesc(name="linear", params={"ch_in": ch, "ch_out": n_classes}),
    )
