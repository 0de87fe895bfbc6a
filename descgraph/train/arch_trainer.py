"""ArchTrainer: the base of trainers that also update architecture parameters (bilevel search, DARTS)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from descgraph.conf.schema import TrainerConf
from descgraph.errors import ConfError, DataError, DescError
from descgraph.train.metrics import Meter
from descgraph.train.optim import arch_params_of, make_optimizer
from descgraph.train.trainer import Trainer


def cycle(loader: Any) -> Iterator[Any]:
    """The loader's batches again and again (each pass draws a new order from the loader's generator)."""
    while True:
        empty = True
        for batch in loader:
            empty = False
            yield batch
        if empty:
            raise DataError("the validation loader yields no batches: nothing to take architecture steps on")


class ArchTrainer(Trainer):
    """Before each weight step on a train batch, an architecture step on the next search-val batch.

    DARTS alg. 1: update the alphas on a validation batch, then the weights on a training batch.
    The alpha optimizer (`conf.alpha_optimizer`) holds only `model.arch_params()`; the weight
    optimizer only the weights. Subclasses override `arch_step`; the default is first order.

    Args:
        conf: a trainer conf with an `alpha_optimizer` (an OptimizerConf), such as DARTS's search trainer conf.
        model: a model with `arch_params()`.
        **kwargs: Trainer's keyword arguments.
    """

    def __init__(self, conf: TrainerConf, model: nn.Module, **kwargs: Any) -> None:
        super().__init__(conf, model, **kwargs)
        self.alpha_params = arch_params_of(self.model)
        if not self.alpha_params:
            raise DescError(
                f"{type(model).__name__} has no architecture parameters (arch_params() is empty): "
                "a bilevel search trains a supernet whose edges are searchable (mixed ops)"
            )
        self.alpha_optimizer = make_optimizer(self.alpha_params, conf.alpha_optimizer)

    def arch_step(self, x_train: torch.Tensor, y_train: torch.Tensor, x_val: torch.Tensor, y_val: torch.Tensor) -> None:
        """First order (DARTS xi = 0): one alpha-optimizer step down the validation loss, whose gradient is
        summed over the micro-batches and ranks before the step."""
        self.alpha_optimizer.zero_grad(set_to_none=True)
        for xb, yb, scale in self.micro_batches(x_val, y_val, self.alpha_params):
            loss, _ = self.compute_loss(xb, yb)
            (loss * scale).backward(inputs=self.alpha_params)  # the weights' gradients are the weight step's business
        self.alpha_optimizer.step()

    def train_epoch(self, epoch: int, train_loader: Any, val_loader: Any = None) -> dict[str, float]:
        """Pairs each train batch with the next val batch (cycling the val loader): arch step, then weight step.

        Raises:
            DivergenceError: an architecture step (of any order) left a non-finite architecture weight.
        """
        if val_loader is None:
            raise ConfError(f"{self.title}: architecture steps need a search-val loader (set loader.val_ratio > 0)")
        self.model.train()
        meter = Meter()
        bar = self.progress_bar(train_loader, f"train {epoch + 1}/{self.conf.epochs}")
        with bar, contextlib.closing(cycle(val_loader)) as val_batches:
            for x, y in self.batches(bar, epoch):
                self.arch_step(x, y, *self.to_device(*next(val_batches)))
                self.check_finite(self.alpha_params, "the architecture step left non-finite architecture weights")
                out = self.train_step(x, y)
                meter.update(out["loss"], out["logits"], y)
        return meter.result()

    def extra_state(self) -> dict[str, Any]:
        return {"alpha_optimizer": self.alpha_optimizer.state_dict()}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self.alpha_optimizer.load_state_dict(state["alpha_optimizer"])
