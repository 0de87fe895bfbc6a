"""DiscreteSearcher: a search strategy proposes, each new candidate is trained briefly and scored on search-val.

With `hw.constraints` (cost model name -> largest cost) the space holds only architectures whose eval
network meets them, so no candidate outside them is trained. Every trial goes to search/trials.jsonl
as it ends; a resumed run replays the file into the strategy
(which then proposes what it would have proposed next) and trains only what is missing. The best
candidate becomes search/final_model_desc.yaml.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tqdm import tqdm

from algos.discrete.candidates import CANDIDATES, Candidates
from descgraph.builders import ModelDescBuilder
from descgraph.data import Loaders, get_loaders
from descgraph.desc import ModelDesc
from descgraph.errors import ConfError, DescgraphError
from descgraph.hw.cost import cost_model_from_conf
from descgraph.nas import Evaluater, Finalizers, Searcher, SearchResult
from descgraph.nas._common import save_checked_desc, stage_model, stage_trainer
from descgraph.nas.discrete import (
    BoundUnmet,
    Code,
    ConstrainedSpace,
    SearchSpace,
    SearchStrategy,
    Trial,
    get_space,
    get_strategy,
)
from descgraph.nas.discrete.loop import TrialLog, search_loop
from descgraph.nas.executor import Evaluate, TrialExecutor, make_executor
from descgraph.train import Trainer, preload_optimizers


@dataclass(frozen=True)
class CandidateTrainer:
    """Builds the evaluator of a worker: it decodes a code of the conf's space into its candidate, trains it
    with the worker's own loaders and scores it (`DiscreteSearcher.train_candidate`). Pickled to Ray actors.

    Attributes:
        searcher: the search (its conf).
        trainer_class: the candidates' trainer.
    """

    searcher: DiscreteSearcher
    trainer_class: type[Trainer]

    def __call__(self) -> Evaluate:
        """The evaluator of a worker process, with loaders of its own."""
        conf = self.searcher.conf
        return self.evaluator(get_loaders(conf.nas.search.loader, seed=conf.common.seed))

    def evaluator(self, loaders: Loaders) -> Evaluate:
        """The evaluator that trains on `loaders`; its process is ready to train (`preload_optimizers`), so that
        every trial's `time_s`, the first's too, is the trial's own."""
        preload_optimizers()
        name, conf = self.searcher.conf.nas.search.discrete.space, self.searcher.conf
        space, candidates = get_space(name), CANDIDATES.get(name)

        def evaluate(code: Code) -> tuple[float, dict[str, Any]]:
            desc = candidates.build(space.decode(code), conf.nas.search.model_desc)
            return self.searcher.train_candidate(desc, self.trainer_class, loaders)

        return evaluate


