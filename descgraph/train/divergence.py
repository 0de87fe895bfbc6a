"""Divergence is an error, not a result: what a trainer checks before it goes on, or writes a checkpoint.

A loss is checked at every step before its backward pass; the model's whole state (weights, architecture
weights, BN statistics) and the epoch's losses at every epoch's end, before the epoch is recorded. So no
checkpoint ever holds a NaN, and the last one written stays the last good one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import torch


def all_finite(tensors: torch.Tensor | Iterable[torch.Tensor]) -> bool:
    """Whether every element of the tensor(s) is a finite number."""
    tensors = [tensors] if isinstance(tensors, torch.Tensor) else list(tensors)
    return all(bool(torch.isfinite(t.detach()).all()) for t in tensors)


def first_nonfinite_tensor(state: Mapping[str, torch.Tensor]) -> str | None:
    """The name of the first floating-point tensor of a state dict holding a NaN or an infinity, else None."""
    return next((name for name, t in state.items() if t.is_floating_point() and not all_finite(t)), None)


def first_nonfinite_loss(record: Mapping[str, Any]) -> str | None:
    """The first `*loss` entry of a metrics record that is a NaN or an infinity, else None."""
    return next(
        (k for k, v in record.items() if k.endswith("loss") and isinstance(v, float) and not math.isfinite(v)), None
    )
