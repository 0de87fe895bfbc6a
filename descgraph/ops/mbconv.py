"""Mobile blocks: conv_bn_act and mbconv, the inverted residual with optional squeeze-excite.

MBConv (MobileNetV2 sec. 3.3, MobileNetV3 sec. 5.3): expand 1x1 -> depthwise kxk -> squeeze-excite ->
project 1x1, each conv followed by BN, the project without an activation. The children of an elastic
supernet are built from these ops, so their submodule names (`expand`, `depthwise`, `se`, `project`,
`conv`, `bn`) are also the elastic ops' names: a child's sliced weights load by key.
"""

from __future__ import annotations

import torch
from torch import nn

from descgraph.ops._registry import register_op

ACTIVATIONS = {"relu": nn.ReLU, "hswish": nn.Hardswish, "swish": nn.SiLU, "none": nn.Identity}


def make_act(name: str) -> nn.Module:
    """An activation by name: relu, hswish, swish or none."""
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r} (known: {', '.join(ACTIVATIONS)})")
    return ACTIVATIONS[name]()


@register_op("conv_bn_act")
class ConvBnAct(nn.Module):
    """Square conv (bias-free, padded by kernel // 2) -> BN -> activation.

    Args:
        ch_in: input channels.
        ch_out: output channels.
        kernel: kernel size.
        stride: spatial stride.
        act: relu, hswish, swish or none.
        depthwise: one filter per channel (needs ch_in == ch_out).
        affine: whether the BN learns scale and shift.
    """

    def __init__(
        self,
        ch_in: int,
        ch_out: int,
        kernel: int = 1,
        stride: int = 1,
        act: str = "relu",
        depthwise: bool = False,
        affine: bool = True,
    ) -> None:
        super().__init__()
        if depthwise and ch_in != ch_out:
            raise ValueError(f"a depthwise conv keeps its channels, so ch_in ({ch_in}) must equal ch_out ({ch_out})")
        self.conv, self.bn, self.act = self.make_layers(ch_in, ch_out, kernel, stride, act, depthwise, affine)

    def make_layers(
        self, ch_in: int, ch_out: int, kernel: int, stride: int, act: str, depthwise: bool, affine: bool
    ) -> tuple[nn.Module, nn.Module, nn.Module]:
        """The conv, the BN and the activation (an elastic op makes layers it can run at smaller sizes)."""
        groups = ch_in if depthwise else 1
        conv = nn.Conv2d(ch_in, ch_out, kernel, stride, padding=kernel // 2, groups=groups, bias=False)
        return conv, nn.BatchNorm2d(ch_out, affine=affine), make_act(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))


class SqueezeExcite(nn.Module):
    """Channel attention: mean over H and W -> 1x1 conv -> ReLU -> 1x1 conv -> hard sigmoid -> scale (MobileNetV3).

    Args:
        ch: channels of the input.
        ch_se: channels of the squeezed vector.
    """

    def __init__(self, ch: int, ch_se: int) -> None:
        super().__init__()
        self.reduce, self.expand = self.make_conv(ch, ch_se), self.make_conv(ch_se, ch)
        self.relu, self.gate = nn.ReLU(), nn.Hardsigmoid()

    def make_conv(self, ch_in: int, ch_out: int) -> nn.Module:
        """A 1x1 conv with a bias (an elastic squeeze-excite makes one it can run at smaller widths)."""
        return nn.Conv2d(ch_in, ch_out, 1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.relu(self.reduce(x.mean(dim=(2, 3), keepdim=True)))
        return x * self.gate(self.expand(s))


@register_op("mbconv")
class MBConv(nn.Module):
    """Inverted residual block: [expand 1x1] -> depthwise kxk -> [squeeze-excite] -> project 1x1 [+ input].

    Args:
        ch_in: input channels.
        ch_mid: channels after the expansion (ch_in when there is none).
        ch_out: output channels.
        kernel: depthwise kernel size.
        stride: stride of the depthwise conv.
        act: activation after the expand and depthwise convs.
        ch_se: squeeze-excite channels; 0 for no squeeze-excite.
        has_expand: whether the block has its expand conv (MBConv1 blocks have none).
        residual: whether the input is added to the output (needs stride 1 and ch_in == ch_out).
        affine: whether the BNs learn scale and shift.
    """

    def __init__(
        self,
        ch_in: int,
        ch_mid: int,
        ch_out: int,
        kernel: int = 3,
        stride: int = 1,
        act: str = "relu",
        ch_se: int = 0,
        has_expand: bool = True,
        residual: bool = False,
        affine: bool = True,
    ) -> None:
        super().__init__()
        check_mbconv(ch_in, ch_mid, ch_out, stride, has_expand, residual)
        self.expand = ConvBnAct(ch_in, ch_mid, 1, act=act, affine=affine) if has_expand else None
        self.depthwise = ConvBnAct(ch_mid, ch_mid, kernel, stride, act=act, depthwise=True, affine=affine)
        self.se = SqueezeExcite(ch_mid, ch_se) if ch_se > 0 else None
        self.project = ConvBnAct(ch_mid, ch_out, 1, act="none", affine=affine)
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.expand(x) if self.expand is not None else x
        out = self.depthwise(out)
        if self.se is not None:
            out = self.se(out)
        out = self.project(out)
        return out + x if self.residual else out


def check_mbconv(ch_in: int, ch_mid: int, ch_out: int, stride: int, has_expand: bool, residual: bool) -> None:
    """Refuse a block without expansion whose middle width differs, or a residual the shapes do not allow."""
    if not has_expand and ch_mid != ch_in:
        raise ValueError(f"without an expand conv ch_mid ({ch_mid}) must equal ch_in ({ch_in})")
    if residual and (stride != 1 or ch_in != ch_out):
        raise ValueError(f"a residual needs stride 1 and ch_in == ch_out, got stride {stride}, {ch_in} -> {ch_out}")
