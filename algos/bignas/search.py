"""Multi-objective evolutionary search over the children of a trained supernet, for several devices at once.

Each generation evaluates its children (accuracy with inherited weights, costs from cost models),
then breeds the next from parents: the accuracy-cost Pareto front and, per device, the most accurate
children within its budgets. Mutation and crossover are the SearchSpace operators. A device whose
budget even the smallest child exceeds is reported, not searched for; the others go on.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tqdm import tqdm

from algos.bignas.space import BigNASSpace
from descgraph.desc.elastic import BigNASConfig
from descgraph.nas.discrete import Code

log = logging.getLogger("descgraph")


@dataclass
class Candidate:
    """An evaluated child: its config, accuracy (percent) and costs by cost-model name."""

    config: BigNASConfig
    accuracy: float
    costs: dict[str, float]

    def meets(self, constraints: dict[str, float]) -> bool:
        """Whether every cost is within its budget."""
        return all(self.costs[name] <= budget for name, budget in constraints.items())

    def to_dict(self) -> dict[str, Any]:
        return {"config": self.config.model_dump(mode="json"), "accuracy": self.accuracy, "costs": dict(self.costs)}


@dataclass
class DeviceResult:
    """A device's pick (the most accurate child within its budgets), or why there is none."""

    name: str
    constraints: dict[str, float]
    pick: Candidate | None = None
    error: str | None = None


@dataclass
class SearchOutcome:
    """Per-device results, the Pareto front (by accuracy and `pareto_cost`), every evaluated child, how it ended."""

    devices: list[DeviceResult]
    pareto: list[Candidate]
    evaluated: list[Candidate] = field(default_factory=list)
    generations: int = 0
    stopped: str = "finished"

    def summary(self) -> dict[str, Any]:
        """How the search went, for summary.json."""
        return {
            "generations": self.generations,
            "evaluated": len(self.evaluated),
            "stopped": self.stopped,
            "pareto_size": len(self.pareto),
        }


def pareto_front(candidates: list[Candidate], cost: str) -> list[Candidate]:
    """The children no other beats on both accuracy (higher) and `cost` (lower), cheapest first."""
    front, best = [], float("-inf")
    for c in sorted(candidates, key=lambda c: (c.costs[cost], -c.accuracy)):
        if c.accuracy > best:
            front.append(c)
            best = c.accuracy
    return front


def infeasibility(name: str, constraints: dict[str, float], smallest: Candidate, units: dict[str, str]) -> str | None:
    """One line saying which budget even the smallest child exceeds, or None when it meets them all."""
    for model, budget in constraints.items():
        cost = smallest.costs[model]
        if cost > budget:
            unit = units.get(model, "")
            return (
                f"device {name!r}: no child meets {model} <= {budget:g} {unit}: "
                f"the smallest child costs {cost:.4g} {unit}"
            )
    return None


