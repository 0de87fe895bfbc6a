"""Discrete search: spaces as codes of choices, and strategies that propose and learn from results."""

from __future__ import annotations

from descgraph.nas.discrete.bananas import Bananas, MLPEnsemble
from descgraph.nas.discrete.evolution import AgingPopulation, RegularizedEvolution, tournament
from descgraph.nas.discrete.local_search import LocalSearch
from descgraph.nas.discrete.random_search import RandomSearch, SpaceExhausted
from descgraph.nas.discrete.reinforce import CategoricalPolicy, MovingAverage, Reinforce
from descgraph.nas.discrete.space import Code, Decision, SearchSpace
from descgraph.nas.discrete.spaces import (
    SPACES,
    BoundUnmet,
    ConstrainedSpace,
    DartsGenotypeSpace,
    EnasMacroSpace,
    EnasMicroSpace,
    NB201Space,
    get_space,
    register_space,
)
from descgraph.nas.discrete.strategy import (
    STRATEGIES,
    SearchStrategy,
    Trial,
    get_strategy,
    register_strategy,
)
from descgraph.nas.discrete.tpe import TPE

__all__ = [
    "SPACES",
    "STRATEGIES",
    "TPE",
    "AgingPopulation",
    "Bananas",
    "BoundUnmet",
    "CategoricalPolicy",
    "Code",
    "ConstrainedSpace",
    "DartsGenotypeSpace",
    "Decision",
    "EnasMacroSpace",
    "EnasMicroSpace",
    "LocalSearch",
    "MLPEnsemble",
    "MovingAverage",
    "NB201Space",
    "RandomSearch",
    "RegularizedEvolution",
    "Reinforce",
    "SearchSpace",
    "SearchStrategy",
    "SpaceExhausted",
    "Trial",
    "get_space",
    "get_strategy",
    "register_space",
    "register_strategy",
    "tournament",
]
