"""Optimizers and learning-rate schedules from conf, and which parameters each optimizer sees."""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch import nn

from descgraph.conf.schema import LrScheduleConf, OptimizerConf
from descgraph.nn.arch_params import weight_parameters


def arch_params_of(model: nn.Module) -> list[nn.Parameter]:
    """The model's architecture parameters (`model.arch_params()`), or none."""
    arch_params = getattr(model, "arch_params", None)
    return list(arch_params()) if callable(arch_params) else []


def weights_of(model: nn.Module) -> list[nn.Parameter]:
    """The model's weights: every parameter that is not an architecture parameter (`split_parameters`)."""
    return list(weight_parameters(model))


def make_optimizer(params: Iterable[nn.Parameter], conf: OptimizerConf) -> torch.optim.Optimizer:
    """SGD (momentum, Nesterov, weight decay) or Adam (betas, weight decay) over `params`."""
    params = list(params)
    if conf.type == "sgd":
        return torch.optim.SGD(
            params, lr=conf.lr, momentum=conf.momentum, nesterov=conf.nesterov, weight_decay=conf.decay
        )
    return torch.optim.Adam(params, lr=conf.lr, betas=(conf.betas[0], conf.betas[1]), weight_decay=conf.decay)


def preload_optimizers() -> None:
    """Import now what torch imports when a process builds its first optimizer (its compiler stack: about 2 s on a
    small CPU), so that a process about to train many candidates pays it before the first, not inside its time."""
    torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.0)


def lr_at(epoch: int, epochs: int, lr: float, conf: LrScheduleConf) -> float:
    """Learning rate of `epoch` (0-based) out of `epochs`, starting from `lr`.

    A linear warm-up over `conf.warmup.epochs` reaches `lr` at its last epoch; then the rate stays
    constant or follows a cosine from `lr` towards `min_lr` over the remaining epochs (DARTS,
    SGDR without restarts): min_lr + (lr - min_lr) * (1 + cos(pi * e / E)) / 2.
    """
    warmup = conf.warmup.epochs
    if epoch < warmup:
        return lr * (epoch + 1) / warmup
    if conf.type == "constant":
        return lr
    span = max(1, epochs - warmup)
    return conf.min_lr + (lr - conf.min_lr) * (1 + math.cos(math.pi * (epoch - warmup) / span)) / 2


def make_scheduler(
    optimizer: torch.optim.Optimizer, epochs: int, conf: LrScheduleConf
) -> torch.optim.lr_scheduler.LRScheduler:
    """A scheduler stepped once per epoch that sets every group's rate to `lr_at` of its initial rate."""
    lrs = [group["lr"] for group in optimizer.param_groups]
    factors = [_factor(lr, epochs, conf) for lr in lrs]
    return torch.optim.lr_scheduler.LambdaLR(optimizer, factors)


def _factor(lr: float, epochs: int, conf: LrScheduleConf):
    return lambda epoch: lr_at(epoch, epochs, lr, conf) / lr
