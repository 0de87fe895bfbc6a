"""Finalizers: turn a trained supernet into a final description, edge by edge, node by node.

As in Archai, each edge proposes its best candidate with a score, and each node keeps its best
`max_final_edges` edges. Algorithms override `finalize_edge` (what an edge becomes and its score)
or `finalize_node` (which edges survive).
"""

from __future__ import annotations

from descgraph._registry import Registry
from descgraph.desc import CellDesc, EdgeDesc, ModelDesc, NodeDesc, OpDesc
from descgraph.errors import DivergenceError
from descgraph.nn import Cell, DagEdge, Model, split_parameters
from descgraph.train.divergence import first_nonfinite_tensor

FINALIZERS: Registry[type[Finalizers]] = Registry("finalizer")


def plain_op(op: OpDesc) -> OpDesc:
    """A candidate op as it appears in a final network: without the search-only BN after pools."""
    params = {k: v for k, v in op.params.items() if k != "bn_after"}
    return op.model_copy(update={"params": params}, deep=True)


@FINALIZERS.register("default")
class Finalizers:
    """Keeps every edge whose op is not composite and every node as it is (a model already final).

    Args:
        max_final_edges: edges each node keeps.
    """

    def __init__(self, max_final_edges: int = 2) -> None:
        self.max_final_edges = max_final_edges

    def finalize_model(self, model: Model) -> ModelDesc:
        """The final description of `model`: the supernet's desc with every cell finalized, a network of its own
        (its BNs learn, whether the supernet's did or not).

        Raises:
            DivergenceError: an architecture weight is NaN or infinite (nothing can be chosen from it).
        """
        bad = first_nonfinite_tensor(split_parameters(model)[1])
        if bad is not None:
            raise DivergenceError(
                f"{bad}: architecture weights are not finite: the search diverged, nothing to finalize"
            )
        desc = model.desc.model_copy(update={"affine": True}, deep=True)
        desc.cell_descs = [self.finalize_cell(cell) for cell in model.cells]
        desc.params = {**desc.params, "finalizer": type(self).__name__}
        return desc

    def finalize_cell(self, cell: Cell) -> CellDesc:
        """The cell's desc with every node finalized; the concat and stems are kept."""
        nodes = [self.finalize_node(cell, j, edges) for j, edges in enumerate(cell.dag)]
        return cell.desc.model_copy(update={"nodes": nodes}, deep=True)

    def finalize_node(self, cell: Cell, node_index: int, edges) -> NodeDesc:
        """Keep the `max_final_edges` best-scoring edges (in their original order)."""
        proposals = [self.finalize_edge(edge) for edge in edges]
        scored = [(score, k) for k, (desc, score) in enumerate(proposals) if desc is not None]
        keep = sorted(k for _, k in sorted(scored, key=lambda t: -t[0])[: self.max_final_edges])
        node = cell.desc.nodes[node_index]
        return NodeDesc(edges=[proposals[k][0] for k in keep], conv_params=node.conv_params.clone())

    def finalize_edge(self, edge: DagEdge) -> tuple[EdgeDesc | None, float]:
        """What the edge becomes in the final network and how good it is; None drops it."""
        return EdgeDesc(op_desc=plain_op(edge.desc.op_desc), input_ids=list(edge.input_ids)), 1.0


def get_finalizers(name: str, max_final_edges: int) -> Finalizers:
    """A finalizer by registered name (the registry loads algorithm plugins if needed)."""
    return FINALIZERS.get(name)(max_final_edges=max_final_edges)
