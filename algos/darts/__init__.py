"""DARTS (Liu et al., "DARTS: Differentiable Architecture Search", ICLR 2019)."""

from __future__ import annotations

from algos.darts.builder import DartsModelDescBuilder, mixed_op_desc
from algos.darts.conf import DartsConf, DartsSearchConf, DartsTrainerConf
from algos.darts.finalizers import DartsFinalizers
from algos.darts.mixed_op import MixedOp
from algos.darts.runner import DartsExperimentRunner
from algos.darts.trainer import DartsArchTrainer

__all__ = [
    "DartsArchTrainer",
    "DartsConf",
    "DartsExperimentRunner",
    "DartsFinalizers",
    "DartsModelDescBuilder",
    "DartsSearchConf",
    "DartsTrainerConf",
    "MixedOp",
    "mixed_op_desc",
]
