"""Trainer: epochs of weight updates with schedules, drop path, aux loss, metrics, checkpoints and resume."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm import tqdm

from descgraph.conf.schema import TrainerConf
from descgraph.train.checkpoint import load_checkpoint, save_checkpoint
from descgraph.train.metrics import Meter, MetricsLog
from descgraph.train.optim import make_optimizer, make_scheduler
from descgraph.train.seeding import rng_state, seed_epoch, set_rng_state


@dataclass
class TrainResult:
    """Per-epoch metric records, oldest first."""

    epochs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def last(self) -> dict[str, Any]:
        return self.epochs[-1] if self.epochs else {}

    @property
    def best_val_top1(self) -> float | None:
        vals = [e["val_top1"] for e in self.epochs if "val_top1" in e]
        return max(vals) if vals else None


def model_weights(model: nn.Module) -> list[nn.Parameter]:
    """The model's weights: `model.weights()` when it separates them from architecture parameters."""
    return list(model.weights()) if hasattr(model, "weights") else list(model.parameters())


class Trainer:
    """Trains a model whose forward returns (logits, aux_logits or None).

    Args:
        conf: epochs, optimizer, schedule, clipping, drop path, aux weight, checkpoint frequency.
        model: the model to train.
        device: where to train.
        seed: the run's seed; epoch e's randomness depends only on (seed, e).
        title: name written into each metrics record.
        metrics_path: metrics.jsonl to append one line per epoch to.
        checkpoint_path: where checkpoints go; with `resume`, an existing one is continued.
        resume: continue from `checkpoint_path` when it exists.
        criterion: the loss (cross entropy by default).
        progress: show tqdm bars (None: only on a terminal).
    """

    def __init__(
        self,
        conf: TrainerConf,
        model: nn.Module,
        *,
        device: torch.device | str = "cpu",
        seed: int = 0,
        title: str = "train",
        metrics_path: Path | None = None,
        checkpoint_path: Path | None = None,
        resume: bool = True,
        criterion: nn.Module | None = None,
        progress: bool | None = None,
    ) -> None:
        self.conf, self.device, self.seed, self.title = conf, torch.device(device), seed, title
        self.memory_format = torch.channels_last if conf.channels_last else torch.contiguous_format
        self.model = model.to(self.device, memory_format=self.memory_format)
        if conf.recompute_cells and hasattr(model, "set_recompute"):
            model.set_recompute(conf.recompute_cells)
        self.criterion = criterion or nn.CrossEntropyLoss()
        self.optimizer = make_optimizer(model_weights(model), conf.optimizer)
        self.scheduler = make_scheduler(self.optimizer, conf.epochs, conf.lr_schedule)
        self.metrics = MetricsLog(metrics_path)
        self.checkpoint_path = Path(checkpoint_path) if checkpoint_path else None
        self.resume, self.progress = resume, (None if progress is None else not progress)
        self.amp = self.device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda") if self.amp else None
        self.history: list[dict[str, Any]] = []
        self.start_epoch = 0

    # --- hooks for subclasses -------------------------------------------------------------------
    def on_epoch_start(self, epoch: int) -> None:
        """Called after seeding, before the epoch's first batch."""

    def on_epoch_end(self, epoch: int, record: dict[str, Any]) -> None:
        """Called with the epoch's metrics, before its checkpoint."""

    def extra_state(self) -> dict[str, Any]:
        """What a subclass adds to checkpoints."""
        return {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore what `extra_state` saved."""

    # --- one step and one epoch -----------------------------------------------------------------
    def compute_loss(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Criterion on the logits plus aux_weight times criterion on the aux logits."""
        logits, aux = self.model(x)
        loss = self.criterion(logits, y)
        if aux is not None and self.conf.aux_weight > 0:
            loss = loss + self.conf.aux_weight * self.criterion(aux, y)
        return loss, logits

    def train_step(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, Any]:
        """One weight update (the pluggable "training agent"); returns the loss and the logits."""
        self.optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cuda") if self.amp else contextlib.nullcontext():
            loss, logits = self.compute_loss(x, y)
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(self.optimizer)
        else:
            loss.backward()
        if self.conf.grad_clip > 0:
            nn.utils.clip_grad_norm_(model_weights(self.model), self.conf.grad_clip)
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        return {"loss": float(loss.detach()), "logits": logits.detach()}

    def batches(self, loader, epoch: int, what: str):
        """Iterate a loader on the device, with a progress bar on a terminal."""
        bar = tqdm(
            loader,
            desc=f"{self.title} {what} {epoch + 1}/{self.conf.epochs}",
            leave=False,
            disable=self.progress,
            dynamic_ncols=True,
        )
        for x, y in bar:
            x = x.to(self.device, non_blocking=True)
            if x.dim() == 4:
                x = x.contiguous(memory_format=self.memory_format)
            yield x, y.to(self.device, non_blocking=True)

    def train_epoch(self, epoch: int, train_loader, val_loader=None) -> dict[str, float]:
        self.model.train()
        meter = Meter()
        for x, y in self.batches(train_loader, epoch, "train"):
            out = self.train_step(x, y)
            meter.update(out["loss"], out["logits"], y)
        return meter.result()

    @torch.no_grad()
    def evaluate(self, loader) -> dict[str, float]:
        """Loss, top-1 and top-5 accuracy (percent) and sample count over a loader, in eval mode."""
        self.model.eval()
        meter = Meter()
        for x, y in self.batches(loader, 0, "eval"):
            logits, _ = self.model(x)
            meter.update(float(self.criterion(logits, y)), logits, y)
        return meter.result()

    # --- the loop -------------------------------------------------------------------------------
    def fit(self, train_loader, val_loader=None) -> TrainResult:
        """Train from the start or the last checkpoint to `conf.epochs`; returns every epoch's metrics."""
        self._restore()
        for epoch in range(self.start_epoch, self.conf.epochs):
            seed_epoch(self.seed, epoch, [ld for ld in (train_loader, val_loader) if ld is not None])
            self.on_epoch_start(epoch)
            self._set_drop_path(epoch)
            start, lr = time.perf_counter(), self.optimizer.param_groups[0]["lr"]
            record: dict[str, Any] = {"title": self.title, "epoch": epoch, "lr": lr}
            record.update({f"train_{k}": v for k, v in self.train_epoch(epoch, train_loader, val_loader).items()})
            if val_loader is not None:
                record.update({f"val_{k}": v for k, v in self.evaluate(val_loader).items()})
            record["time_s"] = round(time.perf_counter() - start, 3)
            self.history.append(record)
            self.metrics.append(record)
            self.scheduler.step()
            self.on_epoch_end(epoch, record)
            if (epoch + 1) % self.conf.checkpoint_freq == 0 or epoch + 1 == self.conf.epochs:
                self.save(epoch)
        return TrainResult(list(self.history))

    def _set_drop_path(self, epoch: int) -> None:
        """DARTS ramps drop path linearly: drop_path_prob * epoch / epochs."""
        if hasattr(self.model, "drop_path_prob"):
            self.model.drop_path_prob(self.conf.drop_path_prob * epoch / max(1, self.conf.epochs))

    # --- checkpoints ----------------------------------------------------------------------------
    def state_dict(self, epoch: int) -> dict[str, Any]:
        return {
            "epoch": epoch,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "history": self.history,
            "rng": rng_state(),
            "extra": self.extra_state(),
        }

    def save(self, epoch: int) -> None:
        """Write the checkpoint of a finished epoch (atomically)."""
        if self.checkpoint_path is not None:
            save_checkpoint(self.checkpoint_path, self.state_dict(epoch))

    def _restore(self) -> None:
        """Continue from the checkpoint when resuming; drop metric lines a killed run wrote after it."""
        path = self.checkpoint_path
        if not (self.resume and path is not None and path.exists()):
            self.metrics.truncate_after(-1)
            return
        state = load_checkpoint(path)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.history = list(state["history"])
        self.load_extra_state(state.get("extra", {}))
        set_rng_state(state["rng"])
        self.start_epoch = state["epoch"] + 1
        self.metrics.truncate_after(state["epoch"])