class DiscreteSearcher(Searcher):
    """Runs `conf.algo` (a registered strategy) over `nas.search.discrete.space` into `dirpath`."""

    def search(
        self, builder: ModelDescBuilder, trainer_class: type[Trainer] | None, finalizers: Finalizers, loaders=None
    ) -> SearchResult:
        """Search with trained candidates; `builder` and `finalizers` are unused (candidates are final networks).

        DiscreteConf asks for training epochs and a search-val share, so `loaders.val` is there."""
        name = self.conf.nas.search.discrete.space
        candidates = CANDIDATES.get(name)
        space = self.constrain(get_space(name), candidates)
        strategy = self.make_strategy(space)
        log = TrialLog(self.dirpath / "trials.jsonl")
        if not self.conf.common.resume:
            log.rewrite([])
        records = log.restore()
        extra = space.cost_of if isinstance(space, ConstrainedSpace) else None
        trainer = CandidateTrainer(self, trainer_class)
        stage = self.conf.nas.search
        with make_executor(stage, trainer, self.conf.common.threads, extra, local=trainer.evaluator(loaders)) as ex:
            try:
                self.run_trials(strategy, ex, records, log, lambda code: candidates.text(space.decode(code)))
            except BoundUnmet as e:
                raise ConfError(f"hw.constraints: {e}") from None
        return self.finish(strategy, space, candidates, log)

    def constrain(self, space: SearchSpace, candidates: Candidates) -> SearchSpace:
        """`space` narrowed to the architectures whose eval network (the network that ships) meets every
        bound of `hw.constraints`, priced by the cost models named there; `space` itself without bounds."""
        limits = self.conf.hw.constraints
        if not limits:
            return space
        evaluater = Evaluater(self.conf, self.dirpath.parent / "eval")

        def eval_desc(arch: Any) -> ModelDesc:
            return evaluater.build_desc(candidates.build(arch, self.conf.nas.search.model_desc))

        costs = {}
        for name, limit in limits.items():
            try:
                model = cost_model_from_conf(name, self.conf.hw)
            except DescgraphError as e:
                raise ConfError(f"hw.constraints.{name}: {e}") from None
            if limit <= 0:
                raise ConfError(f"hw.constraints.{name}: {limit}; a bound must be > 0")
            costs[name] = lambda arch, model=model: model.cost(eval_desc(arch))
        return ConstrainedSpace(space, costs, limits)

    def run_trials(
        self,
        strategy: SearchStrategy,
        executor: TrialExecutor,
        records: list[dict[str, Any]],
        log: TrialLog,
        text: Callable[[Code], str],
    ) -> None:
        """The search loop up to the budget, replaying `records` first, each new trial appended to the log."""
        discrete, stage = self.conf.nas.search.discrete, self.conf.nas.search
        with tqdm(
            total=discrete.budget,
            initial=sum(bool(r.get("new")) for r in records),
            desc="candidates",
            disable=None,
            leave=False,
        ) as bar:

            def write(trial: Trial, is_new: bool) -> None:
                log.append(self.record(trial, is_new, len(strategy.history) - 1, text(trial.code)))
                bar.update(int(is_new))

            search_loop(
                strategy, executor, discrete.budget, discrete.max_proposals or None, on_trial=write,
                window=stage.window, replay=records, replay_source=str(log.path),
            )  # fmt: skip

    def make_strategy(self, space: SearchSpace) -> SearchStrategy:
        """The algorithm's strategy with its `nas.search.discrete.strategy_params` (DiscreteConf checked every
        entry), set up with the run's seed."""
        params = self.conf.nas.search.discrete.strategy_params
        strategy = get_strategy(self.conf.algo, **params.get(self.conf.algo, {}))
        strategy.setup(space, self.conf.common.seed)
        return strategy

    def train_candidate(self, desc: ModelDesc, trainer_class: type[Trainer], loaders) -> tuple[float, dict[str, Any]]:
        """Train a candidate from the run's seed (the same start for every candidate); its score is the last
        epoch's search-val top-1."""
        start = time.perf_counter()
        model = stage_model(self.conf, lambda: desc, None, droppath=False)
        trainer = stage_trainer(self.conf, trainer_class, self.conf.nas.search, model, "candidate")
        last = trainer.fit(loaders.train, loaders.val).last
        extra = {
            "train_top1": last["train_top1"],
            "params": model.param_count(),
            "time_s": round(time.perf_counter() - start, 3),
        }
        return last["val_top1"], extra

    @staticmethod
    def record(trial: Trial, is_new: bool, index: int, arch: str) -> dict[str, Any]:
        """The JSON line of a trial."""
        return {
            "trial": index,
            "code": list(trial.code),
            "arch": arch,
            "result": trial.result,
            "new": is_new,
            **(trial.extra or {}),
        }

    def finish(
        self, strategy: SearchStrategy, space: SearchSpace, candidates: Candidates, log: TrialLog
    ) -> SearchResult:
        """The best candidate's network, saved as search/final_model_desc.yaml."""
        best = strategy.best()
        if best is None:
            raise DescgraphError(f"{log.path}: the search evaluated no candidate")
        arch = space.decode(best.code)
        final = candidates.build(arch, self.conf.nas.search.model_desc)
        save_checked_desc(final, self.dirpath / "final_model_desc.yaml")
        records = log.read()
        metrics = {
            "val_top1": best.result,
            "arch": candidates.text(arch),
            "candidates": sum(r["new"] for r in records),
            "proposals": len(records),
        }
        if isinstance(space, ConstrainedSpace):
            metrics.update(space.cost_of(best.code))
            metrics["cost_calls"] = space.cost_calls
        return SearchResult(final, metrics, records)
