"""DropPath: drop a whole sample's branch during training (DARTS utils.drop_path)."""

from __future__ import annotations

import torch
from torch import nn

from descgraph._ranks import rows_of_global


class DropPath(nn.Module):
    """Zero each sample with probability `p`, scaling the kept ones by 1/(1-p); the identity in eval or at p == 0.

    Args:
        p: drop probability in [0, 1); settable, since trainers ramp it up over the epochs.
    """

    def __init__(self, p: float = 0.0) -> None:
        super().__init__()
        self.p = p

    @property
    def p(self) -> float:
        """Drop probability."""
        return self._p

    @p.setter
    def p(self, value: float) -> None:
        if not 0.0 <= value < 1.0:  # p == 1 would divide by zero
            raise ValueError(f"drop path probability must be in [0, 1), got {value}")
        self._p = float(value)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self._p == 0.0:
            return x
        keep = 1.0 - self._p
        shape = (1,) * (x.dim() - 1)  # one draw per sample of the global batch, on every rank alike
        mask = rows_of_global(
            lambda n: torch.empty((n, *shape), dtype=x.dtype, device=x.device).bernoulli_(keep), len(x)
        )
        return x / keep * mask

    def extra_repr(self) -> str:
        return f"p={self._p}"
