"""multi_op: several child ops over the op's inputs, concatenated or summed."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from descgraph.errors import DescError
from descgraph.ops._factory import register_op


@register_op("multi_op")
class MultiOp(nn.Module):
    """Child i reads the inputs listed in children_ins[i] (all of them when empty); outputs are combined.

    Args:
        children: the child ops, built from the desc's children.
        children_ins: which inputs each child reads.
        reduce: "cat" concatenates the outputs on channels, "sum" adds them.
    """

    def __init__(
        self,
        children: list[nn.Module],
        children_ins: list[list[int]] | None = None,
        reduce: Literal["cat", "sum"] = "cat",
        ch_in: int | None = None,
        ch_out: int | None = None,
        in_len: int = 1,
    ) -> None:
        super().__init__()
        if reduce not in ("cat", "sum"):
            raise DescError(f"op 'multi_op': reduce must be 'cat' or 'sum', got {reduce!r}")
        self.ops = nn.ModuleList(children)
        self.children_ins = [list(c) for c in children_ins] if children_ins else [[] for _ in children]
        self.reduce = reduce

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        outs = [op(*(xs[i] for i in ins) if ins else xs) for op, ins in zip(self.ops, self.children_ins)]
        return torch.cat(outs, dim=1) if self.reduce == "cat" else torch.stack(outs).sum(dim=0)
