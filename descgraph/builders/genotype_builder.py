"""Building a final ModelDesc from a DARTS genotype."""

from __future__ import annotations

from descgraph.builders.model_desc_builder import ModelDescBuilder
from descgraph.conf.schema import ModelDescConf
from descgraph.desc import CellType, ConvMacroParams, EdgeDesc, ModelDesc, NodeDesc, OpDesc, Shape
from descgraph.desc.genotype import Genotype


class GenotypeBuilder(ModelDescBuilder):
    """Places a genotype's ops in every cell: node k takes the pairs [k*e, (k+1)*e) (e edges per node).

    Args:
        genotype: the DARTS genotype.
        edges_per_node: pairs per node (2 in DARTS).
    """

    def __init__(self, genotype: Genotype, edges_per_node: int = 2) -> None:
        self.genotype, self.edges_per_node = genotype, edges_per_node

    def build_nodes(
        self, index: int, cell_type: CellType, stem_shapes: list[Shape], ch: int
    ) -> tuple[list[NodeDesc], list[int]]:
        is_reduction = cell_type == CellType.REDUCTION
        pairs = self.genotype.reduce if is_reduction else self.genotype.normal
        concat = self.genotype.reduce_concat if is_reduction else self.genotype.normal_concat
        e, n_stems = self.edges_per_node, len(stem_shapes)
        nodes = []
        for k in range(len(pairs) // e):
            edges = [
                EdgeDesc(op_desc=_genotype_op(name, ch, 2 if is_reduction and src < n_stems else 1), input_ids=[src])
                for name, src in pairs[k * e : (k + 1) * e]
            ]
            nodes.append(NodeDesc(edges=edges, conv_params=ConvMacroParams(ch_in=ch, ch_out=ch)))
        return nodes, list(concat)


def _genotype_op(name: str, ch: int, stride: int) -> OpDesc:
    params = {"ch_in": ch, "ch_out": ch}
    if stride != 1:
        params["stride"] = stride
    return OpDesc(name=name, params=params)


def build_from_genotype(genotype: Genotype, conf: ModelDescConf, edges_per_node: int = 2) -> ModelDesc:
    """The final description of `genotype` at the macro of `conf`, with the genotype in its params."""
    from descgraph.desc.genotype import format_genotype

    desc = GenotypeBuilder(genotype, edges_per_node).build(conf)
    desc.params = {**desc.params, "genotype": format_genotype(genotype)}
    return desc
