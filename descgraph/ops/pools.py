"""The 3x3 pooling candidates of a cell: max_pool_3x3 and avg_pool_3x3 (DARTS operations.py)."""

from __future__ import annotations

import torch
from torch import nn

from descgraph.ops._checks import require_same_channels
from descgraph.ops._registry import register_op


class CellPool(nn.Module):
    """A pool keeping channels, optionally followed by a non-affine BN.

    DARTS's search MixedOp puts BatchNorm2d(C, affine=False) after pools so their scale matches the
    convs' (DARTS model_search.py); the final network drops it.

    Args:
        pool: the pooling module.
        ch_in: input channels.
        ch_out: output channels, equal to ch_in.
        bn_after: whether a non-affine BN follows the pool.
    """

    def __init__(self, pool: nn.Module, ch_in: int, ch_out: int, bn_after: bool) -> None:
        super().__init__()
        require_same_channels(ch_in, ch_out)
        self.pool = pool
        self.bn = nn.BatchNorm2d(ch_out, affine=False) if bn_after else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(x)
        return x if self.bn is None else self.bn(x)


@register_op("max_pool_3x3")
class MaxPool3x3(CellPool):
    """3x3 max pool, padding 1.

    Args:
        ch_in: input channels.
        ch_out: output channels, equal to ch_in.
        stride: spatial stride.
        affine: taken for a uniform signature; the BN after a pool is never affine.
        bn_after: whether a non-affine BN follows the pool (DARTS search).
    """

    def __init__(self, ch_in: int, ch_out: int, stride: int = 1, affine: bool = True, bn_after: bool = False) -> None:
        super().__init__(nn.MaxPool2d(3, stride=stride, padding=1), ch_in, ch_out, bn_after)


@register_op("avg_pool_3x3")
class AvgPool3x3(CellPool):
    """3x3 average pool, padding 1, padded zeros left out of the average; arguments as MaxPool3x3."""

    def __init__(self, ch_in: int, ch_out: int, stride: int = 1, affine: bool = True, bn_after: bool = False) -> None:
        super().__init__(nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False), ch_in, ch_out, bn_after)
