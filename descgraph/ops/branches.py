"""The layer ops of the ENAS macro space: ConvBranch and PoolBranch (Pham et al., 2018; NNI's zoo `enas_ops`).

Each starts with a 1x1 conv-BN-ReLU to ch_out (`StdConv`), so a layer can read any channel count.
Convs are bias-free, as the ENAS code's are and as everywhere in descgraph a BN follows.
"""

from __future__ import annotations

from torch import nn

from descgraph.ops._registry import register_op
from descgraph.ops.convs import ConvBNReLU


class ConvBranch(nn.Sequential):
    """1x1 conv-BN-ReLU to ch_out, a k x k conv (plain, or depthwise then pointwise), BN, ReLU.

    Args:
        ch_in: input channels.
        ch_out: output channels.
        kernel: square kernel size, padded by kernel // 2.
        separable: whether the k x k conv is depthwise-separable.
        affine: whether the BNs learn scale and shift.
    """

    def __init__(self, ch_in: int, ch_out: int, kernel: int, separable: bool, affine: bool = True) -> None:
        pad = kernel // 2
        if separable:
            conv = nn.Sequential(
                nn.Conv2d(ch_out, ch_out, kernel, padding=pad, groups=ch_out, bias=False),
                nn.Conv2d(ch_out, ch_out, 1, bias=False),
            )
        else:
            conv = nn.Conv2d(ch_out, ch_out, kernel, padding=pad, bias=False)
        super().__init__(
            ConvBNReLU(ch_in, ch_out, 1, affine=affine), conv, nn.BatchNorm2d(ch_out, affine=affine), nn.ReLU()
        )


class PoolBranch(nn.Sequential):
    """1x1 conv-BN-ReLU to ch_out, a 3x3 pool with stride 1 and padding 1, BN.

    Args:
        pool: the pooling module.
        ch_in: input channels.
        ch_out: output channels.
        affine: whether the BNs learn scale and shift.
    """

    def __init__(self, pool: nn.Module, ch_in: int, ch_out: int, affine: bool = True) -> None:
        super().__init__(ConvBNReLU(ch_in, ch_out, 1, affine=affine), pool, nn.BatchNorm2d(ch_out, affine=affine))


@register_op("enas_conv_3x3")
class EnasConv3x3(ConvBranch):
    """ConvBranch with a plain 3x3 conv; arguments as ConvBranch without `kernel` and `separable`."""

    def __init__(self, ch_in: int, ch_out: int, affine: bool = True) -> None:
        super().__init__(ch_in, ch_out, kernel=3, separable=False, affine=affine)


@register_op("enas_conv_5x5")
class EnasConv5x5(ConvBranch):
    """ConvBranch with a plain 5x5 conv; arguments as ConvBranch without `kernel` and `separable`."""

    def __init__(self, ch_in: int, ch_out: int, affine: bool = True) -> None:
        super().__init__(ch_in, ch_out, kernel=5, separable=False, affine=affine)


@register_op("enas_sep_conv_3x3")
class EnasSepConv3x3(ConvBranch):
    """ConvBranch with a separable 3x3 conv; arguments as ConvBranch without `kernel` and `separable`."""

    def __init__(self, ch_in: int, ch_out: int, affine: bool = True) -> None:
        super().__init__(ch_in, ch_out, kernel=3, separable=True, affine=affine)


@register_op("enas_sep_conv_5x5")
class EnasSepConv5x5(ConvBranch):
    """ConvBranch with a separable 5x5 conv; arguments as ConvBranch without `kernel` and `separable`."""

    def __init__(self, ch_in: int, ch_out: int, affine: bool = True) -> None:
        super().__init__(ch_in, ch_out, kernel=5, separable=True, affine=affine)


@register_op("enas_max_pool_3x3")
class EnasMaxPool3x3(PoolBranch):
    """PoolBranch with a 3x3 max pool; arguments as PoolBranch without `pool`."""

    def __init__(self, ch_in: int, ch_out: int, affine: bool = True) -> None:
        super().__init__(nn.MaxPool2d(3, stride=1, padding=1), ch_in, ch_out, affine=affine)


@register_op("enas_avg_pool_3x3")
class EnasAvgPool3x3(PoolBranch):
    """PoolBranch with a 3x3 average pool that leaves the padding out; arguments as PoolBranch without `pool`."""

    def __init__(self, ch_in: int, ch_out: int, affine: bool = True) -> None:
        pool = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
        super().__init__(pool, ch_in, ch_out, affine=affine)
