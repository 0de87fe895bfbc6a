"""Search and evaluation: runners, searchers, evaluaters, finalizers."""

from __future__ import annotations

from descgraph.nas.combinations import SearchCombinations
from descgraph.nas.evaluater import EvalResult, Evaluater
from descgraph.nas.finalizers import FINALIZERS, Finalizers, get_finalizers, plain_op
from descgraph.nas.runner import ALGOS, ExperimentRunner, get_runner_class, register_algo
from descgraph.nas.searcher import Searcher, SearchResult

__all__ = [
    "ALGOS",
    "FINALIZERS",
    "EvalResult",
    "Evaluater",
    "ExperimentRunner",
    "Finalizers",
    "SearchCombinations",
    "SearchResult",
    "Searcher",
    "get_finalizers",
    "get_runner_class",
    "plain_op",
    "register_algo",
]
