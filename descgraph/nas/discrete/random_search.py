"""Random search without repeats (Li and Talwalkar, "Random Search and Reproducibility for NAS", 2019)."""

from __future__ import annotations

from descgraph.errors import DescgraphError
from descgraph.nas.discrete.space import Code
from descgraph.nas.discrete.strategy import SearchStrategy, register_strategy


class SpaceExhausted(DescgraphError):
    """A strategy has nothing new left to propose."""


@register_strategy("random")
class RandomSearch(SearchStrategy):
    """Uniform draws from the valid codes of the space, never the same one twice.

    The codes are numbered in mixed radix and drawn by a Fisher-Yates shuffle that keeps only the
    swapped positions, so a draw costs the same in a space of 10**20 codes as in one of 100, and the
    search knows exactly when every valid code has been proposed.
    """

    def _setup(self) -> None:
        self.sizes = [len(d) for d in self.space.decisions()]
        self.remaining = self.space.size()
        self.swaps: dict[int, int] = {}

    def _propose(self) -> Code:
        if self._warm:  # a warm start's pool first, best first; the permutation may propose them again (free)
            return self.draw_initial(self._permuted)
        return self._permuted()

    def _permuted(self) -> Code:
        while self.remaining > 0:
            code = self._code(self._draw_index())
            if self.space.is_valid(code):
                return code
        raise SpaceExhausted("random search: every architecture of the space has been proposed")

    def _draw_index(self) -> int:
        """The next position of a uniformly random permutation of 0..size-1."""
        last = self.remaining - 1
        j = self.rng.randrange(self.remaining)
        index = self.swaps.get(j, j)
        self.swaps[j] = self.swaps.pop(last, last)
        self.remaining = last
        return index

    def _code(self, index: int) -> Code:
        """The code numbered `index`, the last decision varying fastest."""
        code = []
        for n in reversed(self.sizes):
            index, value = divmod(index, n)
            code.append(value)
        return tuple(reversed(code))
