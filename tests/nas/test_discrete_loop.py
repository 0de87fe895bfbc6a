"""The discrete search loop: repeats are free, the proposal cap ends a converged search, the log resumes it."""

from __future__ import annotations

import pytest

from descgraph.errors import ConfError, DataError
from descgraph.nas.discrete import NB201Space, SearchStrategy, get_strategy
from descgraph.nas.discrete.loop import TrialLog, replay_records, search_loop


class Cycle(SearchStrategy):
    """Proposes the codes (0,)*6, (1,)*6, (2,)*6, (0,)*6, ... : three distinct architectures, over and over."""

    def _propose(self):
        return (len(self.history) % 3,) * 6


def count_calls():
    calls = []

    def evaluate(code):
        calls.append(code)
        return float(sum(code)), {"calls": len(calls)}

    return calls, evaluate


def test_repeats_cost_nothing_and_the_cap_ends_the_search():
    strategy, (calls, evaluate) = Cycle(), count_calls()
    strategy.setup(NB201Space(), seed=0)
    known = search_loop(strategy, evaluate, budget=5, max_proposals=20)
    assert calls == [(0,) * 6, (1,) * 6, (2,) * 6]  # each evaluated once
    assert len(known) == 3 and len(strategy.history) == 20  # the budget of 5 is never reached
    assert [t.result for t in strategy.history[:6]] == [0, 6, 12, 0, 6, 12]


def test_the_budget_counts_distinct_architectures():
    strategy, (calls, evaluate) = get_strategy("rea", population_size=5), count_calls()
    strategy.setup(NB201Space(), seed=1)
    search_loop(strategy, evaluate, budget=30)
    assert len(calls) == len(set(calls)) == 30 <= len(strategy.history)


def test_a_search_resumed_from_its_log_ends_as_the_uninterrupted_one(tmp_path):
    def run(log: TrialLog, budget: int, resume: bool) -> list:
        strategy, (_, evaluate) = get_strategy("reinforce"), count_calls()
        strategy.setup(NB201Space(), seed=4)
        known = replay_records(strategy, log.restore(), str(log.path)) if resume else {}

        def write(trial, is_new):
            log.append({"trial": len(strategy.history) - 1, "code": list(trial.code), "result": trial.result})

        search_loop(strategy, evaluate, budget, known=known, on_trial=write)
        return strategy.history

    full = run(TrialLog(tmp_path / "full.jsonl"), 40, resume=False)
    log = TrialLog(tmp_path / "killed.jsonl")
    killed = run(log, 15, resume=False)
    with log.path.open("a") as f:
        f.write('{"trial": 99, "code": [1, 2')  # a kill in the middle of a line
    assert len(log.read()) == len(killed)  # the cut line is dropped
    resumed = run(log, 40, resume=True)
    assert [t.code for t in resumed] == [t.code for t in full]
    assert log.read() == TrialLog(tmp_path / "full.jsonl").read()


def test_a_changed_strategy_does_not_replay_a_log(tmp_path):
    log = TrialLog(tmp_path / "trials.jsonl")
    log.rewrite([{"code": [0, 0, 0, 0, 0, 0], "result": 1.0}])
    strategy = get_strategy("random")
    strategy.setup(NB201Space(), seed=0)
    with pytest.raises(ConfError, match=r"trials.jsonl:1: the search proposed \[0, 0, 0, 0, 0, 0\] here, now"):
        replay_records(strategy, log.read(), str(log.path))


def test_a_malformed_log_line_is_named(tmp_path):
    log = TrialLog(tmp_path / "trials.jsonl")
    log.path.write_text('{"code": [1], "result": 2}\n{"code": [1]}\n')
    with pytest.raises(DataError, match=r"trials.jsonl:2: not a trial record"):
        log.read()
