"""DiscreteSearcher: a search strategy proposes, each new candidate is trained briefly and scored on search-val.

With `hw.constraints` (cost model name -> largest cost) the space holds only architectures whose eval
network meets them, so no candidate outside them is trained. Every trial goes to search/trials.jsonl
as it ends; a resumed run replays the file into the strategy
(which then proposes what it would have proposed next) and trains only what is missing. The best
candidate becomes search/final_model_desc.yaml.

With `nas.search.discrete.fidelity` (successive halving or Hyperband over epochs, descgraph.nas.discrete.fidelity)
each window of proposals is a bracket: its new candidates train to the first rung's epochs together, the best go
on from their checkpoints (search/candidates/<key>.pt, removed once a candidate leaves its bracket) to the next
rung, and the strategy is told each candidate's score at the last rung it reached. Each finished rung adds one
line per candidate to trials.jsonl (`{"bracket", "rung", "code", "result", "epochs", ...}`: `is_rung`) before
the bracket's trial lines: a run killed in a rung reads the finished rungs back, recovers the candidates that
finished the killed rung from their checkpoints and trains the others on from theirs.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from tqdm import tqdm

from algos.discrete.candidates import CANDIDATES, Candidates
from algos.discrete.zero_cost import CandidateScorer
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
from descgraph.nas.discrete.fidelity import Bracket, FidelitySchedule, pick
from descgraph.nas.discrete.loop import TrialLog, evaluate_fresh, search_loop
from descgraph.nas.executor import Evaluate, Result, TrialExecutor, TrialFailed, make_executor
from descgraph.train import Trainer, preload_optimizers

logger = logging.getLogger("descgraph")


def is_rung(record: dict[str, Any]) -> bool:
    """Whether a line of trials.jsonl is a rung's result (`Halving`), not a trial fed back to the strategy."""
    return "bracket" in record and "trial" not in record


class RungTask(NamedTuple):
    """What a worker trains for a rung: a candidate, to `epochs` of its schedule, going on from `checkpoint`
    when that file is there and leaving its state there."""

    code: Code
    epochs: int
    checkpoint: str


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
        every trial's `time_s`, the first's too, is the trial's own. With `discrete.evaluator.proxy`, the one that
        scores each candidate's untrained network by that proxy instead (`loaders` unused)."""
        name, conf = self.searcher.conf.nas.search.discrete.space, self.searcher.conf
        proxy = conf.nas.search.discrete.evaluator.proxy
        if proxy is not None:
            return CandidateScorer(conf).evaluator(proxy)
        preload_optimizers()
        space, candidates = get_space(name), CANDIDATES.get(name)

        def evaluate(task: Code | RungTask) -> tuple[float, dict[str, Any]]:
            """A code trained its full epochs, or a rung task."""
            code, epochs, checkpoint = task if isinstance(task, RungTask) else (task, None, None)
            desc = candidates.build(space.decode(code), conf.nas.search.model_desc)
            checkpoint = Path(checkpoint) if checkpoint is not None else None
            return self.searcher.train_candidate(desc, self.trainer_class, loaders, epochs, checkpoint)

        return evaluate


