"""BigNAS experiment through the spine: the searcher trains the elastic supernet and evolves children per
device, the finalizers save each device's child with its weights, the evaluater tests the saved children.

<expdir>/conf.yaml, log.txt, search/{full_model_desc.yaml, metrics.jsonl, checkpoint.pt, trials.jsonl,
evolution.jsonl, pareto.yaml, pareto.png}, final/<device>/{model_desc.yaml, model.pt}, summary.json.
"""

from __future__ import annotations

import re

from algos.bignas.evaluater import ChildEvaluater
from algos.bignas.finalizers import ChildFinalizers
from algos.bignas.searcher import BigNASSearcher
from algos.bignas.trainer import BigNASTrainer
from descgraph._registry import close_matches
from descgraph.conf.schema import MultiObjectiveConf
from descgraph.data import Loaders, get_loaders
from descgraph.errors import ConfError, DataError
from descgraph.hw.cost import COST_MODELS, CostModel, cost_model_from_conf
from descgraph.nas import ExperimentRunner, register_algo

MO_KEY = "nas.search.multi_objective"
DEVICE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def check_devices(conf: MultiObjectiveConf) -> list[tuple[str, dict[str, float]]]:
    """The target devices as (name, constraints); a bad name or an unknown cost model is a one-line ConfError."""
    names = COST_MODELS.names()
    if conf.pareto_cost not in COST_MODELS:
        raise ConfError(f"{MO_KEY}.pareto_cost: unknown cost model {conf.pareto_cost!r}{_hint(conf.pareto_cost)}")
    devices, seen = [], set()
    for i, device in enumerate(conf.devices):
        if not DEVICE_NAME.fullmatch(device.name) or device.name in seen:
            rule = f"a unique folder name matching {DEVICE_NAME.pattern}"
            raise ConfError(f"{MO_KEY}.devices[{i}].name: {device.name!r} is not {rule}")
        for model in device.constraints:
            if model not in names:
                raise ConfError(f"{MO_KEY}.devices[{i}].constraints: unknown cost model {model!r}{_hint(model)}")
        seen.add(device.name)
        devices.append((device.name, dict(device.constraints)))
    return devices


def _hint(name: str) -> str:
    return close_matches(name, COST_MODELS.names()) or f" (known: {', '.join(COST_MODELS.names())})"


@register_algo("bignas")
class BigNASExperimentRunner(ExperimentRunner):
    """Sandwich-train the supernet, evolve children for every device, save and test each device's child."""

    _loaders: Loaders | None = None

    def check(self) -> None:
        """The devices' names and cost models (a LUT cost model reads its table here)."""
        self.devices = check_devices(self.conf.nas.search.multi_objective)
        mo = self.conf.nas.search.multi_objective
        names = sorted({mo.pareto_cost, *(model for _, constraints in self.devices for model in constraints)})
        self.cost_models = {name: self.cost_model(name) for name in names}

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
        """BigNAS scores children on search-val, so the search needs a validation share, even with 0 epochs."""
        ratio = self.conf.nas.search.loader.val_ratio
        if not 0 < ratio < 1:
            raise DataError(
                f"nas.search.loader.val_ratio: BigNAS scores children on search-val; need (0, 1), got {ratio}"
            )
        if self._loaders is None:  # children are judged, and tested, on the search stage's data
            self._loaders = get_loaders(self.conf.nas.search.loader, seed=self.conf.common.seed)
        return self._loaders

    def eval_loaders(self) -> Loaders:
        """The search stage's loaders: children are tested on the split the search kept for testing."""
        if self._loaders is None:
            self._loaders = get_loaders(self.conf.nas.search.loader, seed=self.conf.common.seed)
        return self._loaders
