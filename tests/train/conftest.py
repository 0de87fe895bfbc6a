"""Training tests run tiny models on separable data built with torch."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class TinyNet(nn.Module):
    """The model contract on a plain nn.Module: forward gives (logits, aux or None); drop path is recorded.

    No `weights()`: the trainer must fall back to `parameters()`.
    """

    def __init__(self, n_classes: int = 2, aux: bool = False, dropout: float = 0.0) -> None:
        super().__init__()
        self.dropout = dropout
        self.body = nn.Linear(2, n_classes)
        self.aux_head = nn.Linear(2, n_classes) if aux else None
        self.drop_path_values: list[float] = []

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        x = nn.functional.dropout(x, self.dropout, self.training)  # randomness a resumed run must repeat
        aux = self.aux_head(x) if self.aux_head is not None and self.training else None
        return self.body(x), aux

    def drop_path_prob(self, p: float) -> None:
        self.drop_path_values.append(p)


def separable_loader(n: int = 256, seed: int = 0, batch_size: int = 32, n_classes: int = 2) -> DataLoader:
    """Points in the plane labelled by the sign of x0 + x1 (or by angle sectors for more classes), shuffled."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 2, generator=g)
    if n_classes == 2:
        y = (x[:, 0] + x[:, 1] > 0).long()
    else:
        angle = torch.atan2(x[:, 1], x[:, 0]) + torch.pi
        y = (angle / (2 * torch.pi) * n_classes).long().clamp(max=n_classes - 1)
    return DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True, generator=torch.Generator())


@pytest.fixture
def make_net() -> Callable[..., TinyNet]:
    """TinyNet(n_classes=2, aux=False, dropout=0.0), initialised from a fixed seed."""

    def make(n_classes: int = 2, aux: bool = False, dropout: float = 0.0) -> TinyNet:
        torch.manual_seed(0)
        return TinyNet(n_classes, aux, dropout)

    return make


@pytest.fixture
def make_loader() -> Callable[..., DataLoader]:
    return separable_loader
