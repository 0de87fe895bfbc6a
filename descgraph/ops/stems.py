"""Model stems: the DARTS CIFAR 3x3 stem, its ReLU variant and the two DARTS ImageNet stems."""

from __future__ import annotations

from torch import nn

from descgraph.ops._checks import require_stride
from descgraph.ops._registry import register_op
from descgraph.ops.convs import ConvBN, ConvBNReLU, ReLUConvBN


@register_op("stem_conv3x3")
class StemConv3x3(ConvBN):
    """3x3 conv -> BN (the DARTS CIFAR stem).

    Args:
        ch_in: input channels (image channels).
        ch_out: output channels.
        affine: whether the BN learns scale and shift.
    """

    def __init__(self, ch_in: int, ch_out: int, affine: bool = True) -> None:
        super().__init__(ch_in, ch_out, kernel=3, affine=affine)


@register_op("stem_conv3x3_relu")
class StemConv3x3Relu(ConvBNReLU):
    """3x3 conv -> BN -> ReLU; arguments as StemConv3x3."""

    def __init__(self, ch_in: int, ch_out: int, affine: bool = True) -> None:
        super().__init__(ch_in, ch_out, kernel=3, affine=affine)


@register_op("stem_conv3x3_s4")
class StemConv3x3S4(nn.Sequential):
    """Two stride-2 3x3 convs, conv-BN-ReLU to ch_out // 2 then conv-BN to ch_out (DARTS ImageNet stem0).

    Args:
        ch_in: input channels (image channels).
        ch_out: output channels.
        affine: whether the BNs learn scale and shift.
        stride: must be 4; stated so the desc says the stem shrinks its input by 4.
    """

    def __init__(self, ch_in: int, ch_out: int, affine: bool = True, stride: int = 4) -> None:
        require_stride(stride, 4)
        super().__init__(
            ConvBNReLU(ch_in, ch_out // 2, kernel=3, stride=2, affine=affine),
            ConvBN(ch_out // 2, ch_out, kernel=3, stride=2, affine=affine),
        )


@register_op("stem_conv3x3_s4s2")
class StemConv3x3S4S2(ReLUConvBN):
    """ReLU -> stride-2 3x3 conv -> BN (DARTS ImageNet stem1, which reads stem0's output).

    Args:
        ch_in: input channels.
        ch_out: output channels.
        affine: whether the BN learns scale and shift.
        stride: must be 2.
    """

    def __init__(self, ch_in: int, ch_out: int, affine: bool = True, stride: int = 2) -> None:
        require_stride(stride, 2)
        super().__init__(ch_in, ch_out, kernel=3, stride=2, affine=affine)
