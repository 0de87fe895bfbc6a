"""Cell stems that adapt a previous cell's output: prepr_reduce (FactorizedReduce), factorized_reduce, prepr_normal."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from descgraph.ops._checks import require_stride
from descgraph.ops._registry import register_op
from descgraph.ops.convs import PointwiseConv2d, ReLUConvBN


@register_op("prepr_reduce")
class FactorizedReduce(nn.Module):
    """Halve H and W with two 1x1 stride-2 convs, the second shifted by one pixel (DARTS FactorizedReduce).

    Odd sizes are padded by one zero row/column at the bottom/right so both halves are
    ceil(H/2) x ceil(W/2); even sizes compute exactly what DARTS does.

    Args:
        ch_in: input channels.
        ch_out: output channels, split between the two convs.
        affine: whether the BN learns scale and shift.
        stride: must be 2.
    """

    def __init__(self, ch_in: int, ch_out: int, affine: bool = True, stride: int = 2) -> None:
        super().__init__()
        require_stride(stride, 2)
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = PointwiseConv2d(ch_in, ch_out // 2, stride=2)
        self.conv_2 = PointwiseConv2d(ch_in, ch_out - ch_out // 2, stride=2)
        self.bn = nn.BatchNorm2d(ch_out, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        pad_h, pad_w = x.shape[-2] % 2, x.shape[-1] % 2
        if pad_h or pad_w:  # DARTS would fail to concatenate halves of different sizes
            x = F.pad(x, (0, pad_w, 0, pad_h))
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(x[:, :, 1:, 1:])], dim=1))


@register_op("prepr_normal")
class PreprNormal(ReLUConvBN):
    """ReLU -> 1x1 conv -> BN: a cell stem that only adapts channels (DARTS ReLUConvBN(C_prev, C, 1, 1, 0)).

    Args:
        ch_in: input channels.
        ch_out: output channels.
        affine: whether the BN learns scale and shift.
    """

    def __init__(self, ch_in: int, ch_out: int, affine: bool = True) -> None:
        super().__init__(ch_in, ch_out, kernel=1, affine=affine)


@register_op("factorized_reduce")
class FactorizedReduceNoReLU(nn.Sequential):
    """FactorizedReduce without the leading ReLU, once per halving: stride 2, or 4 for two in a row.

    ENAS reduces a layer's inputs this way (Pham et al., 2018; NNI's zoo `FactorizedReduce`): they are BN
    outputs, read directly. A state that crossed two reductions of the network is halved twice.

    Args:
        ch_in: input channels.
        ch_out: output channels (the second halving keeps them).
        stride: 2 or 4.
        affine: whether the BNs learn scale and shift.
    """

    def __init__(self, ch_in: int, ch_out: int, stride: int = 2, affine: bool = True) -> None:
        require_stride(stride, 2, 4)
        halvings = [FactorizedReduce(ch_in, ch_out, affine=affine)]
        if stride == 4:
            halvings.append(FactorizedReduce(ch_out, ch_out, affine=affine))
        for halving in halvings:
            halving.relu = nn.Identity()
        super().__init__(*halvings)
