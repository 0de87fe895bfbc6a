"""BigNAS training: sandwich sampling with in-place distillation (Yu et al. 2020, sec. 3.1).

Every step trains several children of the one supernet and sums their gradients before one update:
the largest on the labels, the smallest and `n_random` random ones on a mix of the labels and the
largest's soft predictions. With `use_sandwich_sampling: false` the same number of uniformly drawn
children all train on the labels (the paper's baseline).
"""

from __future__ import annotations

import hashlib
import random
from itertools import islice
from typing import Any

import torch
import torch.nn.functional as F

from algos.bignas.space import BigNASSpace, sandwich_sample
from algos.bignas.supernet import Supernet, recalibrate_bn
from descgraph.conf.schema import TrainerConf
from descgraph.desc.elastic import BigNASConfig
from descgraph.train import Trainer, distributed
from descgraph.train.seeding import derive_seed
from descgraph.train.trainer import joined


def compute_distillation_loss(
    teacher_logits: torch.Tensor, student_logits: torch.Tensor, temperature: float = 1.0
) -> torch.Tensor:
    """KL(teacher || student) of the temperature-softened predictions, times T^2, averaged over the batch.

    The T^2 keeps the gradient's scale independent of the temperature (Hinton et al. 2015, sec. 2).
    """
    log_student = F.log_softmax(student_logits / temperature, dim=1)
    log_teacher = F.log_softmax(teacher_logits / temperature, dim=1)
    kl = F.kl_div(log_student, log_teacher, reduction="batchmean", log_target=True)
    return kl * temperature**2


class BigNASTrainer(Trainer):
    """A Trainer whose step is a sandwich of children; validation reports the largest and smallest children.

    Args:
        conf: the trainer conf; `conf.sandwich` says how children are sampled and distilled.
        model: the Supernet.
        space: the children, as a discrete space.
        **kwargs: the Trainer's keyword arguments.
    """

    def __init__(self, conf: TrainerConf, model: Supernet, *, space: BigNASSpace, **kwargs: Any) -> None:
        super().__init__(conf, model, **kwargs)
        self.space, self.sandwich = space, conf.sandwich
        self.rng = random.Random(derive_seed(self.seed, -1))
        self.drawn = hashlib.sha256()  # the epoch's children, which every rank must draw alike

    def on_epoch_start(self, epoch: int) -> None:
        """Children of an epoch depend only on (seed, epoch), so a resumed run draws the same ones."""
        self.rng.seed(derive_seed(self.seed, epoch, -1))
        self.drawn = hashlib.sha256()

    def on_epoch_end(self, epoch: int, metrics: dict[str, Any]) -> None:
        """Every rank trained the same children (the step's seed, not the rank, picks them)."""
        token = int.from_bytes(self.drawn.digest()[:8], "little")
        distributed.check_same_on_ranks(token, f"the children of epoch {epoch + 1} (a hash of their configs)")

    def sample_children(self) -> list[BigNASConfig]:
        """The sandwich (largest, smallest, random), or as many uniformly drawn children."""
        n = self.sandwich.n_random
        if self.sandwich.use_sandwich_sampling:
            children = sandwich_sample(self.space, self.rng, n)
        else:
            children = [self.space.sample_config(self.rng) for _ in range(n + 2)]
        for config in children:
            self.drawn.update(config.model_dump_json().encode())
        return children

    def child_loss(self, logits: torch.Tensor, y: torch.Tensor, teacher: torch.Tensor | None) -> torch.Tensor:
        """Cross entropy, mixed with distillation from the teacher's logits when there is a teacher."""
        loss = self.criterion(logits, y)
        if teacher is None:
            return loss
        w = self.sandwich.distillation_weight
        return (1 - w) * loss + w * compute_distillation_loss(teacher, logits, self.sandwich.temperature)

    def train_step(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, Any]:
        """Gradients of every sampled child on every micro-batch, summed, then one update; reports the first
        child's loss and logits. In-place distillation teaches each child with the largest child's logits
        on the same micro-batch."""
        self.optimizer.zero_grad(set_to_none=True)
        children, firsts = self.sample_children(), []
        for xb, yb, scale in self.micro_batches(x, y, self.weight_params):
            teacher = None
            for k, config in enumerate(children):
                self.model.activate(config)
                with self.autocast():
                    logits, _ = self.model(xb)
                    loss = self.child_loss(logits, yb, teacher)
                self.backward(loss * scale)
                if k == 0:
                    firsts.append((loss.detach(), logits.detach()))
                    teacher = logits.detach() if self.sandwich.use_sandwich_sampling else None
        self.clip_and_step()
        return joined(firsts)

    def evaluate_child(self, config: BigNASConfig, loader: Any, calib_loader: Any) -> dict[str, float]:
        """A child's loss and accuracy on `loader` after recalibrating BN on `calib_batches` of `calib_loader`."""
        batches = (self.to_device(x, y)[0] for x, y in islice(calib_loader, self.sandwich.calib_batches))
        recalibrate_bn(self.model, config, batches, self.sharder.shards)
        return self.evaluate(loader)

    def run_epoch(self, epoch: int, train_loader: Any, val_loader: Any = None) -> dict[str, Any]:
        """Train an epoch; validation is the largest child's (val_*) and the smallest's (val_smallest_*)."""
        record = super().run_epoch(epoch, train_loader, None)
        if val_loader is not None:
            largest = self.evaluate_child(self.space.largest(), val_loader, train_loader)
            smallest = self.evaluate_child(self.space.smallest(), val_loader, train_loader)
            record.update({f"val_{k}": v for k, v in largest.items()})
            record.update({f"val_smallest_{k}": v for k, v in smallest.items()})
        return record
