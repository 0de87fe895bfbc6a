"""Regularized (aging) evolution (Real et al., "Regularized Evolution for Image Classifier Architecture
Search", AAAI 2019), built from two parts usable on their own: an aging population and tournament selection.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from descgraph.errors import DescgraphError
from descgraph.nas.discrete.space import Code
from descgraph.nas.discrete.strategy import SearchStrategy, Trial, register_strategy

T = TypeVar("T")


def tournament(candidates: Sequence[T], sample_size: int, rng: random.Random, key: Callable[[T], Any]) -> T:
    """The best (by `key`, higher wins) of `sample_size` candidates drawn uniformly with replacement.

    Real et al. 2019, Algorithm 1: the sample is drawn from the population, its best becomes the parent;
    ties go to the earliest drawn.
    """
    if not candidates:
        raise DescgraphError("tournament: no candidates to select from")
    sample = [candidates[rng.randrange(len(candidates))] for _ in range(sample_size)]
    return max(sample, key=key)


class AgingPopulation:
    """The last `size` trials, oldest first: adding to a full population removes its oldest member.

    Args:
        size: how many members the population holds.
    """

    def __init__(self, size: int) -> None:
        if size < 1:
            raise DescgraphError(f"population size {size}: must be at least 1")
        self.size = size
        self._members: deque[Trial] = deque()

    def add(self, trial: Trial) -> Trial | None:
        """Add `trial` as the youngest member; returns the member that died of age, if any."""
        self._members.append(trial)
        return self._members.popleft() if len(self._members) > self.size else None

    def is_full(self) -> bool:
        return len(self._members) >= self.size

    def members(self) -> list[Trial]:
        """The members, oldest first."""
        return list(self._members)

    def __len__(self) -> int:
        return len(self._members)

    def __iter__(self) -> Iterator[Trial]:
        return iter(self._members)


@register_strategy("rea")
class RegularizedEvolution(SearchStrategy):
    """Aging evolution: random architectures until the population is full, then each proposal mutates the
    tournament winner of the population, and each result replaces the population's oldest member.

    Under cost bounds (a `ConstrainedSpace`) the initial members and the children meet them (a child that
    breaks one is repaired or drawn again), and each proposal is the costliest of `bound_draws` such
    draws: near the bound is where the best feasible architectures are.

    The defaults are tuned on the NAS-Bench-201 table at 100 queries (seeds 1000-2499; `bound_draws`
    on seeds 1000-1199 under latency bounds).

    Args:
        population_size: members of the population (P in Real et al. 2019).
        sample_size: candidates per tournament (S in Real et al. 2019).
        bound_draws: feasible draws per proposal under cost bounds, the costliest proposed (1: no preference).
    """

    def __init__(self, population_size: int = 20, sample_size: int = 10, bound_draws: int = 3) -> None:
        if population_size < 1 or sample_size < 1 or bound_draws < 1:
            raise DescgraphError(
                f"rea: population_size {population_size}, sample_size {sample_size} and bound_draws {bound_draws} "
                "must be >= 1"
            )
        self.population_size, self.sample_size, self.bound_draws = population_size, sample_size, bound_draws

    def _setup(self) -> None:
        self.population = AgingPopulation(self.population_size)

    def _propose(self) -> Code:
        if not self.population.is_full():
            return self.draw_initial(bound_draws=self.bound_draws)
        parent = tournament(self.population.members(), self.sample_size, self.rng, key=lambda t: t.result)
        return self.space.near_bound(lambda: self.space.mutate(parent.code, self.rng), self.bound_draws)

    def _feedback(self, trial: Trial) -> None:
        self.population.add(trial)
