"""Discrete search: spaces as codes of choices, and strategies that propose and learn from results."""

from __future__ import annotations

from descgraph.nas.discrete.space import Code, Decision, SearchSpace
from descgraph.nas.discrete.strategy import (
    STRATEGIES,
    SearchStrategy,
    Trial,
    get_strategy,
    register_strategy,
)

__all__ = [
    "STRATEGIES",
    "Code",
    "Decision",
    "SearchSpace",
    "SearchStrategy",
    "Trial",
    "get_strategy",
    "register_strategy",
]
