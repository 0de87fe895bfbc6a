"""ArchTrainer: the base of trainers that also update architecture parameters (bilevel search)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from descgraph.train.metrics import Meter
from descgraph.train.optim import make_optimizer
from descgraph.train.trainer import Trainer


def arch_params(model: nn.Module) -> list[nn.Parameter]:
    return list(model.arch_params()) if hasattr(model, "arch_params") else []


class ArchTrainer(Trainer):
    """Before each weight step on a train batch, an architecture step on the next search-val batch.

    The alpha optimizer (`conf.alpha_optimizer`) sees only architecture parameters; the weight
    optimizer only weights. Subclasses override `arch_step`; the default is first order.
    """

    def __init__(self, conf, model: nn.Module, **kwargs: Any) -> None:
        super().__init__(conf, model, **kwargs)
        self.alpha_optimizer = make_optimizer(arch_params(model), conf.alpha_optimizer)

    def arch_step(self, x_train: torch.Tensor, y_train: torch.Tensor, x_val: torch.Tensor, y_val: torch.Tensor) -> None:
        """First order: one alpha-optimizer step on the validation loss."""
        self.alpha_optimizer.zero_grad(set_to_none=True)
        loss, _ = self.compute_loss(x_val, y_val)
        alphas = arch_params(self.model)
        grads = torch.autograd.grad(loss, alphas)
        for a, g in zip(alphas, grads):
            a.grad = g
        self.alpha_optimizer.step()

    def _cycle(self, loader, epoch: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        while True:
            yield from self.batches(loader, epoch, "val")

    def train_epoch(self, epoch: int, train_loader, val_loader=None) -> dict[str, float]:
        if val_loader is None:
            return super().train_epoch(epoch, train_loader)
        self.model.train()
        meter, val_batches = Meter(), self._cycle(val_loader, epoch)
        for x, y in self.batches(train_loader, epoch, "train"):
            x_val, y_val = next(val_batches)
            self.arch_step(x, y, x_val, y_val)
            out = self.train_step(x, y)
            meter.update(out["loss"], out["logits"], y)
        return meter.result()

    def extra_state(self) -> dict[str, Any]:
        return {"alpha_optimizer": self.alpha_optimizer.state_dict()}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        if "alpha_optimizer" in state:
            self.alpha_optimizer.load_state_dict(state["alpha_optimizer"])
