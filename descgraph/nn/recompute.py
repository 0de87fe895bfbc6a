"""Recomputing a cell's activations in the backward pass instead of storing them.

The recomputed forward must not touch BatchNorm running statistics a second time, so every call
after the first freezes them (momentum 0, counter restored): the result is the same model state
as without recomputation.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint


@contextlib.contextmanager
def frozen_bn_stats(module: nn.Module) -> Iterator[None]:
    """Within the block, BatchNorm layers under `module` leave their running statistics unchanged."""
    bns = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]
    saved = [(m.momentum, m.num_batches_tracked.clone()) for m in bns]
    for m in bns:
        m.momentum = 0.0
    try:
        yield
    finally:
        for m, (momentum, count) in zip(bns, saved):
            m.momentum = momentum
            m.num_batches_tracked.copy_(count)


class _Recomputed:
    """Calls `module`; calls after the first (the backward's recomputation) freeze BN statistics."""

    def __init__(self, module: nn.Module) -> None:
        self.module, self.calls = module, 0

    def __call__(self, *xs: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        if self.calls == 1:
            return self.module(*xs)
        with frozen_bn_stats(self.module):
            return self.module(*xs)


def run_recomputed(module: nn.Module, *xs: torch.Tensor) -> torch.Tensor:
    """`module(*xs)`, storing only the inputs; the activations are recomputed during backward."""
    return checkpoint(_Recomputed(module), *xs, use_reentrant=False)
