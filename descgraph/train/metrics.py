"""Accuracy and running averages, and the metrics.jsonl file."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch


def topk_correct(logits: torch.Tensor, target: torch.Tensor, ks: tuple[int, ...] = (1, 5)) -> list[int]:
    """Number of samples whose label is among the top k predictions, for each k (k capped at the classes)."""
    maxk = min(max(ks), logits.shape[1])
    pred = logits.topk(maxk, dim=1).indices
    hit = pred.eq(target[:, None])
    return [int(hit[:, : min(k, maxk)].any(dim=1).sum()) for k in ks]


class Meter:
    """Sums loss and correct counts over batches; `result()` gives loss, top1, top5 (percent) and n."""

    def __init__(self) -> None:
        self.loss = 0.0
        self.top1 = self.top5 = self.n = 0

    def update(self, loss: float, logits: torch.Tensor, target: torch.Tensor) -> None:
        n = target.shape[0]
        c1, c5 = topk_correct(logits.detach(), target)
        self.loss += loss * n
        self.top1 += c1
        self.top5 += c5
        self.n += n

    def result(self) -> dict[str, float]:
        n = max(self.n, 1)
        return {"loss": self.loss / n, "top1": 100.0 * self.top1 / n, "top5": 100.0 * self.top5 / n, "n": self.n}


class MetricsLog:
    """Appends one JSON object per line, flushed at once so a killed run keeps what it wrote."""

    def __init__(self, path: str | os.PathLike | None) -> None:
        self.path = Path(path) if path else None

    def append(self, record: dict[str, Any]) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")
            f.flush()

    def truncate_after(self, epoch: int) -> None:
        """Drop lines of epochs after `epoch` (written by a run that was killed before its checkpoint)."""
        if self.path is None or not self.path.exists():
            return
        from descgraph.desc.io import atomic_write_text

        kept = [line for line in self.path.read_text().splitlines() if line and json.loads(line)["epoch"] <= epoch]
        atomic_write_text(self.path, "".join(line + "\n" for line in kept))
