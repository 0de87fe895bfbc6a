"""ExperimentRunner: search, finalize, scale up, train from scratch, and write the experiment folder.

<expdir>/conf.yaml, conf_hash.txt, log.txt, search/{metrics.jsonl, checkpoint.pt, full_model_desc.yaml,
final_model_desc.yaml}, eval/{full_model_desc.yaml, model.pt, metrics.jsonl, checkpoint.pt}, summary.json,
report.html. An algorithm whose search ends in several final models (BigNAS: one child per device) has its
finalizers save them as final/<name>/{model_desc.yaml, model.pt} and its evaluater test those instead.
The folder belongs to one conf and one run at a time (descgraph.nas.expdir).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from descgraph._files import atomic_write_text
from descgraph._json import json_text
from descgraph._ranks import is_main, world_size
from descgraph._registry import Registry
from descgraph.builders import ModelDescBuilder, get_builder
from descgraph.conf import Conf, register_algo_conf
from descgraph.data import get_loaders
from descgraph.errors import DistributedError
from descgraph.nas._common import check_stage_shards
from descgraph.nas.combinations import SearchCombinations
from descgraph.nas.evaluater import EvalResult, Evaluater
from descgraph.nas.expdir import claim_folder
from descgraph.nas.finalizers import Finalizers, get_finalizers
from descgraph.nas.searcher import Searcher, SearchResult
from descgraph.train import Trainer
from descgraph.viz import write_report

ALGOS: Registry[type[ExperimentRunner]] = Registry("algorithm")

log = logging.getLogger("descgraph")


def register_algo(name: str, conf: type[Conf] = Conf):
    """Decorator registering an ExperimentRunner subclass under an algorithm name, with its conf schema
    (a `Conf` subclass holding the algorithm's own sections; `algo: name` in a conf selects it)."""

    def decorate(runner: type[ExperimentRunner]) -> type[ExperimentRunner]:
        ALGOS.add(name, runner)
        register_algo_conf(name, conf)
        return runner

    return decorate


def get_runner_class(name: str) -> type[ExperimentRunner]:
    """The runner of a registered algorithm (the registry loads algorithm plugins if needed)."""
    return ALGOS.get(name)


class ExperimentRunner:
    """Runs one experiment; algorithms override the factory methods below.

    Args:
        conf: the effective conf.
        expdir: the experiment folder.
    """

    search_on_ranks = True
    """Whether the search stage runs on data-parallel ranks (the core Searcher's trainer does)."""

    def __init__(self, conf: Conf, expdir: str | Path) -> None:
        self.conf, self.expdir = conf, Path(expdir)

    # --- what an algorithm changes --------------------------------------------------------------
    def model_desc_builder(self) -> ModelDescBuilder:
        """The builder of the search model."""
        return get_builder(self.conf.nas.search.model_desc.builder)

    def trainer_class(self) -> type[Trainer] | None:
        """The trainer of the search stage; None means no search training."""
        return None

    def finalizers(self) -> Finalizers:
        """How the searched model becomes a final description."""
        stage = self.conf.nas.search
        return get_finalizers(stage.finalizer, stage.model_desc.max_final_edges)

    def searcher(self) -> Searcher:
        """One search, or a sweep over macro combinations when `nas.search.combinations` lists any."""
        cls = SearchCombinations if self.conf.nas.search.combinations.enabled else Searcher
        return cls(self.conf, self.expdir / "search")

    def evaluater(self) -> Evaluater:
        return Evaluater(self.conf, self.expdir / "eval")

    # --- the flow -------------------------------------------------------------------------------
    def check(self) -> None:
        """Checks of the conf against registries (cost models, devices...), before anything is read or written."""

    def search_loaders(self):
        """Search-train and search-val loaders, or None when the algorithm does not train a supernet."""
        if self.trainer_class() is None or self.conf.nas.search.trainer.epochs == 0:
            return None
        return get_loaders(self.conf.nas.search.loader, seed=self.conf.common.seed)

    def eval_loaders(self):
        """Train and test loaders of the eval stage."""
        return get_loaders(self.conf.nas.eval.loader, seed=self.conf.common.seed)

    def run_search(self, loaders=None) -> SearchResult:
        """Build the supernet, train it, finalize it; writes search/final_model_desc.yaml (or the finals)."""
        loaders = loaders if loaders is not None else self.search_loaders()
        return self.searcher().search(self.model_desc_builder(), self.trainer_class(), self.finalizers(), loaders)

    def run_eval(self, result: SearchResult | None = None, loaders=None) -> EvalResult:
        """Evaluate what the search found (`result`, or what it saved when it did not run in this process)."""
        loaders = loaders if loaders is not None else self.eval_loaders()
        return self.evaluater().evaluate_search(result, self.expdir / "search", loaders)

    def run(self, search: bool = True, eval: bool = True) -> dict[str, Any]:
        """Search and/or evaluate; returns (and writes) the summary."""
        start = time.perf_counter()
        if search and not self.search_on_ranks and world_size() > 1:
            raise DistributedError(f"algo {self.conf.algo}: its search runs in one process; start it without torchrun")
        self.check()
        check_stage_shards(self.conf, world_size(), [n for n, runs in (("search", search), ("eval", eval)) if runs])
        # data problems surface before anything in the experiment folder is touched
        search_loaders = self.search_loaders() if search else None
        eval_loaders = self.eval_loaders() if eval else None
        with claim_folder(self.expdir, self.conf), self._experiment_folder():
            summary: dict[str, Any] = {"algo": self.conf.algo, "seed": self.conf.common.seed}
            result = None
            if search:
                result = self.run_search(search_loaders)
                summary["search"] = result.summary()
            if eval:
                summary["eval"] = self.run_eval(result, eval_loaders).summary()
            summary["wall_s"] = round(time.perf_counter() - start, 2)
            atomic_write_text(self.expdir / "summary.json", json_text(summary, indent=2) + "\n")
            if is_main():  # the report reads what rank 0 wrote
                write_report(self.expdir)
        return summary

    @contextlib.contextmanager
    def _experiment_folder(self) -> Iterator[None]:
        """log.txt receiving the run's log while the block runs (in a folder `claim_folder` holds).

        The handler and the thread count go when the run ends, however it ends: a second run in the same
        process logs only into its own folder, and the first file is closed.
        """
        threads = torch.get_num_threads()  # each stage sets its own (stage_trainer)
        handler = logging.FileHandler(self.expdir / "log.txt") if is_main() else logging.NullHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        try:
            yield
        finally:
            log.removeHandler(handler)
            handler.close()
            torch.set_num_threads(threads)
