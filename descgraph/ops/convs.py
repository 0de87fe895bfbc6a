"""Convolution ops of the DARTS and NAS-Bench-201 spaces, parameter for parameter as the originals."""

from __future__ import annotations

from torch import nn

from descgraph.ops._factory import register_op


class ReLUConvBN(nn.Sequential):
    """ReLU -> Conv(k, stride, padding k//2) -> BN."""

    def __init__(self, ch_in: int, ch_out: int, kernel: int, stride: int = 1, affine: bool = True) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(ch_in, ch_out, kernel, stride=stride, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(ch_out, affine=affine),
        )


class ConvBNReLU(nn.Sequential):
    """Conv(k, stride, padding k//2) -> BN -> ReLU."""

    def __init__(self, ch_in: int, ch_out: int, kernel: int, stride: int = 1, affine: bool = True) -> None:
        super().__init__(
            nn.Conv2d(ch_in, ch_out, kernel, stride=stride, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(ch_out, affine=affine),
            nn.ReLU(inplace=False),
        )


class DilConv(nn.Sequential):
    """ReLU -> depthwise conv (dilated) -> pointwise conv -> BN (DARTS DilConv)."""

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
    """Two stacked DilConvs with dilation 1, the first strided (DARTS SepConv)."""

    def __init__(self, ch_in: int, ch_out: int, kernel: int, stride: int = 1, affine: bool = True) -> None:
        pad = kernel // 2
        super().__init__(
            DilConv(ch_in, ch_in, kernel, stride, pad, 1, affine),
            DilConv(ch_in, ch_out, kernel, 1, pad, 1, affine),
        )


def _register_fixed(name: str, base: type, **fixed) -> None:
    """Register `name` as `base` with some keyword arguments fixed (kernel, dilation...)."""

    class Op(base):
        def __init__(self, ch_in: int, ch_out: int, stride: int = 1, affine: bool = True) -> None:
            super().__init__(ch_in, ch_out, stride=stride, affine=affine, **fixed)

    Op.__name__ = Op.__qualname__ = "".join(p.capitalize() for p in name.split("_"))
    Op.__doc__ = f"`{name}`: {base.__name__} with {fixed}."
    register_op(name)(Op)


for _k in (3, 5, 7):
    _register_fixed(f"sep_conv_{_k}x{_k}", SepConv, kernel=_k)
for _k in (1, 3):
    _register_fixed(f"conv_{_k}x{_k}", ReLUConvBN, kernel=_k)
    _register_fixed(f"convbnrelu_{_k}x{_k}", ConvBNReLU, kernel=_k)


class _DilConvOp(DilConv):
    def __init__(self, ch_in: int, ch_out: int, stride: int = 1, affine: bool = True, *, kernel: int) -> None:
        super().__init__(ch_in, ch_out, kernel, stride, padding=kernel - 1, dilation=2, affine=affine)


_register_fixed("dil_conv_3x3", _DilConvOp, kernel=3)
_register_fixed("dil_conv_5x5", _DilConvOp, kernel=5)


@register_op("conv_7x1_1x7")
class FacConv7x1(nn.Sequential):
    """ReLU -> 1x7 conv -> 7x1 conv -> BN (DARTS conv_7x1_1x7)."""

    def __init__(self, ch_in: int, ch_out: int, stride: int = 1, affine: bool = True) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(ch_in, ch_in, (1, 7), stride=(1, stride), padding=(0, 3), bias=False),
            nn.Conv2d(ch_in, ch_out, (7, 1), stride=(stride, 1), padding=(3, 0), bias=False),
            nn.BatchNorm2d(ch_out, affine=affine),
        )


@register_op("prepr_normal")
class PreprNormal(ReLUConvBN):
    """ReLU -> 1x1 conv -> BN: a cell stem that only adapts channels."""

    def __init__(self, ch_in: int, ch_out: int, affine: bool = True) -> None:
        super().__init__(ch_in, ch_out, 1, 1, affine)