class Halving:
    """The window evaluation of a fidelity schedule (`search_loop`'s `evaluate_window`): the window's new codes are
    its bracket, run by successive halving with complete rungs trained by the executor's workers, so the
    promotions, the log and the history are those of one process whatever the workers.

    Args:
        schedule: the rungs and brackets.
        log: the trial log; each finished rung appends one line per candidate.
        records: the rung lines the log already holds (a resumed run's): those rungs are not trained again.
        folder: the candidates' checkpoints between rungs (the workers must see it).
        costs: code -> numbers added to each trial's extra (the space's cost bounds), or None.
    """

    def __init__(
        self,
        schedule: FidelitySchedule,
        log: TrialLog,
        records: list[dict[str, Any]],
        folder: Path,
        costs: Callable[[Code], dict[str, Any]] | None = None,
    ) -> None:
        self.schedule, self.log, self.folder, self.costs = schedule, log, Path(folder).resolve(), costs
        self.done = {(tuple(int(c) for c in r["code"]), int(r["epochs"])): r for r in records}

    def __call__(self, executor: TrialExecutor, index: int, new: list[Code], fresh: list[Code]) -> dict[Code, Result]:
        """Run window `index`'s bracket over its new codes; the results of those in `fresh`."""
        if not fresh:  # a window replayed whole from the log: its rungs are there too
            return {}
        bracket = self.schedule.bracket(index)

        def train_rung(rung: int, codes: list[Code]) -> list[float]:
            return self.train_rung(executor, index, rung, codes, fresh)

        reached = self.schedule.run_bracket(bracket, new, train_rung, on_leave=self.forget)
        return {code: self.result(code, bracket, reached[code]) for code in fresh}

    def train_rung(
        self, executor: TrialExecutor, index: int, rung: int, codes: list[Code], fresh: list[Code]
    ) -> list[float]:
        """Train `codes` to the rung's epochs (but those the log has) and log each; their scores, in order."""
        epochs = self.schedule.rungs[rung]
        todo = [code for code in codes if (code, epochs) not in self.done]
        logger.info(
            "window %d, rung %d (%d epochs): %d candidates, %d to train", index, rung, epochs, len(codes), len(todo)
        )
        try:
            results = executor.map([RungTask(code, epochs, str(self.checkpoint(code))) for code in todo])
        except TrialFailed as e:  # a code with a rung to train was not replayed: it is in `fresh`
            raise TrialFailed(str(e), fresh.index(todo[e.position])) from None
        for code, (result, extra) in zip(todo, results):
            record = {"bracket": index, "rung": rung, "code": list(code), "result": result, **extra}
            self.log.append(record)
            self.done[(code, epochs)] = record
        return [float(self.done[(code, epochs)]["result"]) for code in codes]

    def result(self, code: Code, bracket: Bracket, rung: int) -> Result:
        """A candidate's score at the last rung it reached, with `epochs`, `rung` and its time over the rungs."""
        record = self.done[(code, self.schedule.rungs[rung])]
        extra = {k: v for k, v in record.items() if k not in ("bracket", "code", "result")}
        spent = (
            self.done[(code, self.schedule.rungs[k])].get("time_s", 0.0) for k in range(bracket.first_rung, rung + 1)
        )
        extra["time_s"] = round(sum(spent), 3)
        return float(record["result"]), {**extra, **(self.costs(code) if self.costs is not None else {})}

    def checkpoint(self, code: Code) -> Path:
        """Where a candidate's state waits between its rungs."""
        key = hashlib.sha256(",".join(map(str, code)).encode()).hexdigest()[:20]
        return self.folder / f"{key}.pt"

    def forget(self, codes: list[Code]) -> None:
        """Remove the checkpoints of candidates that left their bracket: no rung trains them again."""
        for code in codes:
            self.checkpoint(code).unlink(missing_ok=True)


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
            shutil.rmtree(self.candidates_dir, ignore_errors=True)  # another run's checkpoints are not this one's
        records = log.restore()
        trials = [r for r in records if not is_rung(r)]
        extra = space.cost_of if isinstance(space, ConstrainedSpace) else None
        halving = self.halving(log, [r for r in records if is_rung(r)], extra)
        trainer = CandidateTrainer(self, trainer_class)
        stage, threads = self.conf.nas.search, self.conf.common.threads
        costs = extra if halving is None else None  # with a schedule, a worker's task is a rung, not a code
        with make_executor(stage, trainer, threads, costs, local=trainer.evaluator(loaders)) as ex:
            try:
                self.run_trials(strategy, ex, trials, log, lambda code: candidates.text(space.decode(code)), halving)
            except BoundUnmet as e:
                raise ConfError(f"hw.constraints: {e}") from None
        shutil.rmtree(self.candidates_dir, ignore_errors=True)  # every bracket ended: its candidates left it
        return self.finish(strategy, space, candidates, log)

    @property
    def candidates_dir(self) -> Path:
        """The candidates' checkpoints between the rungs of a fidelity schedule."""
        return self.dirpath / "candidates"

    def halving(
        self, log: TrialLog, rungs: list[dict[str, Any]], costs: Callable[[Code], dict[str, Any]] | None
    ) -> Halving | None:
        """The window evaluation of `nas.search.discrete.fidelity`'s schedule, or None without one."""
        fidelity, epochs = self.conf.nas.search.discrete.fidelity, self.conf.nas.search.trainer.epochs
        if fidelity.schedule == "none":
            return None
        schedule = FidelitySchedule(fidelity.schedule, fidelity.min_epochs, fidelity.eta, epochs)
        logger.info("%s: rungs of %s epochs, brackets %s", fidelity.schedule, schedule.rungs, schedule.brackets())
        return Halving(schedule, log, rungs, self.candidates_dir, costs)

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
        halving: Halving | None = None,
    ) -> None:
        """The search loop up to the budget, replaying `records` (trial lines) first, each new trial appended to
        the log; with `halving`, each window is a bracket of its schedule."""
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
                window=stage.window if halving is None else halving.schedule.window,
                evaluate_window=evaluate_fresh if halving is None else halving,
                replay=records, replay_source=str(log.path),
            )  # fmt: skip

    def make_strategy(self, space: SearchSpace) -> SearchStrategy:
        """The algorithm's strategy with its `nas.search.discrete.strategy_params` (DiscreteConf checked every
        entry), set up with the run's seed; a warm start ranks its pool by the candidates' zero-cost proxy scores
        (`CandidateScorer`: the same score a proxy evaluator gives them)."""
        params = self.conf.nas.search.discrete.strategy_params
        strategy = get_strategy(self.conf.algo, **params.get(self.conf.algo, {}))
        scorer = CandidateScorer(self.conf) if strategy.warm_start is not None else None
        strategy.setup(space, self.conf.common.seed, proxy=scorer)
        return strategy

    def train_candidate(
        self,
        desc: ModelDesc,
        trainer_class: type[Trainer],
        loaders,
        epochs: int | None = None,
        checkpoint: Path | None = None,
    ) -> tuple[float, dict[str, Any]]:
        """Train a candidate from the run's seed (the same start for every candidate); its score is the last
        epoch's search-val top-1.

        Args:
            epochs: stop after this many epochs of the schedule of `trainer.epochs` (None: all of them).
            checkpoint: go on from this file when it is there, and leave the state there (a rung's training).
        """
        start = time.perf_counter()
        model = stage_model(self.conf, lambda: desc, None, droppath=False)
        files = {} if checkpoint is None else {"checkpoint_path": checkpoint, "resume": True}
        trainer = stage_trainer(self.conf, trainer_class, self.conf.nas.search, model, "candidate", **files)
        history = trainer.fit(loaders.train, loaders.val, stop_epoch=epochs).epochs
        last = history[-1]
        extra = {
            "epochs": len(history),
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
        """The best candidate's network (`fidelity.pick`: the best of those trained the most epochs), saved as
        search/final_model_desc.yaml; `candidate_epochs` counts the epochs trained over all candidates (a promoted
        candidate's epochs once: it trains on from its checkpoint)."""
        best = pick(strategy.history)
        if best is None:
            raise DescgraphError(f"{log.path}: the search evaluated no candidate")
        arch = space.decode(best.code)
        final = candidates.build(arch, self.conf.nas.search.model_desc)
        save_checked_desc(final, self.dirpath / "final_model_desc.yaml")
        records = [r for r in log.read() if not is_rung(r)]
        epochs = self.conf.nas.search.trainer.epochs
        metrics = {
            "val_top1": best.result,
            "arch": candidates.text(arch),
            "candidates": sum(r["new"] for r in records),
            "proposals": len(records),
            "candidate_epochs": sum(int(r.get("epochs", epochs)) for r in records if r["new"]),
        }
        if isinstance(space, ConstrainedSpace):
            metrics.update(space.cost_of(best.code))
            metrics["cost_calls"] = space.cost_calls
        return SearchResult(final, metrics, records)
