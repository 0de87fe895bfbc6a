"""Multi-objective evolution: the most accurate architecture within each of several devices' budgets.

A strategy like `rea` (propose / feedback / replay, driven by `search_loop`, resumed by replaying its
trial log), over the space's own operators. It evolves in generations: each generation's codes are
proposed one by one; when all are fed back, the next generation is bred from parents: the accuracy-cost
Pareto front and, per device, the most accurate architectures within its budgets. Mutation and
crossover are the SearchSpace operators. A result is an accuracy (higher is better); the first result
of each architecture also brings its costs by cost-model name, as `extra["costs"]`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from descgraph.errors import DescgraphError
from descgraph.nas.discrete.space import Code
from descgraph.nas.discrete.strategy import SearchStrategy, Trial


class Scored(Protocol):
    accuracy: float
    costs: dict[str, float]


class WithinBudgets:
    """What has `costs` by cost-model name can say whether it meets budgets."""

    costs: dict[str, float]

    def meets(self, constraints: dict[str, float]) -> bool:
        """Whether every cost is within its budget."""
        return all(self.costs[name] <= budget for name, budget in constraints.items())


@dataclass
class Evaluated(WithinBudgets):
    """An evaluated architecture: its (canonical) code, accuracy (percent) and costs by cost-model name."""

    code: Code
    accuracy: float
    costs: dict[str, float]


def pareto_front(candidates: Sequence[Scored], cost: str) -> list:
    """The candidates no other beats on both accuracy (higher) and `cost` (lower), cheapest first."""
    front, best = [], float("-inf")
    for c in sorted(candidates, key=lambda c: (c.costs[cost], -c.accuracy)):
        if c.accuracy > best:
            front.append(c)
            best = c.accuracy
    return front


class MultiObjectiveEvolution(SearchStrategy):
    """Evolution towards the best accuracy within each device's budgets, and along the Pareto front.

    Args:
        devices: (name, {cost model: largest cost allowed}) per device. A device whose budgets the first
            evaluated architecture (by convention the cheapest, the first of `first`) exceeds is left out
            of parent selection: `infeasible` lists it.
        population_size: codes per generation.
        generations: generations to run; the strategy is `done()` after them.
        pareto_cost: the cost model of the Pareto front.
        mutation_prob: chance of one more decision changing after each mutation.
        crossover_share: share of new codes made by crossover.
        parents: best feasible architectures per device kept as parents.
        first: codes that open the first generation (the smallest and the largest network); uniform draws
            fill the rest.
    """

    def __init__(
        self,
        devices: Sequence[tuple[str, dict[str, float]]] = (),
        population_size: int = 100,
        generations: int = 50,
        pareto_cost: str = "flops",
        mutation_prob: float = 0.1,
        crossover_share: float = 0.5,
        parents: int = 16,
        first: Sequence[Code] = (),
    ) -> None:
        if population_size < 1 or generations < 0 or parents < 1:
            raise DescgraphError(
                f"multi-objective evolution: population_size {population_size} and parents {parents} must be "
                f">= 1, generations {generations} >= 0"
            )
        self.devices = [(name, dict(constraints)) for name, constraints in devices]
        self.population_size, self.generations, self.pareto_cost = population_size, generations, pareto_cost
        self.mutation_prob, self.crossover_share, self.n_parents = mutation_prob, crossover_share, parents
        self.first = [tuple(code) for code in first]

    def _setup(self) -> None:
        self.seen: dict[str, Evaluated] = {}  # by the space's key, in the order first evaluated
        self.infeasible: set[str] = set()
        self.population: list[Code] | None = None
        self.position = 0  # codes of the current generation proposed
        self.fed_back = 0  # codes of the current generation fed back
        self.generations_done = 0
        self.records: list[dict[str, Any]] = []  # one per finished generation

    # --- the strategy interface -----------------------------------------------------------------------
    def _propose(self) -> Code:
        if self.population is None:
            self.population = self.initial_population()
        elif self.position >= len(self.population):
            self.population, self.position, self.fed_back = self.breed(self.select_parents()), 0, 0
        code = self.space.canonical(self.population[self.position])
        self.position += 1
        return code

    def _feedback(self, trial: Trial) -> None:
        key = self.space.key(trial.code)
        if key not in self.seen:
            costs = (trial.extra or {}).get("costs")
            if costs is None:
                raise DescgraphError(
                    f"multi-objective evolution: the result of {list(trial.code)} came without its costs "
                    "(extra['costs'])"
                )
            self.seen[key] = Evaluated(self.space.canonical(trial.code), trial.result, dict(costs))
            if len(self.seen) == 1:
                first = self.seen[key]
                self.infeasible = {name for name, constraints in self.devices if not first.meets(constraints)}
        self.fed_back += 1
        if self.population is not None and self.fed_back == len(self.population):
            self.records.append(self.generation_record(self.generations_done))
            self.generations_done += 1

    def can_propose(self, pending: int) -> bool:
        """Ahead within a generation only: the next one is bred from the results of this one."""
        return pending == 0 or self.population is None or self.position < len(self.population)

    def done(self) -> bool:
        return self.generations_done >= self.generations

    # --- evolution --------------------------------------------------------------------------------------
    def initial_population(self) -> list[Code]:
        """`first`, then uniform draws up to the population size."""
        n = max(0, self.population_size - len(self.first))
        return list(self.first) + [self.space.sample(self.rng) for _ in range(n)]

    def feasible_devices(self) -> list[tuple[str, dict[str, float]]]:
        return [(name, constraints) for name, constraints in self.devices if name not in self.infeasible]

    def evaluated(self) -> list[Evaluated]:
        """Every evaluated architecture, in the order first evaluated."""
        return list(self.seen.values())

    def select_parents(self) -> list[Code]:
        """The Pareto front plus each feasible device's most accurate architectures within its budgets."""
        evaluated = self.evaluated()
        chosen = {self.space.key(c.code): c for c in pareto_front(evaluated, self.pareto_cost)}
        for _, constraints in self.feasible_devices():
            fits = sorted((c for c in evaluated if c.meets(constraints)), key=lambda c: -c.accuracy)
            chosen.update({self.space.key(c.code): c for c in fits[: self.n_parents]})
        return [c.code for c in chosen.values()]

    def breed(self, parents: list[Code]) -> list[Code]:
        """The next population: crossovers of two parents, or mutations of one (repeated with mutation_prob)."""
        children: list[Code] = []
        for _ in range(self.population_size):
            if len(parents) > 1 and self.rng.random() < self.crossover_share:
                a, b = self.rng.sample(parents, 2)
                child = self.space.crossover(a, b, self.rng)
            else:
                child = self.space.mutate(self.rng.choice(parents), self.rng)
                while self.rng.random() < self.mutation_prob:
                    child = self.space.mutate(child, self.rng)
            children.append(child)
        return children

    def best_for(self, constraints: dict[str, float]) -> Evaluated | None:
        """The most accurate architecture within the budgets (the cheaper on a tie)."""
        fits = [c for c in self.seen.values() if c.meets(constraints)]
        return max(fits, key=lambda c: (c.accuracy, -c.costs[self.pareto_cost]), default=None)

    def generation_record(self, gen: int) -> dict[str, Any]:
        """What a generation leaves in the log: architectures seen, front size, each feasible device's best."""
        record: dict[str, Any] = {"generation": gen, "evaluated": len(self.seen)}
        record["pareto"] = len(pareto_front(self.evaluated(), self.pareto_cost))
        for name, constraints in self.feasible_devices():
            best = self.best_for(constraints)
            record[f"{name}_accuracy"] = None if best is None else best.accuracy
        return record
