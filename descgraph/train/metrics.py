"""Accuracy, running averages, and the metrics.jsonl file (one JSON object per epoch)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch

from descgraph._files import atomic_write_text
from descgraph._json import json_text
from descgraph._ranks import is_main
from descgraph.train.distributed import sum_over_ranks


def topk_correct(logits: torch.Tensor, target: torch.Tensor, ks: tuple[int, ...] = (1, 5)) -> torch.Tensor:
    """How many samples have their label among the top-k predictions, for each k (k capped at the classes)."""
    maxk = min(max(ks), logits.shape[1])
    hit = logits.topk(maxk, dim=1).indices.eq(target[:, None])
    return torch.stack([hit[:, : min(k, maxk)].any(dim=1).sum() for k in ks])


class Meter:
    """Sums loss and correct counts over batches on the device (no sync per batch).

    `result()` gives the mean loss, top-1 and top-5 accuracy in percent, and the sample count `n`.
    """

    def __init__(self) -> None:
        self.loss_sum: torch.Tensor | None = None
        self.correct: torch.Tensor | None = None
        self.n = 0

    def update(self, loss: torch.Tensor | float, logits: torch.Tensor, target: torch.Tensor) -> None:
        """Add a batch: `loss` is the batch mean, `logits` and `target` give the accuracies."""
        n = int(target.shape[0])
        loss_sum = torch.as_tensor(loss).detach().to(torch.float64) * n
        correct = topk_correct(logits.detach(), target)
        self.loss_sum = loss_sum if self.loss_sum is None else self.loss_sum + loss_sum
        self.correct = correct if self.correct is None else self.correct + correct
        self.n += n

    def result(self) -> dict[str, float]:
        """Means over the samples every rank saw; zeros (with n = 0) when there were none."""
        loss_sum, top1, top5, n = sum_over_ranks(self.totals()).tolist()
        if n == 0:
            return {"loss": 0.0, "top1": 0.0, "top5": 0.0, "n": 0}
        return {"loss": loss_sum / n, "top1": 100.0 * top1 / n, "top5": 100.0 * top5 / n, "n": int(n)}

    def totals(self) -> torch.Tensor:
        """Loss sum, top-1 and top-5 correct counts and n, as float64: the sums the ranks add up."""
        if self.loss_sum is None or self.correct is None:
            return torch.zeros(4, dtype=torch.float64)
        n = torch.tensor([float(self.n)], dtype=torch.float64, device=self.loss_sum.device)
        return torch.cat([self.loss_sum.reshape(1), self.correct.double(), n])


class MetricsLog:
    """A metrics.jsonl file: one JSON object per line, flushed at once so a killed run keeps what it wrote.

    Args:
        path: the file; None makes every method a no-op.
        tensorboard: also write each record's numbers as TensorBoard scalars (step: the record's epoch) into
            `<path's folder>/tensorboard/`, when tensorboard is installed; nothing otherwise.
    """

    def __init__(self, path: str | os.PathLike | None, tensorboard: bool = False) -> None:
        self.path = Path(path) if path is not None else None
        self.events = _event_writer(self.path.parent / "tensorboard") if tensorboard and self.path else None

    def append(self, record: dict[str, Any]) -> None:
        """Write one record as one line and flush it (rank 0 alone, in a data-parallel run)."""
        if self.path is None or not is_main():
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a") as f:
            f.write(json_text(record) + "\n")
            f.flush()
        if self.events is not None:
            step = int(record.get("epoch", 0))
            for key, value in record.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool) and key != "epoch":
                    self.events.add_scalar(f"{record.get('title', self.path.stem)}/{key}", value, step)
            self.events.flush()

    def rewrite(self, records: Iterable[dict[str, Any]]) -> None:
        """Replace the file by these records, atomically (a resumed run drops what came after its checkpoint)."""
        if self.path is None:
            return
        atomic_write_text(self.path, "".join(json_text(r) + "\n" for r in records))


def _event_writer(folder: Path):
    """A TensorBoard SummaryWriter into `folder`, or None when tensorboard is not installed."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is optional: without it metrics.jsonl is all there is
        return None
    return SummaryWriter(log_dir=str(folder))
