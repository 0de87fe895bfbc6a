"""Training: Trainer, ArchTrainer, optimizers and schedules from conf, metrics, checkpoints."""

from __future__ import annotations

from descgraph.train.arch_trainer import ArchTrainer
from descgraph.train.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from descgraph.train.metrics import Meter, MetricsLog, topk_correct
from descgraph.train.optim import lr_at, make_optimizer, make_scheduler
from descgraph.train.seeding import seed_epoch
from descgraph.train.trainer import Trainer, TrainResult

__all__ = [
    "ArchTrainer",
    "CheckpointError",
    "Meter",
    "MetricsLog",
    "TrainResult",
    "Trainer",
    "load_checkpoint",
    "lr_at",
    "make_optimizer",
    "make_scheduler",
    "save_checkpoint",
    "seed_epoch",
    "topk_correct",
]
