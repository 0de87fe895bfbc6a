"""Trainer: epochs of weight updates with schedules, drop path, aux loss, metrics, checkpoints and resume."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm import tqdm

from descgraph.conf.schema import TrainerConf
from descgraph.errors import DivergenceError
from descgraph.train import distributed
from descgraph.train.checkpoint import CheckpointError, describe_error, load_checkpoint, save_checkpoint
from descgraph.train.divergence import all_finite, first_nonfinite_loss, first_nonfinite_tensor
from descgraph.train.metrics import Meter, MetricsLog
from descgraph.train.optim import make_optimizer, make_scheduler, weights_of
from descgraph.train.seeding import rng_state, seed_epoch, set_rng_state
from descgraph.train.shards import MicroBatch, Sharder

logger = logging.getLogger(__name__)


@dataclass
class TrainResult:
    """What `Trainer.fit` returns.

    Attributes:
        epochs: one metrics record per epoch, oldest first (the lines of metrics.jsonl).
        last: the last epoch's record; empty when no epoch ran.
        best_val_top1: the best validation top-1 (percent) over the epochs; None without validation.
    """

    epochs: list[dict[str, Any]] = field(default_factory=list)
    last: dict[str, Any] = field(default_factory=dict)
    best_val_top1: float | None = None

    @classmethod
    def from_epochs(cls, epochs: list[dict[str, Any]]) -> TrainResult:
        """The result of these per-epoch records."""
        vals = [e["val_top1"] for e in epochs if e.get("val_top1") is not None]
        return cls(list(epochs), dict(epochs[-1]) if epochs else {}, max(vals) if vals else None)


def prefixed(prefix: str, metrics: dict[str, Any]) -> dict[str, Any]:
    """{"loss": 1} -> {"train_loss": 1}."""
    return {f"{prefix}_{k}": v for k, v in metrics.items()}


class Trainer:
    """Trains a model whose forward returns (logits, aux_logits or None), epoch by epoch.

    Subclasses change the update by overriding `train_step` (the "training agent") and follow the
    loop through `on_epoch_start` / `on_epoch_end`; `extra_state` / `load_extra_state` add to checkpoints.
    Every loss goes through `backward`, which refuses a non-finite one; see descgraph.train.divergence.

    Args:
        conf: epochs, optimizer, schedule, clipping, drop path, checkpoint frequency.
        model: the model; its `weights()` (else its parameters minus `arch_params()`) are optimized.
        device: where to train.
        seed: the run's seed; epoch e's randomness depends only on (seed, e).
        title: name written into each metrics record and shown on the progress bars.
        metrics_path: metrics.jsonl, one line per epoch.
        checkpoint_path: the checkpoint file, written every `conf.checkpoint_freq` epochs and at the end.
        resume: continue from `checkpoint_path` when it exists.
        tensorboard: mirror the metrics records as TensorBoard events (see MetricsLog).
        criterion: the loss; cross entropy by default.
        progress: tqdm bars; None shows them only on a terminal, False never.
        aux_weight: weight of the aux tower loss: the `aux_weight` of the model_desc conf that built the
            aux tower, so that the tower and its loss weight cannot disagree.
        shards: micro-batches of each global batch (`common.shards`; 0: the world size), see
            descgraph.train.shards.
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
        aux_weight: float = 0.0,
        tensorboard: bool = False,
        shards: int = 0,
    ) -> None:
        self.conf, self.seed, self.title, self.resume = conf, seed, title, resume
        self.aux_weight = aux_weight
        self.device = torch.device(device)
        self.memory_format = torch.channels_last if conf.channels_last else torch.contiguous_format
        self.model = model.to(self.device, memory_format=self.memory_format)
        if conf.recompute_cells and hasattr(self.model, "set_recompute"):
            self.model.set_recompute(conf.recompute_cells)
        criterion = criterion if criterion is not None else nn.CrossEntropyLoss()
        self.criterion = criterion.to(self.device) if isinstance(criterion, nn.Module) else criterion
        self.weight_params = weights_of(self.model)
        self.sharder = Sharder(self.model, shards)
        self.optimizer = make_optimizer(self.weight_params, conf.optimizer)
        self.scheduler = make_scheduler(self.optimizer, conf.epochs, conf.lr_schedule)
        self.amp = conf.amp and self.device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda") if self.amp else None
        self.metrics = MetricsLog(metrics_path, tensorboard=tensorboard)
        self.checkpoint_path = Path(checkpoint_path) if checkpoint_path is not None else None
        self.bars_disabled = None if progress is None else not progress  # tqdm: None = only on a terminal
        self.history: list[dict[str, Any]] = []
        self.start_epoch = 0
        self.position = (0, 0)  # (epoch, step) of the batch in training, for divergence messages
        self.checkpointed: int | None = None  # epochs in the last checkpoint written or resumed from

    # --- hooks for subclasses -------------------------------------------------------------------
    def on_epoch_start(self, epoch: int) -> None:
        """Called after seeding and setting drop path, before the epoch's first batch."""

    def on_epoch_end(self, epoch: int, metrics: dict[str, Any]) -> None:
        """Called with the epoch's record before it is written; JSON-able entries added to it are kept."""

    def extra_state(self) -> dict[str, Any]:
        """What a subclass adds to checkpoints (tensors and plain containers)."""
        return {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore what `extra_state` returned."""

    # --- one step -------------------------------------------------------------------------------
    def compute_loss(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """criterion(logits, y) + aux_weight * criterion(aux_logits, y); returns the loss and the logits."""
        logits, aux_logits = self.model(x)
        loss = self.criterion(logits, y)
        if aux_logits is not None and self.aux_weight > 0:
            loss = loss + self.aux_weight * self.criterion(aux_logits, y)
        return loss, logits

    def micro_batches(
        self, x: torch.Tensor, y: torch.Tensor, params: Sequence[torch.Tensor] = ()
    ) -> Iterator[MicroBatch]:
        """This rank's micro-batches of a global batch's shard, each `(x, y, loss scale)`; after the last,
        the `.grad` of `params` holds the global batch's gradient (descgraph.train.shards)."""
        return self.sharder(x, y, params)

    def train_step(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, Any]:
        """One weight update; returns at least the detached `loss` and `logits` (for the metrics)."""
        self.optimizer.zero_grad(set_to_none=True)
        outs = []
        for xb, yb, scale in self.micro_batches(x, y, self.weight_params):
            with self.autocast():
                loss, logits = self.compute_loss(xb, yb)
            self.backward(loss * scale)
            outs.append((loss.detach(), logits.detach()))
        self.clip_and_step()
        return joined(outs)

    def autocast(self) -> contextlib.AbstractContextManager:
        """Mixed precision on CUDA (when `conf.amp`), nothing otherwise."""
        return torch.autocast(device_type="cuda") if self.amp else contextlib.nullcontext()

    def backward(self, loss: torch.Tensor) -> None:
        """Gradients of the weights only: architecture parameters are left to their own optimizer.

        Raises:
            DivergenceError: the loss is NaN or infinite (checked before anything is updated).
        """
        self.check_finite(loss, "the loss is not finite")
        scaled = self.scaler.scale(loss) if self.scaler is not None else loss
        scaled.backward(inputs=[p for p in self.weight_params if p.requires_grad])

    def clip_and_step(self) -> None:
        """Clip the norm of the weights' gradients (summed over the micro-batches and ranks) at `conf.grad_clip`
        (0: no clipping) and step the optimizer."""
        if self.scaler is not None:
            self.scaler.unscale_(self.optimizer)
        if self.conf.grad_clip > 0:
            nn.utils.clip_grad_norm_(self.weight_params, self.conf.grad_clip)
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()

    def check_finite(self, values: torch.Tensor | list[torch.Tensor], problem: str) -> None:
        """Raise a DivergenceError saying `problem` at the current step when any value is NaN or infinite."""
        if not all_finite(values):
            raise self.diverged(problem, *self.position)

    def diverged(self, problem: str, epoch: int, step: int | None) -> DivergenceError:
        """The one-line error of a diverged training: stage, epoch, step (None: the epoch's end), what is kept."""
        where = (
            f"epoch {epoch + 1}/{self.conf.epochs}, step {step + 1}"
            if step is not None
            else f"end of epoch {epoch + 1}/{self.conf.epochs}"
        )
        kept = (
            f"the last good checkpoint, {self.checkpoint_path} (after epoch {self.checkpointed}), is kept"
            if self.checkpointed
            else "no checkpoint was written"
        )
        return DivergenceError(f"{self.title}: {where}: {problem}: training diverged (learning rate too high?); {kept}")

    def to_device(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Move a batch to the training device."""
        non_blocking = self.device.type == "cuda"
        x = x.to(self.device, non_blocking=non_blocking)
        if x.dim() == 4:
            x = x.contiguous(memory_format=self.memory_format)
        return x, y.to(self.device, non_blocking=non_blocking)

    def progress_bar(self, loader: Any, what: str) -> tqdm:
        """A tqdm bar over a loader, quiet off a terminal; use it in a `with` so Ctrl-C closes it."""
        disabled = self.bars_disabled if distributed.is_main() else True
        return tqdm(loader, desc=f"{self.title} {what}", leave=False, disable=disabled, dynamic_ncols=True)

    # --- one epoch ------------------------------------------------------------------------------
    def batches(self, bar: Any, epoch: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """The training batches of a progress bar, on the device; `position` follows them."""
        for step, (x, y) in enumerate(bar):
            self.position = (epoch, step)
            yield self.to_device(x, y)

    def train_epoch(self, epoch: int, train_loader: Any, val_loader: Any = None) -> dict[str, float]:
        """One pass of `train_step` over the training loader; returns loss, top1, top5 and n."""
        self.model.train()
        meter = Meter()
        with self.progress_bar(train_loader, f"train {epoch + 1}/{self.conf.epochs}") as bar:
            for x, y in self.batches(bar, epoch):
                out = self.train_step(x, y)
                meter.update(out["loss"], out["logits"], y)
        return meter.result()

    @torch.no_grad()
    def evaluate(self, loader: Any) -> dict[str, float]:
        """Mean loss, top-1 and top-5 accuracy (percent; top-5 capped at the classes) and n, in eval mode."""
        was_training = self.model.training
        self.model.eval()
        meter = Meter()
        try:
            with self.progress_bar(loader, "eval") as bar:
                for x, y in bar:
                    x, y = self.to_device(x, y)
                    with self.autocast():
                        logits, _ = self.model(x)
                    meter.update(self.criterion(logits, y), logits, y)
        finally:
            self.model.train(was_training)
        return meter.result()

    def set_drop_path(self, epoch: int) -> None:
        """DARTS ramps drop path linearly: drop_path_prob * epoch / epochs."""
        setter = getattr(self.model, "drop_path_prob", None)
        if callable(setter):
            setter(self.conf.drop_path_prob * epoch / self.conf.epochs)

    def run_epoch(self, epoch: int, train_loader: Any, val_loader: Any = None) -> dict[str, Any]:
        """Train one epoch, validate, and return the epoch's metrics record."""
        start = time.perf_counter()
        record: dict[str, Any] = {"title": self.title, "epoch": epoch, "lr": self.optimizer.param_groups[0]["lr"]}
        record.update(prefixed("train", self.train_epoch(epoch, train_loader, val_loader)))
        if val_loader is not None:
            record.update(prefixed("val", self.evaluate(val_loader)))
        record["time_s"] = round(time.perf_counter() - start, 3)
        return record

    # --- the loop -------------------------------------------------------------------------------
    def fit(self, train_loader: Any, val_loader: Any = None, stop_epoch: int | None = None) -> TrainResult:
        """Train from the start, or from the last checkpoint, up to `conf.epochs`.

        Args:
            stop_epoch: stop after this many epochs, checkpointed there, the schedules still those of
                `conf.epochs`: going on from that checkpoint later trains what one run to `conf.epochs` does
                (the rungs of a multi-fidelity search). None: `conf.epochs`.

        Returns:
            Every epoch's record, those restored from the checkpoint included.
        """
        self._restore()
        stop = self.conf.epochs if stop_epoch is None else min(stop_epoch, self.conf.epochs)
        loaders = [loader for loader in (train_loader, val_loader) if loader is not None]
        for epoch in range(self.start_epoch, stop):
            seed_epoch(self.seed, epoch, loaders)
            self.set_drop_path(epoch)
            self.on_epoch_start(epoch)
            record = self.run_epoch(epoch, train_loader, val_loader)
            self.check_epoch(epoch, record)
            self.on_epoch_end(epoch, record)
            self._finish_epoch(epoch, record)
        if stop < self.conf.epochs and len(self.history) == stop and self.checkpointed != stop:
            self.write_checkpoint(stop)
            distributed.barrier()
        return TrainResult.from_epochs(self.history)

    def check_epoch(self, epoch: int, record: dict[str, Any]) -> None:
        """Refuse an epoch that ended with a non-finite tensor in the model's state or a non-finite loss.

        Raises:
            DivergenceError: before anything of the epoch is recorded or checkpointed.
        """
        tensor = first_nonfinite_tensor(self.model.state_dict())
        if tensor is not None:
            raise self.diverged(f"{tensor} is not finite", epoch, None)
        loss = first_nonfinite_loss(record)
        if loss is not None:
            raise self.diverged(f"{loss} is {record[loss]}", epoch, None)

    def _finish_epoch(self, epoch: int, record: dict[str, Any]) -> None:
        """Keep and write the record, step the schedule, checkpoint when due."""
        self.history.append(record)
        self.metrics.append(record)
        self.scheduler.step()
        logger.info("%s epoch %d/%d: %s", self.title, epoch + 1, self.conf.epochs, _summary(record))
        if (epoch + 1) % self.conf.checkpoint_freq == 0 or epoch + 1 == self.conf.epochs:
            self.write_checkpoint(epoch + 1)
            distributed.barrier()  # no rank goes on before rank 0's checkpoint is whole

    # --- checkpoints ----------------------------------------------------------------------------
    def state_dict(self, epochs_done: int) -> dict[str, Any]:
        """Everything a resumed run needs; `epoch` is the number of finished epochs."""
        state = {
            "epoch": epochs_done,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "history": list(self.history),
            "rng": rng_state(),
            "extra": self.extra_state(),
            "world_size": distributed.world_size(),
            "shards": self.sharder.shards,
        }
        if self.scaler is not None:
            state["scaler"] = self.scaler.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what `state_dict` returned; training continues at epoch `state["epoch"]`."""
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        if self.scaler is not None and "scaler" in state:
            self.scaler.load_state_dict(state["scaler"])
        self.load_extra_state(state.get("extra", {}))
        set_rng_state(state["rng"])
        self.history = list(state["history"])
        self.start_epoch = self.checkpointed = int(state["epoch"])

    def write_checkpoint(self, epochs_done: int) -> None:
        """Write the checkpoint atomically (nothing when there is no checkpoint path)."""
        if self.checkpoint_path is not None:
            save_checkpoint(self.checkpoint_path, self.state_dict(epochs_done))
            self.checkpointed = epochs_done

    def _restore(self) -> None:
        """Continue from the checkpoint when resuming, else start afresh; the metrics file follows."""
        path = self.checkpoint_path
        if not (self.resume and path is not None and path.exists()):
            self.history, self.start_epoch = [], 0
            self.metrics.rewrite([])
            return
        state = load_checkpoint(path)
        try:
            self.load_state_dict(state)
        except (KeyError, RuntimeError, ValueError, TypeError) as e:
            reason = f"missing {e}" if isinstance(e, KeyError) else describe_error(e)
            raise CheckpointError(f"{path}: does not fit this trainer and model ({reason})") from None
        # Lines a killed run wrote after its last checkpoint go: the file then matches an uninterrupted run.
        self.metrics.rewrite(self.history)
        ranks = (
            f" (written by {state.get('world_size', 1)} ranks, resumed on {distributed.world_size()};"
            f" {self.sharder.shards} shards)"
        )
        logger.info("%s: resumed from %s after epoch %d%s", self.title, path, self.start_epoch, ranks)


def joined(outs: list[tuple[torch.Tensor, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """The metrics of a step's micro-batches, `(loss, logits)` each: the mean loss and all the logits."""
    losses, logits = zip(*outs)
    return {"loss": torch.stack(losses).mean(), "logits": torch.cat(logits)}


def _summary(record: dict[str, Any]) -> str:
    keys = ("train_loss", "train_top1", "val_loss", "val_top1", "lr")
    return ", ".join(f"{k}={record[k]:.4g}" for k in keys if isinstance(record.get(k), (int, float)))
