"""DARTS (Liu et al., "DARTS: Differentiable Architecture Search", ICLR 2019)."""

from __future__ import annotations

from algos.darts.builder import DartsModelDescBuilder, mixed_op_desc
from algos.darts.mixed_op import MixedOp

__all__ = ["DartsModelDescBuilder", "MixedOp", "mixed_op_desc"]
