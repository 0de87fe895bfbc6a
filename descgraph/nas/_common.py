"""What the search and eval stages share: device choice, seeding, saving checked descriptions, and
building a stage's model and trainer."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from descgraph._ranks import world_size
from descgraph.conf import Conf
from descgraph.conf.schema import StageConf
from descgraph.desc import ModelDesc, save_desc, validate_model_desc
from descgraph.desc.size import SizeLimits
from descgraph.nn import Model, count_macs
from descgraph.train import Trainer
from descgraph.train.shards import check_shards, resolve_shards
from descgraph.train.threads import ThreadChoice, choose_threads, set_threads

log = logging.getLogger(__name__)


def resolve_device(name: str) -> torch.device:
    """'auto' is CUDA when present, the CPU otherwise."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def seed_all(seed: int) -> None:
    """Seed torch, numpy and random, so model initialization is reproducible."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def save_checked_desc(desc: ModelDesc, path: Path, limits: SizeLimits | None = None) -> None:
    """Validate (its estimated size within `limits`), then save a description atomically."""
    validate_model_desc(desc, source=str(path), limits=limits)
    save_desc(desc, path)


def stage_model(conf: Conf, build: Callable[[], ModelDesc], path: Path | None, **model_kwargs: Any) -> Model:
    """A stage's model: everything seeded with the run's seed, the description built, saved checked at
    `path` (unless None), compiled with `model_kwargs` (droppath) and moved to the run's device."""
    seed_all(conf.common.seed)
    desc = build()
    if path is not None:
        save_checked_desc(desc, path, conf.common.size_limits())
    else:
        validate_model_desc(desc, limits=conf.common.size_limits())  # nothing is allocated for a refused size
    return Model(desc, **model_kwargs).to(resolve_device(conf.common.device))


def stage_threads(conf: Conf, stage: StageConf, model: torch.nn.Module) -> ThreadChoice:
    """A stage's torch thread count: `common.threads` when set, else the rule of descgraph.train.threads on
    the forward multiply-accumulates of one training step (the model's MACs per sample x the train batch)."""
    work = None
    if not conf.common.threads and resolve_device(conf.common.device).type == "cpu" and isinstance(model, Model):
        work = count_macs(model, model.desc.input_shape) * stage.loader.train_batch
    return choose_threads(conf.common.threads, work)


def check_stage_shards(conf: Conf, world: int, stages: Sequence[str]) -> None:
    """`common.shards` against `world` ranks and the training batch of each named stage ("search", "eval").

    Raises:
        ConfError, DataError: one line naming the key (descgraph.train.shards.check_shards).
    """
    batches = {f"nas.{name}.loader.train_batch": getattr(conf.nas, name).loader.train_batch for name in stages}
    check_shards(conf.common.shards, world, batches)


def stage_trainer(
    conf: Conf,
    trainer_class: type[Trainer],
    stage: StageConf,
    model: torch.nn.Module,
    title: str,
    dirpath: Path | None = None,
    **kwargs: Any,
) -> Trainer:
    """A trainer of a stage (its trainer conf, its model's aux weight) on the run's device and seed; with
    `dirpath`, it writes dirpath/metrics.jsonl (and TensorBoard events when `common.tensorboard`) and
    dirpath/checkpoint.pt, and resumes from that checkpoint when `common.resume`. `kwargs` go to the class.
    Sets (and logs) the stage's torch thread count; the runner restores torch's count when the run ends."""
    set_threads(stage_threads(conf, stage, model))
    files: dict[str, Any] = {}
    if dirpath is not None:
        files = {
            "metrics_path": Path(dirpath) / "metrics.jsonl",
            "checkpoint_path": Path(dirpath) / "checkpoint.pt",
            "resume": conf.common.resume,
            "tensorboard": conf.common.tensorboard,
        }
    device = resolve_device(conf.common.device)
    shards = resolve_shards(conf.common.shards)
    batch = stage.loader.train_batch
    what = (title, batch, shards, batch // shards, world_size())
    log.info("%s: global batches of %d in %d shards (micro-batches) of %d, on %d ranks", *what)
    return trainer_class(
        stage.trainer, model, device=device, seed=conf.common.seed, title=title,
        aux_weight=stage.model_desc.aux_weight, shards=conf.common.shards, **files, **kwargs,
    )  # fmt: skip
