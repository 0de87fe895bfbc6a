"""DARTS finalizers: each edge becomes its strongest op other than `none`; each node keeps its top edges."""

from __future__ import annotations

import torch

from descgraph.desc import EdgeDesc
from descgraph.nas.finalizers import FINALIZERS, Finalizers, plain_op
from descgraph.nn import DagEdge


@FINALIZERS.register("darts")
class DartsFinalizers(Finalizers):
    """DARTS sec. 2.4: keep the top-k incoming edges by their strongest non-`none` op weight."""

    def finalize_edge(self, edge: DagEdge) -> tuple[EdgeDesc | None, float]:
        children = edge.desc.op_desc.children
        if not children:
            return super().finalize_edge(edge)
        with torch.no_grad():
            weights = torch.softmax(edge.op.alphas.detach().float(), dim=-1)
        candidates = [i for i, c in enumerate(children) if c.name != "none"]
        best = max(candidates, key=lambda i: float(weights[i]))
        return EdgeDesc(op_desc=plain_op(children[best]), input_ids=list(edge.input_ids)), float(weights[best])
