"""The BigNAS search stage: sandwich-train the supernet, judge its largest and smallest children, evolve
children for every device (resumable from search/trials.jsonl), and hand the picks to the finalizers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from algos.bignas.finalizers import ChildFinalizers
from algos.bignas.judge import ChildData, ChildJudge, ChildScorer, child_data, layout_of
from algos.bignas.pareto import plot_pareto, write_pareto_yaml
from algos.bignas.search import SearchOutcome, multi_objective_search
from algos.bignas.space import BigNASSpace
from algos.bignas.supernet import Supernet
from descgraph.builders import ModelDescBuilder
from descgraph.conf import Conf
from descgraph.desc.elastic import elastic_space
from descgraph.hw.cost import CostModel
from descgraph.nas import Searcher, SearchResult
from descgraph.nas._common import resolve_device, stage_model, stage_trainer
from descgraph.nas.discrete import Code
from descgraph.nas.discrete.loop import TrialLog
from descgraph.nas.executor import TrialExecutor, make_executor
from descgraph.train import MetricsLog, Trainer
from descgraph.train.seeding import derive_seed

TRAIN_KEYS = ("train_loss", "train_top1", "val_top1", "val_smallest_top1")


class BigNASSearcher(Searcher):
    """Runs the BigNAS search into `dirpath` (search/); the finalizers save the children into `final_dir`.

    Args:
        conf: the effective conf.
        dirpath: search/ of the experiment folder.
        final_dir: final/ of the experiment folder.
        devices: (name, constraints) per target device, checked.
        cost_models: every cost model the devices' constraints and the Pareto front name.
    """

    def __init__(
        self,
        conf: Conf,
        dirpath: Path,
        final_dir: Path,
        devices: list[tuple[str, dict[str, float]]],
        cost_models: dict[str, CostModel],
    ) -> None:
        super().__init__(conf, dirpath)
        self.final_dir, self.devices, self.cost_models = Path(final_dir), devices, cost_models

    def search(
        self, builder: ModelDescBuilder, trainer_class: type[Trainer] | None, finalizers: ChildFinalizers, loaders=None
    ) -> SearchResult:
        """Train, judge, evolve, finalize; returns the search's numbers (the children are under final/)."""
        stage, seed = self.conf.nas.search, self.conf.common.seed
        model = stage_model(self.conf, lambda: builder.build(stage.model_desc), self.dirpath / "full_model_desc.yaml",
                            droppath=False)  # fmt: skip
        supernet, space = Supernet(model), BigNASSpace(elastic_space(model.desc))
        data = child_data(loaders, stage.loader, stage.trainer.sandwich.calib_batches, seed)
        metrics, epochs = self.train_supernet(trainer_class, supernet, space, loaders, data)
        judge = ChildJudge(supernet, data, resolve_device(self.conf.common.device), self.cost_models,
                           layout_of(stage.trainer.channels_last), self.conf.common.shards)  # fmt: skip
        metrics["largest"] = judge.child_summary(space.largest())
        metrics["smallest"] = judge.child_summary(space.smallest())
        with self.child_executor(
            judge, space, ChildScorer(self.conf, model.desc, model.state_dict(), data.calib)
        ) as ex:
            outcome = self.search_children(judge, space, ex)
        metrics["evolution"] = outcome.summary()
        metrics["devices"] = finalizers.finalize_devices(judge, outcome, self.final_dir)
        return SearchResult(None, metrics, epochs)

    def train_supernet(
        self, trainer_class: type[Trainer], supernet: Supernet, space: BigNASSpace, loaders, data: ChildData
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Sandwich training with checkpoints; the last epoch's headline numbers and every epoch's record."""
        stage = self.conf.nas.search
        trainer = stage_trainer(self.conf, trainer_class, stage, supernet, "search", self.dirpath, space=space)
        result = trainer.fit(loaders.train, data.val)
        metrics = {"epochs": len(result.epochs), **{k: result.last[k] for k in TRAIN_KEYS if k in result.last}}
        return metrics, result.epochs

    def child_executor(self, judge: ChildJudge, space: BigNASSpace, scorer: ChildScorer) -> TrialExecutor:
        """Scores children (accuracy: here with `judge`, or on `nas.search.workers` Ray actors built by `scorer`);
        their costs are priced here."""

        def accuracy(code: Code) -> tuple[float, dict]:
            return judge.accuracy(space.decode(code), judge.data.val), {}

        def costs(code: Code) -> dict:
            return {"costs": judge.costs(space.decode(code))}

        return make_executor(self.conf.nas.search, scorer, self.conf.common.threads, costs, local=accuracy)

    def search_children(self, judge: ChildJudge, space: BigNASSpace, executor: TrialExecutor) -> SearchOutcome:
        """The evolution, each window of children scored by `executor` (its trials in trials.jsonl, its
        generations in evolution.jsonl), the front in pareto.yaml and pareto.png."""
        mo = self.conf.nas.search.multi_objective
        records = MetricsLog(self.dirpath / "evolution.jsonl")
        records.rewrite([])  # a resumed search writes its replayed generations again
        units = {name: model.unit for name, model in judge.cost_models.items()}
        outcome = multi_objective_search(
            space,
            executor,
            self.devices,
            mo.population_size,
            mo.generations,
            pareto_cost=mo.pareto_cost,
            mutation_prob=mo.mutation_prob,
            crossover_share=mo.crossover_share,
            parents=mo.parents,
            time_limit_s=mo.time_limit_s,
            seed=derive_seed(self.conf.common.seed, -3),
            units=units,
            on_generation=records.append,
            trials=TrialLog(self.dirpath / "trials.jsonl"),
            resume=self.conf.common.resume,
            window=self.conf.nas.search.window,
        )
        write_pareto_yaml(outcome, self.dirpath / "pareto.yaml", mo.pareto_cost)
        plot_pareto(outcome, self.dirpath / "pareto.png", mo.pareto_cost, units[mo.pareto_cost])
        return outcome
