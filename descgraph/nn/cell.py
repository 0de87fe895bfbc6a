"""Cell: stems that adapt the inputs, a DAG of nodes (each the sum of its edges), and a post op."""

from __future__ import annotations

import torch
from torch import nn

from descgraph import ops
from descgraph.desc import CellDesc
from descgraph.errors import DescError
from descgraph.nn.dag_edge import DagEdge


class Cell(nn.Module):
    """A compiled CellDesc.

    Args:
        desc: the cell's description.
        affine: whether BN layers learn scale and shift.
        droppath: whether edges get drop path.
        arch_source: the cell named by `desc.trainables_from`, whose architecture parameters
            this cell shares (None for a cell that owns its own).
    """

    def __init__(self, desc: CellDesc, affine: bool, droppath: bool, arch_source: Cell | None = None):
        super().__init__()
        self.desc = desc
        self.stems = nn.ModuleList(ops.create(s, affine=affine) for s in desc.stems)
        self.dag = nn.ModuleList()
        for j, node in enumerate(desc.nodes):
            if not node.edges:
                raise DescError(f"cell {desc.id}: nodes[{j}] has no edges")
            edges = []
            for k, edge in enumerate(node.edges):
                shared = arch_source.dag[j][k].arch_params if arch_source is not None else None
                edges.append(DagEdge(edge, affine=affine, droppath=droppath, arch_params=shared))
            self.dag.append(nn.ModuleList(edges))
        n_stems = len(desc.stems)
        self.concat = list(desc.concat) or list(range(n_stems, n_stems + len(desc.nodes)))
        self.post_op = ops.create(desc.post_op, affine=affine)

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        states = [stem(x) for stem, x in zip(self.stems, inputs)]
        for edges in self.dag:
            out = edges[0](states)
            for edge in edges[1:]:
                out = out + edge(states)
            states.append(out)
        return self.post_op(*[states[i] for i in self.concat])
