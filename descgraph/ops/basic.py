"""Ops that pass, zero or factorize their input: none, identity, skip_connect, FactorizedReduce."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from descgraph.errors import DescError
from descgraph.ops._factory import register_op


@register_op("none")
class Zero(nn.Module):
    """Outputs zeros of the strided shape (the DARTS `none` op)."""

    def __init__(self, ch_in: int, ch_out: int, stride: int = 1) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0) if self.stride == 1 else x[:, :, :: self.stride, :: self.stride].mul(0.0)


@register_op("identity")
class Identity(nn.Module):
    """Returns its input."""

    def __init__(self, ch_in: int | None = None, ch_out: int | None = None, stride: int = 1) -> None:
        super().__init__()
        if stride != 1 or (ch_in is not None and ch_out is not None and ch_in != ch_out):
            raise DescError(
                f"op 'identity': needs stride 1 and ch_in == ch_out (got {ch_in}->{ch_out}, stride {stride})"
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


@register_op("prepr_reduce")
class FactorizedReduce(nn.Module):
    """Halve H and W with two 1x1 stride-2 convs, the second shifted by one pixel (DARTS)."""

    def __init__(self, ch_in: int, ch_out: int, affine: bool = True, stride: int = 2) -> None:
        super().__init__()
        if stride != 2:
            raise DescError(f"op 'prepr_reduce': stride must be 2, got {stride}")
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(ch_in, ch_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(ch_in, ch_out - ch_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(ch_out, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        if x.shape[-2] % 2 or x.shape[-1] % 2:  # odd sizes: pad so both halves are ceil(H/2) x ceil(W/2)
            x = F.pad(x, (0, x.shape[-1] % 2, 0, x.shape[-2] % 2))
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(x[:, :, 1:, 1:])], dim=1))


@register_op("skip_connect")
class SkipConnect(nn.Module):
    """Identity at stride 1, FactorizedReduce at stride 2."""

    def __init__(self, ch_in: int, ch_out: int, stride: int = 1, affine: bool = True) -> None:
        super().__init__()
        self.op = Identity(ch_in, ch_out) if stride == 1 else FactorizedReduce(ch_in, ch_out, affine, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)