class MultiObjectiveSearch:
    """The evolution; `run` drives it. Arguments as `multi_objective_search`."""

    def __init__(
        self,
        space: BigNASSpace,
        evaluate: Callable[[BigNASConfig], Candidate],
        target_devices: list[tuple[str, dict[str, float]]],
        population_size: int,
        generations: int,
        pareto_cost: str,
        mutation_prob: float,
        crossover_share: float,
        parents: int,
        seed: int,
        units: dict[str, str] | None = None,
    ) -> None:
        self.space, self.evaluate_config, self.pareto_cost = space, evaluate, pareto_cost
        self.population_size, self.generations = population_size, generations
        self.mutation_prob, self.crossover_share, self.n_parents = mutation_prob, crossover_share, parents
        self.devices = [DeviceResult(name, dict(constraints)) for name, constraints in target_devices]
        self.rng = random.Random(seed)
        self.seen: dict[str, Candidate] = {}
        self.units = dict(units or {})

    def evaluate(self, code: Code) -> Candidate:
        key = self.space.key(code)
        if key not in self.seen:
            self.seen[key] = self.evaluate_config(self.space.decode(code))
        return self.seen[key]

    def feasible_devices(self) -> list[DeviceResult]:
        return [d for d in self.devices if d.error is None]

    def select_parents(self) -> list[Code]:
        """The Pareto front plus each feasible device's most accurate children within its budgets."""
        evaluated = list(self.seen.values())
        chosen = {c.config.key(): c for c in pareto_front(evaluated, self.pareto_cost)}
        for device in self.feasible_devices():
            fits = sorted((c for c in evaluated if c.meets(device.constraints)), key=lambda c: -c.accuracy)
            chosen.update({c.config.key(): c for c in fits[: self.n_parents]})
        return [self.space.encode(c.config) for c in chosen.values()]

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

    def initial_population(self) -> list[Code]:
        """The smallest and the largest child, then uniform draws."""
        codes = [self.space.encode(self.space.smallest()), self.space.encode(self.space.largest())]
        return codes + [self.space.sample(self.rng) for _ in range(max(0, self.population_size - 2))]

    def run(self, time_limit_s: float = 0.0, on_generation: Callable[[dict], None] | None = None) -> SearchOutcome:
        """Evolve for `generations`, or until the time limit or a Ctrl-C; returns the best found so far."""
        deadline = time.monotonic() + time_limit_s if time_limit_s > 0 else None
        smallest = self.evaluate(self.space.encode(self.space.smallest()))
        for device in self.devices:
            device.error = infeasibility(device.name, device.constraints, smallest, self.units)
        population, done, stopped = self.initial_population(), 0, "finished"
        try:
            with tqdm(range(self.generations), desc="evolution", leave=False, disable=None) as bar:
                for gen in bar:
                    for code in population:
                        if deadline is not None and time.monotonic() > deadline:
                            raise TimeoutError
                        self.evaluate(code)
                    done = gen + 1
                    if on_generation is not None:
                        on_generation(self.generation_record(gen))
                    population = self.breed(self.select_parents())
        except TimeoutError:
            stopped = "time limit"
        except KeyboardInterrupt:
            stopped = "interrupted"
            log.warning("evolution interrupted after %d generations: returning the best so far", done)
        return self.outcome(done, stopped)

    def generation_record(self, gen: int) -> dict[str, Any]:
        """What a generation leaves in evolution.jsonl: children seen, front size, each device's best."""
        record: dict[str, Any] = {"generation": gen, "evaluated": len(self.seen)}
        record["pareto"] = len(pareto_front(list(self.seen.values()), self.pareto_cost))
        for device in self.feasible_devices():
            best = self.best_for(device)
            record[f"{device.name}_accuracy"] = None if best is None else best.accuracy
        return record

    def best_for(self, device: DeviceResult) -> Candidate | None:
        """The most accurate child within the device's budgets (the cheaper on a tie)."""
        fits = [c for c in self.seen.values() if c.meets(device.constraints)]
        return max(fits, key=lambda c: (c.accuracy, -c.costs[self.pareto_cost]), default=None)

    def outcome(self, generations: int, stopped: str) -> SearchOutcome:
        for device in self.feasible_devices():
            device.pick = self.best_for(device)
        evaluated = list(self.seen.values())
        return SearchOutcome(self.devices, pareto_front(evaluated, self.pareto_cost), evaluated, generations, stopped)


def multi_objective_search(
    space: BigNASSpace,
    evaluate: Callable[[BigNASConfig], Candidate],
    target_devices: list[tuple[str, dict[str, float]]],
    population_size: int = 100,
    generations: int = 50,
    *,
    pareto_cost: str = "flops",
    mutation_prob: float = 0.1,
    crossover_share: float = 0.5,
    parents: int = 16,
    time_limit_s: float = 0.0,
    seed: int = 0,
    units: dict[str, str] | None = None,
    on_generation: Callable[[dict], None] | None = None,
) -> SearchOutcome:
    """Evolve children of `space` towards the best accuracy within each device's budgets.

    Args:
        space: the children.
        evaluate: a child's Candidate: accuracy with inherited weights (after BN recalibration) and its
            costs under every cost model that a constraint or `pareto_cost` names.
        target_devices: (name, {cost model name: largest cost allowed}) per device.
        population_size: children per generation.
        generations: generations to run.
        pareto_cost: the cost model of the Pareto front.
        mutation_prob: chance of one more decision changing after each mutation.
        crossover_share: share of new children made by crossover.
        parents: best feasible children per device kept as parents.
        time_limit_s: stop after this many seconds (0: no limit).
        seed: seed of every random choice.
        units: units of the cost models, for messages.
        on_generation: called with each generation's record.

    Returns:
        Each device's pick (or its one-line reason for having none), the Pareto front and how the search
        ended ("finished", "time limit" or "interrupted": a Ctrl-C returns the best so far).
    """
    search = MultiObjectiveSearch(
        space, evaluate, target_devices, population_size, generations, pareto_cost, mutation_prob, crossover_share,
        parents, seed, units,
    )  # fmt: skip
    return search.run(time_limit_s, on_generation)
