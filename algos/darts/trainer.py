"""The DARTS bilevel trainer: alternate an architecture step on search-val and a weight step on search-train."""

from __future__ import annotations

import torch

from algos.darts.architect import second_order_grads
from descgraph.train import ArchTrainer


class DartsArchTrainer(ArchTrainer):
    """First order (xi = 0) or second order (the unrolled step, DARTS eq. 7-8), by `trainer.order`."""

    def arch_step(self, x_train: torch.Tensor, y_train: torch.Tensor, x_val: torch.Tensor, y_val: torch.Tensor) -> None:
        if self.conf.order != "second":
            return super().arch_step(x_train, y_train, x_val, y_val)  # first order: ArchTrainer's step
        alphas = list(self.model.arch_params())
        grads = second_order_grads(
            self.model,
            self.criterion,
            (x_train, y_train),
            (x_val, y_val),
            xi=self._lr(),
            momentum=self._momentum(),
            weight_decay=self.conf.optimizer.decay,
        )
        self.alpha_optimizer.zero_grad(set_to_none=True)
        for a, g in zip(alphas, grads):
            a.grad = g.detach()
        self.alpha_optimizer.step()

    def _lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def _momentum(self) -> list[torch.Tensor] | None:
        """The weight optimizer's momentum buffers times its momentum, as DARTS's virtual step uses them."""
        momentum = self.conf.optimizer.momentum
        buffers = [self.optimizer.state.get(p, {}).get("momentum_buffer") for p in self.weight_params]
        if self.conf.optimizer.type != "sgd" or any(b is None for b in buffers):
            return None
        return [b * momentum for b in buffers]
