"""The DARTS search supernet: every node reads every earlier state through a mixed op."""

from __future__ import annotations

from descgraph.builders import ModelDescBuilder, register_builder
from descgraph.desc import CellType, ConvMacroParams, EdgeDesc, NodeDesc, OpDesc, Shape


def mixed_op_desc(primitives: list[str], ch: int, stride: int) -> OpDesc:
    """A mixed op over `primitives`; pools get a non-affine BN after them (DARTS search MixedOp)."""
    stride_param = {"stride": stride} if stride != 1 else {}
    children = [
        OpDesc(
            name=p, params={"ch_in": ch, "ch_out": ch, **stride_param, **({"bn_after": True} if "pool" in p else {})}
        )
        for p in primitives
    ]
    return OpDesc(name="mixed_op", params={"ch_in": ch, "ch_out": ch, **stride_param}, children=children)


@register_builder("darts")
class DartsModelDescBuilder(ModelDescBuilder):
    """Search stage of DARTS: n_nodes nodes, node j with an edge from each of the 2 + j earlier states."""

    def is_affine(self) -> bool:
        # DARTS sec. A.1.1: the supernet's BNs learn no affine parameters, which would rescale the candidates
        return self.template is not None

    def build_nodes(
        self, index: int, cell_type: CellType, stem_shapes: list[Shape], ch: int
    ) -> tuple[list[NodeDesc], list[int]]:
        if self.template is not None:
            return super().build_nodes(index, cell_type, stem_shapes, ch)
        n_stems, is_reduction = len(stem_shapes), cell_type == CellType.REDUCTION
        nodes = []
        for j in range(self.conf.cell.n_nodes):
            edges = [
                EdgeDesc(
                    op_desc=mixed_op_desc(self.conf.primitives, ch, 2 if is_reduction and i < n_stems else 1),
                    input_ids=[i],
                )
                for i in range(n_stems + j)
            ]
            nodes.append(NodeDesc(edges=edges, conv_params=ConvMacroParams(ch_in=ch, ch_out=ch)))
        return nodes, list(range(n_stems, n_stems + len(nodes)))
