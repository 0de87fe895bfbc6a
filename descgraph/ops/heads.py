"""Ops that combine states or produce logits: concate_channels, proj_channels, linear."""

from __future__ import annotations

import torch
from torch import nn

from descgraph.ops._factory import register_op


@register_op("concate_channels")
class ConcateChannels(nn.Module):
    """Concatenate the inputs along channels (a DARTS cell's output)."""

    def __init__(self, ch_in: int | None = None, ch_out: int | None = None, in_len: int = 1) -> None:
        super().__init__()

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, dim=1)


@register_op("proj_channels")
class ProjChannels(nn.Module):
    """Concatenate the inputs, then ReLU -> 1x1 conv -> BN down to ch_out."""

    def __init__(self, ch_in: int, ch_out: int, in_len: int = 1, affine: bool = True) -> None:
        super().__init__()
        self.proj = nn.Sequential(
            nn.ReLU(inplace=False), nn.Conv2d(ch_in, ch_out, 1, bias=False), nn.BatchNorm2d(ch_out, affine=affine)
        )

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return self.proj(torch.cat(xs, dim=1))


@register_op("linear")
class Linear(nn.Linear):
    """Flatten to [N, ch_in], then a linear layer with bias."""

    def __init__(self, ch_in: int, ch_out: int) -> None:
        super().__init__(ch_in, ch_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.flatten(1))
