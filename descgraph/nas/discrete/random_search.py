"""Random search without repeats (Li and Talwalkar, "Random Search and Reproducibility for NAS", 2019)."""

from __future__ import annotations

from descgraph.errors import DescgraphError
from descgraph.nas.discrete.space import Code
from descgraph.nas.discrete.strategy import SearchStrategy, register_strategy


class SpaceExhausted(DescgraphError):
    """A strategy has nothing new left to propose."""


@register_strategy("random")
class RandomSearch(SearchStrategy):
    """Uniform draws from the space, never the same architecture twice.

    Args:
        max_tries: draws of an already proposed architecture before the space counts as exhausted.
    """

    def __init__(self, max_tries: int = 10_000) -> None:
        self.max_tries = max_tries

    def _setup(self) -> None:
        self.proposed: set[Code] = set()

    def _propose(self) -> Code:
        for _ in range(self.max_tries):
            code = self.space.sample(self.rng)
            if code not in self.proposed:
                self.proposed.add(code)
                return code
        raise SpaceExhausted(f"random search: no new architecture in {self.max_tries} draws")
