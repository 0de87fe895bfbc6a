"""The runner of the discrete strategies (`rea`, `reinforce`, `local`, `bananas`, `tpe`): the algorithm's name is
the search strategy's."""

from __future__ import annotations

from algos.discrete.conf import DISCRETE_ALGOS, DiscreteConf
from algos.discrete.searcher import DiscreteSearcher
from descgraph.nas import ExperimentRunner, register_algo
from descgraph.nas.executor import connect_ray
from descgraph.train import Trainer


class DiscreteSearchRunner(ExperimentRunner):
    """Searches `nas.search.discrete.space` with the strategy named by `algo`, training each candidate for
    `nas.search.trainer.epochs` and scoring it on search-val; the eval stage trains the best from scratch."""

    search_on_ranks = False  # candidates train one by one in one process, which appends trials.jsonl

    def check(self) -> None:
        """Ray joined or started when `nas.search.workers` asks: a bad address fails before any file is written."""
        connect_ray(self.conf.nas.search.workers, self.conf.nas.search.ray_address)

    def trainer_class(self) -> type[Trainer]:
        return Trainer

    def searcher(self) -> DiscreteSearcher:
        return DiscreteSearcher(self.conf, self.expdir / "search")


for _name in DISCRETE_ALGOS:
    register_algo(_name, conf=DiscreteConf)(DiscreteSearchRunner)
