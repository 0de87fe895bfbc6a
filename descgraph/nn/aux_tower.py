"""AuxTower: the DARTS/NASNet auxiliary classifier placed after the cell at 2/3 of the depth."""

from __future__ import annotations

import torch
from torch import nn

from descgraph.desc import AuxTowerDesc


class AuxTower(nn.Module):
    """ReLU, 5x5 average pool, 1x1 conv to 128, 2x2 conv to 768, linear (DARTS AuxiliaryHeadCIFAR).

    Args:
        desc: channels in, classes and pool stride (3 for 8x8 maps from 32x32 images, 2 for 7x7).
        in_size: spatial size of the cell output it reads; the pool shrinks to fit smaller maps.
    """

    def __init__(self, desc: AuxTowerDesc, in_size: int = 8):
        super().__init__()
        kernel = AuxTowerDesc.pool_kernel(in_size)  # validate_model_desc checks that 2x2 is left for the 2x2 conv
        self.features = nn.Sequential(
            nn.ReLU(),  # not in place: the next cell still reads this tensor
            nn.AvgPool2d(kernel, stride=desc.stride, padding=0, count_include_pad=False),
            nn.Conv2d(desc.ch_in, 128, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU(inplace=True),
            nn.Conv2d(128, 768, 2, bias=False),
            nn.BatchNorm2d(768),
            nn.ReLU(inplace=True),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)  # a no-op for the DARTS sizes, which end at 1x1
        self.linear = nn.Linear(768, desc.n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.pool(self.features(x)).flatten(1))
