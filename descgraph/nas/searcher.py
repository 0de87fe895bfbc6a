"""Searcher: build the supernet, train it with the algorithm's trainer, finalize it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from descgraph.builders import ModelDescBuilder
from descgraph.conf import Conf
from descgraph.desc import ModelDesc
from descgraph.nas._common import resolve_device, save_checked_desc, seed_all
from descgraph.nas.finalizers import Finalizers
from descgraph.nn import Model
from descgraph.train import Trainer


@dataclass
class SearchResult:
    """The final description, the search's headline metrics and the per-epoch training metrics."""

    model_desc: ModelDesc
    search_metrics: dict[str, Any] = field(default_factory=dict)
    train_metrics: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {**self.search_metrics, "final_desc_hash": self.model_desc.hash()}


class Searcher:
    """Runs the search stage into `dirpath` (search/ of the experiment folder)."""

    def __init__(self, conf: Conf, dirpath: Path) -> None:
        self.conf, self.dirpath = conf, Path(dirpath)

    def search(
        self, builder: ModelDescBuilder, trainer_class: type[Trainer] | None, finalizers: Finalizers, loaders=None
    ) -> SearchResult:
        """Build, train (when the algorithm has a trainer), finalize; descs are saved as they are made."""
        stage, seed = self.conf.nas.search, self.conf.common.seed
        seed_all(seed)
        desc = builder.build(stage.model_desc)
        save_checked_desc(desc, self.dirpath / "full_model_desc.yaml")
        device = resolve_device(self.conf.common.device)
        model = Model(desc, droppath=False, affine=False).to(device)
        metrics, train_metrics = {}, []
        if trainer_class is not None and stage.trainer.epochs > 0:
            trainer = trainer_class(
                stage.trainer,
                model,
                device=device,
                seed=seed,
                title="search",
                metrics_path=self.dirpath / "metrics.jsonl",
                checkpoint_path=self.dirpath / "checkpoint.pt",
                resume=self.conf.common.resume,
                aux_weight=stage.model_desc.aux_weight,
                tensorboard=self.conf.common.tensorboard,
            )
            result = trainer.fit(loaders.train, loaders.val)
            train_metrics = result.epochs
            metrics = {k: v for k, v in result.last.items() if k.startswith(("val_", "train_"))}
        final = finalizers.finalize_model(model.cpu())
        save_checked_desc(final, self.dirpath / "final_model_desc.yaml")
        return SearchResult(final, metrics, train_metrics)
