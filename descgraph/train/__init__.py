"""Training: Trainer, ArchTrainer, optimizers and schedules from conf, metrics, checkpoints, seeding."""

from __future__ import annotations

from descgraph.train.arch_trainer import ArchTrainer
from descgraph.train.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from descgraph.train.metrics import Meter, MetricsLog, topk_correct
from descgraph.train.optim import arch_params_of, lr_at, make_optimizer, make_scheduler, preload_optimizers, weights_of
from descgraph.train.seeding import rng_state, seed_epoch, set_rng_state
from descgraph.train.trainer import Trainer, TrainResult

__all__ = [
    "ArchTrainer",
    "CheckpointError",
    "Meter",
    "MetricsLog",
    "TrainResult",
    "Trainer",
    "arch_params_of",
    "load_checkpoint",
    "lr_at",
    "make_optimizer",
    "make_scheduler",
    "preload_optimizers",
    "rng_state",
    "save_checkpoint",
    "seed_epoch",
    "set_rng_state",
    "topk_correct",
    "weights_of",
]
