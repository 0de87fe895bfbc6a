"""The DARTS bilevel trainer: alternate an architecture step on search-val and a weight step on search-train."""

from __future__ import annotations

from typing import Any

import torch

from algos.darts.architect import second_order_grads
from descgraph.train import ArchTrainer, MetricsLog


def alpha_record(model: torch.nn.Module, epoch: int) -> dict[str, Any]:
    """The softmax of every mixed op's alphas, per cell that owns its alphas (one line of alphas.jsonl)."""
    cells = []
    for cell in model.cells:
        if cell.desc.trainables_from != cell.desc.id:
            continue  # shares the alphas of an earlier cell
        edges = [
            {
                "node": j,
                "edge": k,
                "input_ids": list(edge.input_ids),
                "ops": [c.name for c in edge.desc.op_desc.children],
                "weights": torch.softmax(edge.op.alphas.detach().double(), dim=-1).tolist(),
            }
            for j, node in enumerate(cell.dag)
            for k, edge in enumerate(node)
            if edge.desc.op_desc.children
        ]
        cells.append({"cell": cell.desc.id, "cell_type": cell.desc.cell_type.value, "edges": edges})
    return {"epoch": epoch, "cells": cells}


class DartsArchTrainer(ArchTrainer):
    """First order (xi = 0) or second order (the unrolled step, DARTS eq. 7-8), by `trainer.order`.

    At each epoch's end the architecture weights go to alphas.jsonl beside metrics.jsonl; the records
    are also kept in the checkpoint, so a resumed run rewrites the file to match its checkpoint.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        path = self.metrics.path
        self.alpha_log = MetricsLog(path.with_name("alphas.jsonl") if path is not None else None)
        self.alpha_history: list[dict[str, Any]] = []

    def on_epoch_start(self, epoch: int) -> None:
        if epoch == self.start_epoch:  # a fresh or resumed run: drop lines written after the checkpoint
            self.alpha_log.rewrite(self.alpha_history)

    def on_epoch_end(self, epoch: int, metrics: dict[str, Any]) -> None:
        record = alpha_record(self.model, epoch)
        self.alpha_history.append(record)
        self.alpha_log.append(record)

    def extra_state(self) -> dict[str, Any]:
        return {**super().extra_state(), "alpha_history": list(self.alpha_history)}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        super().load_extra_state(state)
        self.alpha_history = list(state.get("alpha_history", []))

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
            micro_batches=self.micro_batches,
        )
        self.alpha_optimizer.zero_grad(set_to_none=True)
        for a, g in zip(alphas, grads):
            a.grad = g.detach()  # the global batch's gradient already: summed over the micro-batches and ranks
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
