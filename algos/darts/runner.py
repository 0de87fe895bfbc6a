"""DARTS experiment: bilevel search of a mixed-op supernet, DARTS finalizers, then evaluation."""

from __future__ import annotations

from algos.darts.conf import DartsConf
from algos.darts.trainer import DartsArchTrainer
from descgraph.nas import ExperimentRunner, register_algo


@register_algo("darts", conf=DartsConf)
class DartsExperimentRunner(ExperimentRunner):
    """Search with DartsArchTrainer (its conf, DartsConf, asks for search-val); `nas.search.finalizer` (darts)
    picks the cells."""

    def trainer_class(self) -> type[DartsArchTrainer]:
        return DartsArchTrainer
