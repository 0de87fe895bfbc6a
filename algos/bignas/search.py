"""Multi-objective search over the children of a trained supernet, for several devices at once.

The search is descgraph's multi-objective evolution strategy (`descgraph.nas.discrete.multi_objective`)
over the BigNAS space, driven by the same `search_loop` as every discrete search: each child is judged
(accuracy with inherited weights, costs from cost models) once, each trial can go to a trial log, and a
killed search resumes by replaying that log. A device whose budget even the smallest child exceeds is
reported, not searched for; the others go on. Time limits and Ctrl-C end the loop with the best so far.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from algos.bignas.space import BigNASSpace
from descgraph.desc.elastic import BigNASConfig
from descgraph.nas.discrete import Code
from descgraph.nas.discrete.loop import TrialLog, search_loop
from descgraph.nas.discrete.multi_objective import MultiObjectiveEvolution, WithinBudgets, pareto_front
from descgraph.nas.discrete.strategy import Trial
from descgraph.nas.executor import TrialExecutor

log = logging.getLogger("descgraph")

__all__ = [
    "Candidate",
    "DeviceResult",
    "SearchOutcome",
    "infeasibility",
    "multi_objective_search",
    "pareto_front",
]


@dataclass
class Candidate(WithinBudgets):
    """An evaluated child: its config, accuracy (percent) and costs by cost-model name."""

    config: BigNASConfig
    accuracy: float
    costs: dict[str, float]

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


STOPPED = {"time limit": "time limit", "interrupted": "interrupted"}  # the loop's reasons; any other: finished


def trial_record(trial: Trial, is_new: bool, index: int) -> dict[str, Any]:
    """The JSON line of a trial: the child's code, accuracy and (when first evaluated) costs."""
    return {"trial": index, "code": list(trial.code), "result": trial.result, "new": is_new, **(trial.extra or {})}


def multi_objective_search(
    space: BigNASSpace,
    evaluate: Callable[[BigNASConfig], Candidate] | TrialExecutor,
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
    trials: TrialLog | None = None,
    resume: bool = False,
    window: int = 1,
) -> SearchOutcome:
    """Evolve children of `space` towards the best accuracy within each device's budgets.

    Args:
        space: the children.
        evaluate: a child's Candidate: accuracy with inherited weights (after BN recalibration) and its
            costs under every cost model that a constraint or `pareto_cost` names; or an executor of
            windows of codes, each to (accuracy, {"costs": costs}).
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
        on_generation: called with each generation's record (those of replayed trials again, in order).
        trials: a trial log, one line per proposed child; None keeps none.
        resume: replay the trials already in `trials` (the strategy proposes each again, checked) and go on.
        window: children proposed ahead of their results, within a generation (the history is the same for any).

    Returns:
        Each device's pick (or its one-line reason for having none), the Pareto front and how the search
        ended ("finished", "time limit" or "interrupted": a Ctrl-C returns the best so far).
    """
    units = dict(units or {})
    first = (space.encode(space.smallest()), space.encode(space.largest()))
    strategy = MultiObjectiveEvolution(
        target_devices, population_size, generations, pareto_cost, mutation_prob, crossover_share, parents, first
    )
    strategy.setup(space, seed)
    records: list[dict[str, Any]] = []
    if trials is not None:
        records = trials.restore() if resume else []
        if not resume:
            trials.rewrite([])
    emitted = 0

    def emit() -> None:
        nonlocal emitted
        for record in strategy.records[emitted:]:
            if on_generation is not None:
                on_generation(record)
        emitted = len(strategy.records)

    def judge(code: Code) -> tuple[float, dict[str, Any]]:
        candidate = evaluate(space.decode(code))
        return candidate.accuracy, {"costs": dict(candidate.costs)}

    def on_trial(trial: Trial, is_new: bool) -> None:
        if trials is not None:
            trials.append(trial_record(trial, is_new, len(strategy.history) - 1))
        emit()

    stopped: list[str] = []
    search_loop(
        strategy, evaluate if isinstance(evaluate, TrialExecutor) else judge, None, None, None, on_trial,
        window=window, replay=records, replay_source=str(trials.path) if trials is not None else "",
        time_limit_s=time_limit_s, stop_on_interrupt=True, on_stop=stopped.append,
    )  # fmt: skip
    emit()  # the generations of a replay that ended the search
    outcome = _outcome(strategy, space, target_devices, units, STOPPED.get(stopped[0], "finished"))
    if outcome.stopped == "interrupted":
        log.warning("evolution interrupted after %d generations: returning the best so far", outcome.generations)
    return outcome


def _outcome(
    strategy: MultiObjectiveEvolution,
    space: BigNASSpace,
    target_devices: list[tuple[str, dict[str, float]]],
    units: dict[str, str],
    stopped: str,
) -> SearchOutcome:
    evaluated = [Candidate(space.decode(e.code), e.accuracy, e.costs) for e in strategy.evaluated()]
    by_code = {e.code: c for e, c in zip(strategy.evaluated(), evaluated)}
    devices = [DeviceResult(name, dict(constraints)) for name, constraints in target_devices]
    for device in devices:
        if evaluated:
            device.error = infeasibility(device.name, device.constraints, evaluated[0], units)
        if device.error is None:
            best = strategy.best_for(device.constraints)
            device.pick = by_code[best.code] if best is not None else None
    front = [by_code[e.code] for e in pareto_front(strategy.evaluated(), strategy.pareto_cost)]
    return SearchOutcome(devices, front, evaluated, strategy.generations_done, stopped)
