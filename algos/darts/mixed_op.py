"""MixedOp: the DARTS continuous relaxation, a softmax(alpha)-weighted sum of candidate ops."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from descgraph.nn import ArchParams
from descgraph.ops import register_op


@register_op("mixed_op")
class MixedOp(nn.Module):
    """sum_i softmax(alpha)_i * op_i(x) over the candidate ops (DARTS eq. 2).

    Args:
        children: the candidate ops, built from the desc's children.
        ch_in: input channels (recorded for validation).
        ch_out: output channels.
        stride: stride of every candidate.
        arch_params: alphas shared with the same edge of another cell, or None to own new ones.
    """

    def __init__(
        self, children: list[nn.Module], ch_in: int, ch_out: int, stride: int = 1, arch_params: ArchParams | None = None
    ) -> None:
        super().__init__()
        self.ops = nn.ModuleList(children)
        # DARTS initializes alphas as 1e-3 * N(0, 1)
        self.arch_params = arch_params or ArchParams(alphas=1e-3 * torch.randn(len(children)))

    @property
    def alphas(self) -> nn.Parameter:
        return self.arch_params["alphas"]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights = F.softmax(self.alphas, dim=-1)
        out = weights[0] * self.ops[0](x)
        for w, op in zip(weights[1:], self.ops[1:]):
            out = out + w * op(x)
        return out
