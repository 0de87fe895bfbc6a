"""Multi-objective evolution as a search strategy, and how the loop ends a search: done, time limit, Ctrl-C."""

from __future__ import annotations

import pytest

from descgraph.errors import DescgraphError
from descgraph.nas.discrete import NB201Space
from descgraph.nas.discrete.loop import TrialLog, replay_records, search_loop
from descgraph.nas.discrete.multi_objective import MultiObjectiveEvolution, pareto_front

DEVICES = [("small", {"cost": 8.0}), ("any", {"cost": 100.0}), ("impossible", {"cost": -1.0})]


def judge(code):
    """Accuracy rises with the code's values and so does its cost: a real trade-off."""
    cost = float(sum(code))
    return 50.0 + 3.0 * cost - 0.1 * cost**2 + 0.01 * code[0], {"costs": {"cost": cost}}


def strategy(generations: int = 4) -> MultiObjectiveEvolution:
    s = MultiObjectiveEvolution(DEVICES, population_size=6, generations=generations, pareto_cost="cost", parents=2,
                                first=[(0,) * 6, (4,) * 6])  # fmt: skip
    s.setup(NB201Space(), seed=3)
    return s


def run(s: MultiObjectiveEvolution, known=None, on_trial=None, **kwargs) -> list[str]:
    stopped: list[str] = []
    search_loop(s, judge, None, None, known, on_trial, on_stop=stopped.append, **kwargs)
    return stopped


def test_generations_end_the_search_and_each_leaves_a_record():
    s = strategy()
    assert run(s) == ["done"]
    assert len(s.history) == 4 * 6 and s.generations_done == 4
    assert [r["generation"] for r in s.records] == [0, 1, 2, 3]
    assert s.history[0].code == (0,) * 6 and s.history[1].code == (4,) * 6  # `first` opens the search
    # the first evaluated architecture exceeds "impossible": left out of parent selection and records
    assert s.infeasible == {"impossible"} and "impossible_accuracy" not in s.records[-1]
    best = s.best_for({"cost": 8.0})
    assert best.costs["cost"] <= 8.0 and s.records[-1]["small_accuracy"] == best.accuracy
    front = pareto_front(s.evaluated(), "cost")
    assert [c.costs["cost"] for c in front] == sorted(c.costs["cost"] for c in front)


def test_a_search_resumed_by_replay_ends_as_the_uninterrupted_one(tmp_path):
    full = strategy()
    run(full)
    log = TrialLog(tmp_path / "trials.jsonl")
    first = strategy()
    calls = []

    def write(trial, is_new):
        log.append({"code": list(trial.code), "result": trial.result, **(trial.extra or {})})
        calls.append(trial)
        if len(calls) == 9:
            raise KeyboardInterrupt  # a Ctrl-C mid-generation

    assert run(first, on_trial=write, stop_on_interrupt=True) == ["interrupted"]
    resumed = strategy()
    known = replay_records(resumed, log.restore(), str(log.path))
    assert resumed.records == first.records and len(known) == len(first.evaluated())
    assert run(resumed, known) == ["done"]
    assert [t.code for t in resumed.history] == [t.code for t in full.history]
    assert resumed.records == full.records and resumed.evaluated() == full.evaluated()


def test_the_time_limit_stops_before_the_next_proposal():
    now = [0.0]

    def clock():
        now[0] += 1.0  # one second per look at the clock
        return now[0]

    s = strategy(generations=100)
    assert run(s, time_limit_s=5.5, clock=clock) == ["time limit"]
    assert 0 < len(s.history) < 10


def test_ctrl_c_propagates_unless_the_loop_is_asked_to_stop_on_it():
    def interrupted(code):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        search_loop(strategy(), interrupted, None)
    stopped = []
    search_loop(strategy(), interrupted, None, stop_on_interrupt=True, on_stop=stopped.append)
    assert stopped == ["interrupted"]


def test_a_first_result_without_costs_is_an_error():
    s = strategy()
    with pytest.raises(DescgraphError, match="came without its costs"):
        search_loop(s, lambda code: (1.0, {}), None)
