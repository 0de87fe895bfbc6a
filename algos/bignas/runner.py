"""BigNAS experiment through the spine: the searcher trains the elastic supernet and evolves children per
device, the finalizers save each device's child with its weights, the evaluater tests the saved children.

<expdir>/conf.yaml, log.txt, search/{full_model_desc.yaml, metrics.jsonl, checkpoint.pt, trials.jsonl,
evolution.jsonl, pareto.yaml, pareto.png}, final/<device>/{model_desc.yaml, model.pt}, summary.json,
report.html.
"""

from __future__ import annotations

from algos.bignas.conf import BigNASConf, BigNASSearchConf
from algos.bignas.evaluater import ChildEvaluater
from algos.bignas.finalizers import ChildFinalizers
from algos.bignas.searcher import BigNASSearcher
from algos.bignas.trainer import BigNASTrainer
from descgraph._ranks import world_size
from descgraph.data import Loaders, get_loaders
from descgraph.errors import ConfError
from descgraph.hw.cost import CostModel, cost_model_from_conf
from descgraph.nas import ExperimentRunner, register_algo
from descgraph.nas.executor import connect_ray


def check_ranks(stage: BigNASSearchConf) -> None:
    """On data-parallel ranks every rank runs the evolution (each judging children on its shards), so
    nothing may let one rank decide otherwise than another.

    Raises:
        ConfError: Ray workers or a wall-clock limit under torchrun; one line naming the key.
    """
    if world_size() == 1:
        return
    if stage.workers > 1:
        raise ConfError("nas.search.workers: Ray workers and torchrun ranks do not mix; use one or the other")
    if stage.multi_objective.time_limit_s:
        raise ConfError(
            "nas.search.multi_objective.time_limit_s: a wall-clock limit could stop the ranks at different "
            "children under torchrun; set it to 0 there"
        )


@register_algo("bignas", conf=BigNASConf)
class BigNASExperimentRunner(ExperimentRunner):
    """Sandwich-train the supernet, evolve children for every device, save and test each device's child."""

    _loaders: Loaders | None = None

    def check(self) -> None:
        """The target devices (checked when the conf loaded) and their cost models (a LUT reads its table here)."""
        mo = self.conf.nas.search.multi_objective
        self.devices = mo.targets()
        names = sorted({mo.pareto_cost, *(model for _, constraints in self.devices for model in constraints)})
        self.cost_models = {name: self.cost_model(name) for name in names}
        check_ranks(self.conf.nas.search)
        connect_ray(self.conf.nas.search.workers, self.conf.nas.search.ray_address)  # a bad address: before any file

    def cost_model(self, name: str) -> CostModel:
        """A cost model of the devices' constraints or the Pareto front, by registered name (`hw` gives a LUT)."""
        return cost_model_from_conf(name, self.conf.hw)

    def trainer_class(self) -> type[BigNASTrainer]:
        return BigNASTrainer

    def searcher(self) -> BigNASSearcher:
        if not hasattr(self, "devices"):
            self.check()
        return BigNASSearcher(self.conf, self.expdir / "search", self.expdir / "final", self.devices, self.cost_models)

    def finalizers(self) -> ChildFinalizers:
        return ChildFinalizers()

    def evaluater(self) -> ChildEvaluater:
        return ChildEvaluater(self.conf, self.expdir / "final")

    def search_loaders(self) -> Loaders:
        """Search-train and search-val (BigNASConf asks for a share), even with 0 epochs: children are scored on it."""
        if self._loaders is None:  # children are judged, and tested, on the search stage's data
            self._loaders = get_loaders(self.conf.nas.search.loader, seed=self.conf.common.seed)
        return self._loaders

    def eval_loaders(self) -> Loaders:
        """The search stage's loaders: children are tested on the split the search kept for testing."""
        return self.search_loaders()
