"""Plain convolution ops: the conv-BN blocks, NAS-Bench-201's conv_1x1/3x3 and shortcut, DARTS's conv_7x1_1x7.

Every conv has bias=False because a BN follows with its own shift; DARTS parameter counts depend on it.
Ops that start with a ReLU keep it as their first module: DARTS's MixedOp shares one ReLU among them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from descgraph.ops._checks import require_stride
from descgraph.ops._registry import register_op


class PointwiseConv2d(nn.Conv2d):
    """A bias-free 1x1 conv whose stride takes every stride-th pixel before convolving: nn.Conv2d's result.

    Why: with channels-last tensors, torch 2.13's oneDNN backward of a 1x1 stride-2 conv corrupts memory
    for 2 to 7 input channels on one thread of an AVX2-only CPU; the stride-1 kernel is sound.
    """

    def __init__(self, ch_in: int, ch_out: int, stride: int = 1) -> None:
        super().__init__(ch_in, ch_out, 1, stride=stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        step_h, step_w = self.stride
        if step_h == step_w == 1:
            return super().forward(x)
        return F.conv2d(x[:, :, ::step_h, ::step_w], self.weight)


def _conv(ch_in: int, ch_out: int, kernel: int, stride: int) -> nn.Conv2d:
    """A bias-free square conv padded by kernel // 2, so the output is ceil(size / stride)."""
    if kernel == 1:
        return PointwiseConv2d(ch_in, ch_out, stride)
    return nn.Conv2d(ch_in, ch_out, kernel, stride=stride, padding=kernel // 2, bias=False)


class ConvBN(nn.Sequential):
    """Conv -> BN.

    Args:
        ch_in: input channels.
        ch_out: output channels.
        kernel: square kernel size, padded by kernel // 2.
        stride: spatial stride.
        affine: whether the BN learns scale and shift.
    """

    def __init__(self, ch_in: int, ch_out: int, kernel: int, stride: int = 1, affine: bool = True) -> None:
        super().__init__(_conv(ch_in, ch_out, kernel, stride), nn.BatchNorm2d(ch_out, affine=affine))


class ConvBNReLU(nn.Sequential):
    """Conv -> BN -> ReLU; arguments as ConvBN."""

    def __init__(self, ch_in: int, ch_out: int, kernel: int, stride: int = 1, affine: bool = True) -> None:
        super().__init__(
            _conv(ch_in, ch_out, kernel, stride), nn.BatchNorm2d(ch_out, affine=affine), nn.ReLU(inplace=False)
        )


class ReLUConvBN(nn.Sequential):
    """ReLU -> conv -> BN (DARTS ReLUConvBN); arguments as ConvBN."""

    def __init__(self, ch_in: int, ch_out: int, kernel: int, stride: int = 1, affine: bool = True) -> None:
        super().__init__(
            nn.ReLU(inplace=False), _conv(ch_in, ch_out, kernel, stride), nn.BatchNorm2d(ch_out, affine=affine)
        )


@register_op("conv_1x1")
class Conv1x1(ReLUConvBN):
    """ReLU -> 1x1 conv -> BN (NAS-Bench-201 `nor_conv_1x1`); arguments as ConvBN without `kernel`."""

    def __init__(self, ch_in: int, ch_out: int, stride: int = 1, affine: bool = True) -> None:
        super().__init__(ch_in, ch_out, kernel=1, stride=stride, affine=affine)


@register_op("conv_3x3")
class Conv3x3(ReLUConvBN):
    """ReLU -> 3x3 conv -> BN (NAS-Bench-201 `nor_conv_3x3`); arguments as ConvBN without `kernel`."""

    def __init__(self, ch_in: int, ch_out: int, stride: int = 1, affine: bool = True) -> None:
        super().__init__(ch_in, ch_out, kernel=3, stride=stride, affine=affine)


@register_op("convbnrelu_1x1")
class ConvBNReLU1x1(ConvBNReLU):
    """1x1 conv -> BN -> ReLU; arguments as ConvBN without `kernel`."""

    def __init__(self, ch_in: int, ch_out: int, stride: int = 1, affine: bool = True) -> None:
        super().__init__(ch_in, ch_out, kernel=1, stride=stride, affine=affine)


@register_op("convbnrelu_3x3")
class ConvBNReLU3x3(ConvBNReLU):
    """3x3 conv -> BN -> ReLU; arguments as ConvBN without `kernel`."""

    def __init__(self, ch_in: int, ch_out: int, stride: int = 1, affine: bool = True) -> None:
        super().__init__(ch_in, ch_out, kernel=3, stride=stride, affine=affine)


@register_op("conv_7x1_1x7")
class FactorizedConv7x7(nn.Sequential):
    """ReLU -> 1x7 conv -> 7x1 conv -> BN: a 7x7 receptive field in two thin convs (DARTS `conv_7x1_1x7`).

    Args:
        ch_in: input channels.
        ch_out: output channels (the 1x7 conv keeps ch_in, as DARTS's C -> C -> C).
        stride: spatial stride, the 1x7 conv striding W and the 7x1 conv H.
        affine: whether the BN learns scale and shift.
    """

    def __init__(self, ch_in: int, ch_out: int, stride: int = 1, affine: bool = True) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(ch_in, ch_in, (1, 7), stride=(1, stride), padding=(0, 3), bias=False),
            nn.Conv2d(ch_in, ch_out, (7, 1), stride=(stride, 1), padding=(3, 0), bias=False),
            nn.BatchNorm2d(ch_out, affine=affine),
        )


@register_op("resnet_downsample")
class ResNetDownsample(nn.Sequential):
    """2x2 average pool with stride 2, then a 1x1 conv: the shortcut of NAS-Bench-201's residual reduction block.

    As the benchmark's `ResNetBasicblock.downsample` (no BN); `ceil_mode` makes odd sizes ceil(size / 2),
    as the block's strided 3x3 conv does, and changes nothing on even sizes.

    Args:
        ch_in: input channels.
        ch_out: output channels.
        stride: must be 2.
    """

    def __init__(self, ch_in: int, ch_out: int, stride: int = 2) -> None:
        require_stride(stride, 2)
        super().__init__(nn.AvgPool2d(2, stride=2, ceil_mode=True), nn.Conv2d(ch_in, ch_out, 1, bias=False))
