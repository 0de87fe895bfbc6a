"""DiscreteSearcher: a search strategy proposes, each new candidate is trained briefly and scored on search-val.

Every trial goes to search/trials.jsonl as it ends; a resumed run replays the file into the strategy
(which then proposes what it would have proposed next) and trains only what is missing. The best
candidate becomes search/final_model_desc.yaml.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tqdm import tqdm

from algos.discrete.candidates import CANDIDATES, Candidates
from descgraph.builders import ModelDescBuilder
from descgraph.desc import ModelDesc
from descgraph.errors import ConfError, DescgraphError
from descgraph.nas import Finalizers, Searcher, SearchResult
from descgraph.nas._common import save_checked_desc, stage_model, stage_trainer
from descgraph.nas.discrete import Code, SearchSpace, SearchStrategy, Trial, get_space, get_strategy
from descgraph.nas.discrete.loop import Evaluate, TrialLog, replay_records, search_loop
from descgraph.train import Trainer


class DiscreteSearcher(Searcher):
    """Runs `conf.algo` (a registered strategy) over `nas.search.discrete.space` into `dirpath`."""

    def search(
        self, builder: ModelDescBuilder, trainer_class: type[Trainer] | None, finalizers: Finalizers, loaders=None
    ) -> SearchResult:
        """Search with trained candidates; `builder` and `finalizers` are unused (candidates are final networks)."""
        if trainer_class is None or loaders is None or loaders.val is None:
            raise ConfError(
                "nas.search: candidates are trained and scored on search-val; give nas.search.trainer.epochs > 0 "
                "and nas.search.loader.val_ratio > 0"
            )
        name = self.conf.nas.search.discrete.space
        space, candidates = get_space(name), CANDIDATES.get(name)
        strategy = self.make_strategy(space)
        log = TrialLog(self.dirpath / "trials.jsonl")
        if not self.conf.common.resume:
            log.rewrite([])
        known = replay_records(strategy, log.restore(), str(log.path))

        def evaluate(code: Code) -> tuple[float, dict[str, Any]]:
            desc = candidates.build(space.decode(code), self.conf.nas.search.model_desc)
            return self.train_candidate(desc, trainer_class, loaders)

        self.run_trials(strategy, evaluate, known, log, lambda code: candidates.text(space.decode(code)))
        return self.finish(strategy, space, candidates, log)

    def run_trials(
        self,
        strategy: SearchStrategy,
        evaluate: Evaluate,
        known: dict[Code, float],
        log: TrialLog,
        text: Callable[[Code], str],
    ) -> None:
        """The search loop up to the budget, each trial appended to the log as it ends."""
        discrete = self.conf.nas.search.discrete
        with tqdm(total=discrete.budget, initial=len(known), desc="candidates", disable=None, leave=False) as bar:

            def write(trial: Trial, is_new: bool) -> None:
                log.append(self.record(trial, is_new, len(strategy.history) - 1, text(trial.code)))
                bar.update(int(is_new))

            search_loop(strategy, evaluate, discrete.budget, discrete.max_proposals or None, known, write)

    def make_strategy(self, space: SearchSpace) -> SearchStrategy:
        """The algorithm's strategy with its `nas.search.discrete.strategy_params`, set up with the run's seed.

        Every entry of `strategy_params` is checked, so a typo in another strategy's parameters shows at once.
        """
        params = self.conf.nas.search.discrete.strategy_params
        for name, kwargs in params.items():
            _strategy(name, kwargs)
        strategy = _strategy(self.conf.algo, params.get(self.conf.algo, {}))
        strategy.setup(space, self.conf.common.seed)
        return strategy

    def train_candidate(self, desc: ModelDesc, trainer_class: type[Trainer], loaders) -> tuple[float, dict[str, Any]]:
        """Train a candidate from the run's seed (the same start for every candidate); its score is the last
        epoch's search-val top-1."""
        start = time.perf_counter()
        model = stage_model(self.conf, lambda: desc, None, droppath=False, affine=True)
        trainer = stage_trainer(self.conf, trainer_class, self.conf.nas.search.trainer, model, "candidate")
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
        return SearchResult(final, metrics, records)


def _strategy(name: str, kwargs: dict[str, Any]) -> SearchStrategy:
    try:
        return get_strategy(name, **kwargs)
    except DescgraphError as e:
        raise ConfError(f"nas.search.discrete.strategy_params.{name}: {e}") from None
