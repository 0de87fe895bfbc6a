"""Cell post ops: concate_channels (DARTS) and proj_channels combine several states; batch_norm normalizes one."""

from __future__ import annotations

import torch
from torch import nn

from descgraph.ops._checks import require_same_channels
from descgraph.ops._registry import register_op
from descgraph.ops.convs import ReLUConvBN


@register_op("concate_channels")
class ConcateChannels(nn.Module):
    """Concatenate the inputs on channels (a DARTS cell's output).

    Args:
        ch_in: total channels of the inputs.
        ch_out: output channels, equal to ch_in.
        in_len: number of inputs.
    """

    def __init__(self, ch_in: int, ch_out: int, in_len: int) -> None:
        super().__init__()
        require_same_channels(ch_in, ch_out)
        self.in_len = in_len

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, dim=1)


@register_op("proj_channels")
class ProjChannels(nn.Module):
    """Concatenate the inputs on channels, then ReLU -> 1x1 conv -> BN down to ch_out.

    Args:
        ch_in: total channels of the inputs.
        ch_out: output channels.
        in_len: number of inputs.
        affine: whether the BN learns scale and shift.
    """

    def __init__(self, ch_in: int, ch_out: int, in_len: int, affine: bool = True) -> None:
        super().__init__()
        self.in_len = in_len
        self.proj = ReLUConvBN(ch_in, ch_out, kernel=1, affine=affine)

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return self.proj(torch.cat(xs, dim=1))


@register_op("batch_norm")
class BatchNorm(nn.BatchNorm2d):
    """A BN over one state: an ENAS macro layer normalizes the sum of its op and skips (NNI `ENASMacroLayer`).

    Args:
        ch_in: input channels.
        ch_out: output channels, equal to ch_in.
        affine: whether the BN learns scale and shift.
    """

    def __init__(self, ch_in: int, ch_out: int, affine: bool = True) -> None:
        require_same_channels(ch_in, ch_out)
        super().__init__(ch_out, affine=affine)
