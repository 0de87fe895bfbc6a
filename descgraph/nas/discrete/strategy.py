"""The search-strategy interface: `setup(space)`, `propose()`, `feedback(code, result)`.

A strategy is driven by a loop that asks it for a code, evaluates the architecture, and tells it
the result (higher is better). Everything a strategy learns comes through `feedback`, and all its
randomness from the seed given to `setup`, so replaying its history (`replay`) rebuilds its state:
that is how a search resumes.
"""

from __future__ import annotations

import inspect
import random
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from descgraph._registry import Registry, close_matches
from descgraph.errors import DescgraphError
from descgraph.nas.discrete.space import Code, SearchSpace

STRATEGIES: Registry[type[SearchStrategy]] = Registry("search strategy")


def register_strategy(name: str):
    """Decorator registering a SearchStrategy subclass under `name`."""
    return STRATEGIES.register(name)


@dataclass
class Trial:
    """One evaluated architecture: its code, its result (higher is better) and any extra numbers."""

    code: Code
    result: float
    extra: dict[str, Any] | None = None


class SearchStrategy(ABC):
    """Proposes architectures of a space and learns from their results.

    Subclasses implement `_propose` and may extend `_feedback`; the public methods keep the history.
    """

    def setup(self, space: SearchSpace, seed: int = 0) -> None:
        """Start a search of `space`; all randomness comes from `seed`."""
        self.space, self.seed = space, seed
        self.rng = random.Random(seed)
        self.history: list[Trial] = []
        self._setup()

    def propose(self) -> Code:
        """The next architecture to evaluate."""
        return self._propose()

    def feedback(self, code: Code, result: float, extra: dict[str, Any] | None = None) -> None:
        """The result of evaluating `code` (higher is better)."""
        trial = Trial(tuple(code), float(result), extra)
        self.history.append(trial)
        self._feedback(trial)

    def replay(self, history: list[Trial]) -> None:
        """Rebuild the state after `history` (a resumed search): propose and feed each trial again."""
        for trial in history:
            self.propose()
            self.feedback(trial.code, trial.result, trial.extra)

    def best(self) -> Trial | None:
        """The best trial so far."""
        return max(self.history, key=lambda t: t.result, default=None)

    def can_propose(self, pending: int) -> bool:
        """Whether the next proposal can be made while `pending` proposals wait for their results (a window)."""
        return True

    def done(self) -> bool:
        """Whether the strategy has ended its search (a generation count reached); the loop then stops."""
        return False

    # --- what a strategy implements -------------------------------------------------------------
    def _setup(self) -> None:
        """Initialize the strategy's own state (after `space`, `rng` and `history` are set)."""
        return None

    @abstractmethod
    def _propose(self) -> Code:
        """The next code."""

    def _feedback(self, trial: Trial) -> None:
        """Learn from one trial (already appended to `history`)."""
        return None


def get_strategy(name: str, **kwargs: Any) -> SearchStrategy:
    """A new strategy by registered name, its keyword arguments passed to the class.

    Raises:
        DescgraphError: an unknown name, or a keyword the strategy does not take (naming the ones it does).
    """
    cls = STRATEGIES.get(name)
    known = strategy_params(name)
    for key in kwargs:
        if key not in known:
            hint = close_matches(key, list(known)) or f" (it takes: {', '.join(known) or 'nothing'})"
            raise DescgraphError(f"strategy {name!r}: unknown parameter {key!r}{hint}")
    return cls(**kwargs)


def strategy_params(name: str) -> dict[str, Any]:
    """The keyword parameters of a registered strategy and their defaults."""
    signature = inspect.signature(STRATEGIES.get(name).__init__)
    return {
        p.name: p.default
        for p in list(signature.parameters.values())[1:]
        if p.kind is p.KEYWORD_ONLY or p.kind is p.POSITIONAL_OR_KEYWORD
    }
