"""Optimizers and learning-rate schedules from conf."""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch import nn

from descgraph.conf.schema import LrScheduleConf, OptimizerConf


def make_optimizer(params: Iterable[nn.Parameter], conf: OptimizerConf) -> torch.optim.Optimizer:
    """SGD (momentum, Nesterov, weight decay) or Adam (betas, weight decay)."""
    params = list(params)
    if conf.type == "sgd":
        return torch.optim.SGD(
            params, lr=conf.lr, momentum=conf.momentum, nesterov=conf.nesterov, weight_decay=conf.decay
        )
    return torch.optim.Adam(params, lr=conf.lr, betas=tuple(conf.betas), weight_decay=conf.decay)


def lr_at(epoch: int, epochs: int, lr: float, conf: LrScheduleConf) -> float:
    """Learning rate of `epoch`: linear warm-up, then cosine to min_lr (DARTS) or constant."""
    warmup = conf.warmup.epochs
    if epoch < warmup:
        return lr * (epoch + 1) / warmup
    if conf.type == "constant":
        return lr
    span = max(1, epochs - warmup)
    return conf.min_lr + (lr - conf.min_lr) * (1 + math.cos(math.pi * (epoch - warmup) / span)) / 2


def make_scheduler(optimizer: torch.optim.Optimizer, epochs: int, conf: LrScheduleConf):
    """A LambdaLR stepping once per epoch along `lr_at`."""
    base = optimizer.param_groups[0]["lr"]
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda e: lr_at(e, epochs, base, conf) / base)
