"""Pooling ops: candidate pools inside cells and the model's global pools."""

from __future__ import annotations

import torch
from torch import nn

from descgraph.ops._factory import register_op


class _CellPool(nn.Module):
    """A 3x3 pool, optionally followed by a non-affine BN (DARTS search MixedOp does this for pools)."""

    def __init__(self, pool: nn.Module, ch_out: int, bn_after: bool) -> None:
        super().__init__()
        self.pool = pool
        self.bn = nn.BatchNorm2d(ch_out, affine=False) if bn_after else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(x)
        return self.bn(x) if self.bn is not None else x


@register_op("max_pool_3x3")
class MaxPool3x3(_CellPool):
    """3x3 max pool, padding 1."""

    def __init__(self, ch_in: int, ch_out: int, stride: int = 1, affine: bool = True, bn_after: bool = False) -> None:
        super().__init__(nn.MaxPool2d(3, stride=stride, padding=1), ch_out, bn_after)


@register_op("avg_pool_3x3")
class AvgPool3x3(_CellPool):
    """3x3 average pool, padding 1, padded zeros not counted."""

    def __init__(self, ch_in: int, ch_out: int, stride: int = 1, affine: bool = True, bn_after: bool = False) -> None:
        super().__init__(nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False), ch_out, bn_after)


@register_op("pool_adaptive_avg2d")
class PoolAdaptiveAvg2d(nn.Module):
    """Global average pool to [N, C]."""

    def __init__(self, ch_in: int | None = None, ch_out: int | None = None) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(x).flatten(1)


@register_op("pool_avg2d7x7")
class PoolAvg2d7x7(nn.Module):
    """7x7 average pool (the DARTS ImageNet head on 7x7 maps) to [N, C]."""

    def __init__(self, ch_in: int | None = None, ch_out: int | None = None) -> None:
        super().__init__()
        self.pool = nn.AvgPool2d(7)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(x).flatten(1)


@register_op("pool_mean_tensor")
class PoolMeanTensor(nn.Module):
    """Mean over height and width to [N, C]."""

    def __init__(self, ch_in: int | None = None, ch_out: int | None = None) -> None:
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))
