"""MixedOp: the DARTS continuous relaxation, a softmax(alpha)-weighted sum of candidate ops."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from descgraph.nn import ArchParams
from descgraph.ops import register_op
from descgraph.ops.basic import Zero


def strip_leading_relu(op: nn.Module) -> bool:
    """Replace the ReLU an op starts with by Identity; True if it had one.

    SepConv and DilConv both begin with ReLU(x): computed once per edge instead of once per op.
    """
    m = op
    while isinstance(m, nn.Sequential) and len(m) and isinstance(m[0], nn.Sequential):
        m = m[0]
    if isinstance(m, nn.Sequential) and len(m) and isinstance(m[0], nn.ReLU):
        m[0] = nn.Identity()
        return True
    return False


@register_op("mixed_op")
class MixedOp(nn.Module):
    """sum_i softmax(alpha)_i * op_i(x) over the candidate ops (DARTS eq. 2).

    Two exact shortcuts: `none` contributes zeros, so it is not run (its alpha still counts in the
    softmax); ops that begin with ReLU share one ReLU of the input.

    Args:
        children: the candidate ops, built from the desc's children.
        ch_in: input channels (recorded for validation).
        ch_out: output channels.
        stride: stride of every candidate.
        arch_params: alphas shared with the same edge of another cell, or None to own new ones.
    """

    supernet_only = True  # a finalizer replaces it by one of its children; it never reaches a final network

    def __init__(
        self, children: list[nn.Module], ch_in: int, ch_out: int, stride: int = 1, arch_params: ArchParams | None = None
    ) -> None:
        super().__init__()
        self.ops = nn.ModuleList(children)
        self.stride = stride
        self.reads_relu = [strip_leading_relu(op) for op in self.ops]
        self.active = [i for i, op in enumerate(self.ops) if not isinstance(op, Zero)]
        self.relu = nn.ReLU(inplace=False) if any(self.reads_relu) else None
        # DARTS initializes alphas as 1e-3 * N(0, 1)
        self.arch_params = arch_params or ArchParams(alphas=1e-3 * torch.randn(len(children)))

    @property
    def alphas(self) -> nn.Parameter:
        return self.arch_params["alphas"]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights = F.softmax(self.alphas, dim=-1)
        relu_x = self.relu(x) if self.relu is not None else None
        out = None
        for i in self.active:
            y = self.ops[i](relu_x if self.reads_relu[i] else x)
            out = y * weights[i] if out is None else torch.addcmul(out, y, weights[i])  # one pass for w*y + out
        if out is None:  # only `none` candidates
            out = x[:, :, :: self.stride, :: self.stride].mul(0.0)
        return out
