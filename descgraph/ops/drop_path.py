"""DropPath: drop a whole sample's branch during training (DARTS utils.drop_path)."""

from __future__ import annotations

import torch
from torch import nn


class DropPath(nn.Module):
    """Zero each sample's output with probability `p`, scaling the kept ones by 1/(1-p); identity in eval.

    Args:
        p: drop probability; settable during training (it is ramped up by the trainer).
    """

    def __init__(self, p: float = 0.0) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p <= 0:
            return x
        keep = 1.0 - self.p
        mask = torch.empty(x.shape[0], *([1] * (x.dim() - 1)), dtype=x.dtype, device=x.device).bernoulli_(keep)
        return x * mask / keep

    def extra_repr(self) -> str:
        return f"p={self.p}"
