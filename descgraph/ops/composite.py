"""multi_op: several child ops over the op's inputs, their outputs concatenated or summed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn

from descgraph.ops._registry import register_op


@register_op("multi_op")
class MultiOp(nn.Module):
    """Child i reads the inputs listed in children_ins[i] (all of them when empty); outputs are combined.

    Args:
        children: the child ops, built by the factory from the desc's children.
        children_ins: which of the op's inputs each child reads; empty for all inputs to every child.
        reduce: "cat" concatenates the outputs on channels, "sum" adds them.
        ch_in: input channels, recorded for shape bookkeeping.
        ch_out: output channels, recorded for shape bookkeeping.
        in_len: number of inputs; when given, children_ins are checked against it.
    """

    def __init__(
        self,
        children: list[nn.Module],
        children_ins: list[list[int]] | None = None,
        reduce: Literal["cat", "sum"] = "cat",
        ch_in: int | None = None,
        ch_out: int | None = None,
        in_len: int | None = None,
    ) -> None:
        super().__init__()
        children_ins = [list(ins) for ins in children_ins] if children_ins else [[] for _ in children]
        _check_multi_op(children, children_ins, reduce, in_len)
        self.ops = nn.ModuleList(children)
        self.children_ins = children_ins
        self.reduce = reduce

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        outs = [op(*self._inputs_of(i, xs)) for i, op in enumerate(self.ops)]
        return torch.cat(outs, dim=1) if self.reduce == "cat" else sum(outs[1:], outs[0])

    def _inputs_of(self, child: int, xs: Sequence[torch.Tensor]) -> Sequence[torch.Tensor]:
        ins = self.children_ins[child]
        return [xs[i] for i in ins] if ins else xs

    def extra_repr(self) -> str:
        return f"reduce={self.reduce!r}, children_ins={self.children_ins}"


def _check_multi_op(children: list[nn.Module], children_ins: list[list[int]], reduce: str, in_len: int | None) -> None:
    """Refuse an empty op, an unknown reduction, or a child reading an input the op does not have."""
    if not children:
        raise ValueError("needs at least one child")
    if reduce not in ("cat", "sum"):
        raise ValueError(f"reduce must be 'cat' or 'sum', got {reduce!r}")
    if len(children_ins) != len(children):
        raise ValueError(f"children_ins has {len(children_ins)} entries for {len(children)} children")
    bad = [i for ins in children_ins for i in ins if i < 0 or (in_len is not None and i >= in_len)]
    if bad:
        raise ValueError(f"children_ins reads input {bad[0]}, but the op has {in_len} inputs")
