"""Searcher: build the supernet, train it with the algorithm's trainer, finalize it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from descgraph.builders import ModelDescBuilder
from descgraph.conf import Conf
from descgraph.desc import ModelDesc
from descgraph.nas._common import save_checked_desc, stage_model, stage_trainer
from descgraph.nas.finalizers import Finalizers
from descgraph.nn import Model
from descgraph.train import Trainer


@dataclass
class SearchResult:
    """The final description (None when a search's finals are several, as BigNAS's per-device children under
    final/), the search's headline metrics and the per-epoch training metrics."""

    model_desc: ModelDesc | None
    search_metrics: dict[str, Any] = field(default_factory=dict)
    train_metrics: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        if self.model_desc is None:
            return dict(self.search_metrics)
        return {**self.search_metrics, "final_desc_hash": self.model_desc.hash()}


class Searcher:
    """Runs the search stage into `dirpath` (search/ of the experiment folder)."""

    def __init__(self, conf: Conf, dirpath: Path) -> None:
        self.conf, self.dirpath = conf, Path(dirpath)

    def build_model(self, builder: ModelDescBuilder) -> Model:
        """The supernet, its description saved as search/full_model_desc.yaml, compiled as that file says."""
        path = self.dirpath / "full_model_desc.yaml"
        return stage_model(self.conf, lambda: builder.build(self.conf.nas.search.model_desc), path, droppath=False)

    def search(
        self, builder: ModelDescBuilder, trainer_class: type[Trainer] | None, finalizers: Finalizers, loaders=None
    ) -> SearchResult:
        """Build, train (when the algorithm has a trainer), finalize; descs are saved as they are made."""
        stage, model = self.conf.nas.search, self.build_model(builder)
        metrics, train_metrics = {}, []
        if trainer_class is not None and stage.trainer.epochs > 0:
            trainer = stage_trainer(self.conf, trainer_class, stage, model, "search", self.dirpath)
            result = trainer.fit(loaders.train, loaders.val)
            train_metrics = result.epochs
            metrics = {k: v for k, v in result.last.items() if k.startswith(("val_", "train_"))}
        final = finalizers.finalize_model(model.cpu())
        save_checked_desc(final, self.dirpath / "final_model_desc.yaml")
        return SearchResult(final, metrics, train_metrics)
