"""DARTS experiment: bilevel search of a mixed-op supernet, DARTS finalizers, then evaluation."""

from __future__ import annotations

from algos.darts.trainer import DartsArchTrainer
from descgraph.errors import DataError
from descgraph.nas import ExperimentRunner, register_algo


@register_algo("darts")
class DartsExperimentRunner(ExperimentRunner):
    """Search with DartsArchTrainer; the conf's `nas.search.finalizer` (darts) picks the cells."""

    def trainer_class(self) -> type[DartsArchTrainer]:
        return DartsArchTrainer

    def search_loaders(self):
        """DARTS needs search-val for its architecture steps."""
        if self.conf.nas.search.trainer.epochs > 0 and not 0 < self.conf.nas.search.loader.val_ratio < 1:
            raise DataError(
                f"nas.search.loader.val_ratio: DARTS search needs a value in (0, 1), "
                f"got {self.conf.nas.search.loader.val_ratio}"
            )
        return super().search_loaders()
