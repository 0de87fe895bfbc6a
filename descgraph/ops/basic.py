"""Ops that zero or pass their input: none, identity, skip_connect (DARTS operations.py)."""

from __future__ import annotations

import torch
from torch import nn

from descgraph.ops._checks import require_same_channels, require_stride
from descgraph.ops._registry import register_op
from descgraph.ops.preprocess import FactorizedReduce


@register_op("none")
class Zero(nn.Module):
    """Zeros of the strided shape: the `none` candidate, which lets a search drop an edge.

    Args:
        ch_in: input channels.
        ch_out: output channels, equal to ch_in.
        stride: spatial stride; the output keeps every stride-th row and column.
    """

    def __init__(self, ch_in: int, ch_out: int, stride: int = 1) -> None:
        super().__init__()
        require_same_channels(ch_in, ch_out)
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            return x.mul(0.0)
        return x[:, :, :: self.stride, :: self.stride].mul(0.0)

    def extra_repr(self) -> str:
        return f"stride={self.stride}"


@register_op("identity")
class Identity(nn.Module):
    """Returns its input.

    Args:
        ch_in: input channels.
        ch_out: output channels, equal to ch_in.
        stride: must be 1.
    """

    #: strides at which the op returns its input unchanged (drop path leaves such edges alone, as DARTS does)
    identity_strides: tuple[int, ...] = (1,)

    def __init__(self, ch_in: int, ch_out: int, stride: int = 1) -> None:
        super().__init__()
        require_same_channels(ch_in, ch_out)
        require_stride(stride, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


@register_op("skip_connect")
class SkipConnect(nn.Module):
    """Identity at stride 1, FactorizedReduce at stride 2 (DARTS `skip_connect`).

    Args:
        ch_in: input channels.
        ch_out: output channels (equal to ch_in at stride 1).
        stride: 1 or 2.
        affine: whether the reduce's BN learns scale and shift.
    """

    identity_strides: tuple[int, ...] = (1,)

    def __init__(self, ch_in: int, ch_out: int, stride: int = 1, affine: bool = True) -> None:
        super().__init__()
        require_stride(stride, 1, 2)
        self.op = Identity(ch_in, ch_out) if stride == 1 else FactorizedReduce(ch_in, ch_out, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)
