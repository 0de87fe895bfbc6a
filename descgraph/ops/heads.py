"""The model's head: global pools to [N, C] (pool_adaptive_avg2d, pool_avg2d7x7, pool_mean_tensor, pool_relu_avg2d,
pool_bn_relu_avg2d) and linear."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from descgraph.ops._checks import require_same_channels
from descgraph.ops._registry import register_op


class GlobalPool(nn.Module):
    """A pool from [N, C, H, W] to [N, C] that keeps channels; subclasses give `pool`.

    Args:
        ch_in: input channels.
        ch_out: output channels, equal to ch_in.
    """

    def __init__(self, ch_in: int, ch_out: int) -> None:
        super().__init__()
        require_same_channels(ch_in, ch_out)

    def pool(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(x)


@register_op("pool_adaptive_avg2d")
class PoolAdaptiveAvg2d(GlobalPool):
    """Global average pool to [N, C] (DARTS CIFAR's AdaptiveAvgPool2d(1)); arguments as GlobalPool."""

    def pool(self, x: torch.Tensor) -> torch.Tensor:
        return F.adaptive_avg_pool2d(x, 1).flatten(1)


@register_op("pool_avg2d7x7")
class PoolAvg2d7x7(GlobalPool):
    """7x7 average pool to [N, C] (DARTS ImageNet's AvgPool2d(7), for 7x7 feature maps); arguments as GlobalPool."""

    def pool(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(x, 7).flatten(1)


@register_op("pool_mean_tensor")
class PoolMeanTensor(GlobalPool):
    """Mean over height and width to [N, C]; arguments as GlobalPool."""


@register_op("pool_relu_avg2d")
class PoolReLUAvg2d(GlobalPool):
    """ReLU, then a global average pool to [N, C]: ENAS micro networks end on a BN (NNI `MicroNetwork`)."""

    def pool(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x).mean(dim=(2, 3))


@register_op("pool_bn_relu_avg2d")
class PoolBNReLUAvg2d(GlobalPool):
    """BN -> ReLU -> global average pool to [N, C] (NAS-Bench-201's `lastact` and `global_pooling`).

    Args:
        ch_in: input channels.
        ch_out: output channels, equal to ch_in.
        affine: whether the BN learns scale and shift.
    """

    def __init__(self, ch_in: int, ch_out: int, affine: bool = True) -> None:
        super().__init__(ch_in, ch_out)
        self.bn = nn.BatchNorm2d(ch_out, affine=affine)

    def pool(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.bn(x)).mean(dim=(2, 3))


@register_op("linear")
class Linear(nn.Linear):
    """Flatten to [N, ch_in], then a linear layer with bias (the classifier).

    Args:
        ch_in: input features.
        ch_out: output features (classes).
    """

    def __init__(self, ch_in: int, ch_out: int) -> None:
        super().__init__(ch_in, ch_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.flatten(1))
