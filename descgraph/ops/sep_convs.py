"""Depthwise-separable ops: DARTS's sep_conv_3x3/5x5/7x7 and dil_conv_3x3/5x5, ENAS's sep_conv_bn_3x3/5x5.

Parameter for parameter as DARTS cnn/operations.py; each starts with a ReLU as its first module
(nested in SepConv's first DilConv), which DARTS's MixedOp shares among candidates.
"""

from __future__ import annotations

from torch import nn

from descgraph.ops._registry import register_op


class DilConv(nn.Sequential):
    """ReLU -> depthwise conv (dilated) -> pointwise 1x1 conv -> BN (DARTS DilConv).

    Args:
        ch_in: input channels.
        ch_out: output channels.
        kernel: depthwise kernel size.
        stride: stride of the depthwise conv.
        padding: padding of the depthwise conv.
        dilation: dilation of the depthwise conv.
        affine: whether the BN learns scale and shift.
    """

    def __init__(
        self, ch_in: int, ch_out: int, kernel: int, stride: int, padding: int, dilation: int, affine: bool = True
    ) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(ch_in, ch_in, kernel, stride, padding, dilation=dilation, groups=ch_in, bias=False),
            nn.Conv2d(ch_in, ch_out, 1, bias=False),
            nn.BatchNorm2d(ch_out, affine=affine),
        )


class SepConv(nn.Sequential):
    """Two undilated DilConvs, the first strided and keeping ch_in (DARTS SepConv).

    Args:
        ch_in: input channels.
        ch_out: output channels of the second DilConv.
        kernel: depthwise kernel size, padded by kernel // 2.
        stride: stride of the first DilConv.
        affine: whether the BNs learn scale and shift.
    """

    def __init__(self, ch_in: int, ch_out: int, kernel: int, stride: int = 1, affine: bool = True) -> None:
        pad = kernel // 2
        second = DilConv(ch_in, ch_out, kernel, 1, pad, dilation=1, affine=affine)
        second[0] = nn.ReLU(inplace=True)  # its input, the first BN's output, is read by nothing else
        super().__init__(DilConv(ch_in, ch_in, kernel, stride, pad, dilation=1, affine=affine), second)


@register_op("sep_conv_3x3")
class SepConv3x3(SepConv):
    """SepConv with 3x3 kernels; arguments as SepConv without `kernel`."""

    def __init__(self, ch_in: int, ch_out: int, stride: int = 1, affine: bool = True) -> None:
        super().__init__(ch_in, ch_out, kernel=3, stride=stride, affine=affine)


@register_op("sep_conv_5x5")
class SepConv5x5(SepConv):
    """SepConv with 5x5 kernels; arguments as SepConv without `kernel`."""

    def __init__(self, ch_in: int, ch_out: int, stride: int = 1, affine: bool = True) -> None:
        super().__init__(ch_in, ch_out, kernel=5, stride=stride, affine=affine)


@register_op("sep_conv_7x7")
class SepConv7x7(SepConv):
    """SepConv with 7x7 kernels; arguments as SepConv without `kernel`."""

    def __init__(self, ch_in: int, ch_out: int, stride: int = 1, affine: bool = True) -> None:
        super().__init__(ch_in, ch_out, kernel=7, stride=stride, affine=affine)


@register_op("dil_conv_3x3")
class DilConv3x3(DilConv):
    """DilConv with a 3x3 kernel, dilation 2, padding 2; arguments as SepConv without `kernel`."""

    def __init__(self, ch_in: int, ch_out: int, stride: int = 1, affine: bool = True) -> None:
        super().__init__(ch_in, ch_out, kernel=3, stride=stride, padding=2, dilation=2, affine=affine)


@register_op("dil_conv_5x5")
class DilConv5x5(DilConv):
    """DilConv with a 5x5 kernel, dilation 2, padding 4; arguments as SepConv without `kernel`."""

    def __init__(self, ch_in: int, ch_out: int, stride: int = 1, affine: bool = True) -> None:
        super().__init__(ch_in, ch_out, kernel=5, stride=stride, padding=4, dilation=2, affine=affine)


@register_op("sep_conv_bn_3x3")
class SepConvBN3x3(DilConv):
    """ReLU -> depthwise 3x3 -> pointwise 1x1 -> BN, one separable conv (ENAS micro `SepConvBN` in NNI's zoo).

    Args:
        ch_in: input channels.
        ch_out: output channels.
        stride: stride of the depthwise conv.
        affine: whether the BN learns scale and shift.
    """

    def __init__(self, ch_in: int, ch_out: int, stride: int = 1, affine: bool = True) -> None:
        super().__init__(ch_in, ch_out, kernel=3, stride=stride, padding=1, dilation=1, affine=affine)


@register_op("sep_conv_bn_5x5")
class SepConvBN5x5(DilConv):
    """SepConvBN with a 5x5 depthwise kernel, padding 2; arguments as SepConvBN3x3."""

    def __init__(self, ch_in: int, ch_out: int, stride: int = 1, affine: bool = True) -> None:
        super().__init__(ch_in, ch_out, kernel=5, stride=stride, padding=2, dilation=1, affine=affine)
