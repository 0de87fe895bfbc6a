"""Random finalizers: from a supernet, keep random edges with random non-`none` ops."""

from __future__ import annotations

import random

from descgraph.desc import EdgeDesc
from descgraph.nas.finalizers import FINALIZERS, Finalizers, plain_op
from descgraph.nn import DagEdge


@FINALIZERS.register("random")
class RandomFinalizers(Finalizers):
    """Each edge proposes a uniformly drawn op other than `none` with a random score, so every
    node keeps `max_final_edges` random edges (Archai's random finalizer)."""

    def __init__(self, max_final_edges: int = 2, seed: int = 0) -> None:
        super().__init__(max_final_edges)
        self.rng = random.Random(seed)

    def finalize_edge(self, edge: DagEdge) -> tuple[EdgeDesc | None, float]:
        children = [c for c in edge.desc.op_desc.children if c.name != "none"]
        if not children:
            return super().finalize_edge(edge)
        op = self.rng.choice(children)
        return EdgeDesc(op_desc=plain_op(op), input_ids=list(edge.input_ids)), self.rng.random()
