"""DagEdge: one edge of a cell, an op applied to earlier states, with optional drop path."""

from __future__ import annotations

import torch
from torch import nn

from descgraph import ops
from descgraph.desc import EdgeDesc, OpDesc
from descgraph.nn.arch_params import ArchParams


def is_identity(op_desc: OpDesc) -> bool:
    """Identity-like ops are never dropped (DARTS applies drop path to every op but Identity): those whose class
    lists the op's stride in `identity_strides`."""
    return op_desc.stride in getattr(ops.OPS.get(op_desc.name), "identity_strides", ())


class DagEdge(nn.Module):
    """An edge: `op(*states[input_ids])`, then drop path when enabled and the op is not an identity.

    Args:
        desc: the edge's description.
        affine: whether BN layers in the op learn scale and shift.
        droppath: whether to wrap the op with drop path.
        arch_params: another edge's architecture parameters to share, if any.
    """

    def __init__(self, desc: EdgeDesc, affine: bool, droppath: bool, arch_params: ArchParams | None = None):
        super().__init__()
        self.desc = desc
        self.input_ids = list(desc.input_ids)
        self.op = ops.create(desc.op_desc, affine=affine, arch_params=arch_params)
        self.drop_path = ops.DropPath(0.0) if droppath and not is_identity(desc.op_desc) else None

    @property
    def arch_params(self) -> ArchParams | None:
        """The op's architecture parameters, if it has any."""
        found = getattr(self.op, "arch_params", None)
        return found if isinstance(found, ArchParams) else None

    def forward(self, states: list[torch.Tensor]) -> torch.Tensor:
        out = self.op(*[states[i] for i in self.input_ids])
        return self.drop_path(out) if self.drop_path is not None else out
