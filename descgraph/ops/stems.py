"""Model stems: the CIFAR 3x3 stem and the DARTS ImageNet stems."""

from __future__ import annotations

from torch import nn

from descgraph.ops._factory import register_op


@register_op("stem_conv3x3")
class StemConv3x3(nn.Sequential):
    """3x3 conv -> BN (the DARTS CIFAR stem)."""

    def __init__(self, ch_in: int, ch_out: int, affine: bool = True) -> None:
        super().__init__(nn.Conv2d(ch_in, ch_out, 3, padding=1, bias=False), nn.BatchNorm2d(ch_out, affine=affine))


@register_op("stem_conv3x3_relu")
class StemConv3x3Relu(nn.Sequential):
    """3x3 conv -> BN -> ReLU."""

    def __init__(self, ch_in: int, ch_out: int, affine: bool = True) -> None:
        super().__init__(
            nn.Conv2d(ch_in, ch_out, 3, padding=1, bias=False),
            nn.BatchNorm2d(ch_out, affine=affine),
            nn.ReLU(inplace=False),
        )


@register_op("stem_conv3x3_s4")
class StemConv3x3S4(nn.Sequential):
    """Two stride-2 3x3 convs (DARTS ImageNet stem0): conv-BN-ReLU to ch_out/2, conv-BN to ch_out."""

    def __init__(self, ch_in: int, ch_out: int, affine: bool = True, stride: int = 4) -> None:
        super().__init__(
            nn.Conv2d(ch_in, ch_out // 2, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(ch_out // 2, affine=affine),
            nn.ReLU(inplace=False),
            nn.Conv2d(ch_out // 2, ch_out, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(ch_out, affine=affine),
        )


@register_op("stem_conv3x3_s4s2")
class StemConv3x3S4S2(nn.Sequential):
    """ReLU -> stride-2 3x3 conv -> BN (DARTS ImageNet stem1, applied after stem0)."""

    def __init__(self, ch_in: int, ch_out: int, affine: bool = True, stride: int = 2) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(ch_in, ch_out, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(ch_out, affine=affine),
        )
