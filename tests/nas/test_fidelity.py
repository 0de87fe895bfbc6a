"""Successive halving and Hyperband as arithmetic: the paper's bracket table, rungs, promotions, the pick, and the
search loop's windows as brackets (a resumed window sees its replayed codes too)."""

from __future__ import annotations

import pytest

from descgraph.errors import DescgraphError
from descgraph.nas.discrete import NB201Space, Trial, get_strategy
from descgraph.nas.discrete.fidelity import Bracket, FidelitySchedule, pick, promote, rung_epochs, stage_sizes
from descgraph.nas.discrete.loop import TrialLog, search_loop

# Li et al., "Hyperband", JMLR 2018, Table 1: R = 81, eta = 3; for each bracket s, (n_i, r_i) at each stage i
HYPERBAND_TABLE_1 = {
    4: [(81, 1), (27, 3), (9, 9), (3, 27), (1, 81)],
    3: [(34, 3), (11, 9), (3, 27), (1, 81)],
    2: [(15, 9), (5, 27), (1, 81)],
    1: [(8, 27), (2, 81)],
    0: [(5, 81)],
}


def test_hyperbands_brackets_are_the_papers_table_1():
    schedule = FidelitySchedule("hyperband", min_epochs=1, eta=3, max_epochs=81)
    assert schedule.rungs == [1, 3, 9, 27, 81] and schedule.s_max == 4
    brackets = schedule.brackets()
    assert [b.s for b in brackets] == [4, 3, 2, 1, 0]
    assert {b.s: schedule.sizes(b) for b in brackets} == HYPERBAND_TABLE_1
    assert [schedule.window(i) for i in range(7)] == [81, 34, 15, 8, 5, 81, 34]  # the round, over and over


def test_successive_halving_repeats_hyperbands_most_exploratory_bracket():
    schedule = FidelitySchedule("successive_halving", min_epochs=1, eta=3, max_epochs=81)
    assert schedule.brackets() == [Bracket(s=4, first_rung=0, size=81)]
    assert {schedule.bracket(i) for i in range(5)} == {Bracket(4, 0, 81)}
    assert schedule.sizes(schedule.bracket(0)) == HYPERBAND_TABLE_1[4]


@pytest.mark.parametrize(
    ("min_epochs", "eta", "max_epochs", "rungs"),
    [
        (1, 3, 9, [1, 3, 9]),
        (1, 3, 10, [1, 3, 10]),  # 10 is not on the ladder: it takes 9's place, so no rung trains 1 epoch more
        (2, 3, 20, [2, 6, 20]),
        (1, 2, 8, [1, 2, 4, 8]),
        (3, 2, 13, [3, 6, 13]),
        (1, 3, 2, [2]),  # floor(log_3 2) = 0: one rung, the full epochs (Hyperband's s_max = 0)
        (4, 3, 4, [4]),
    ],
)
def test_rungs_climb_by_eta_and_end_at_the_full_epochs(min_epochs, eta, max_epochs, rungs):
    assert rung_epochs(min_epochs, eta, max_epochs) == rungs


def test_a_small_bracket_keeps_a_third_at_each_rung_and_at_least_one():
    assert stage_sizes(6, 3, 3) == [6, 2, 1]
    assert stage_sizes(2, 3, 3) == [2, 1, 1]
    assert stage_sizes(34, 4, 3) == [34, 11, 3, 1]  # floor(floor(34/3)/3) = floor(34/9)
    schedule = FidelitySchedule("hyperband", 1, 3, 9)
    assert [(b.s, b.first_rung, b.size) for b in schedule.brackets()] == [(2, 0, 9), (1, 1, 5), (0, 2, 3)]


def test_promotions_take_the_best_scores_ties_to_the_earlier():
    assert promote([3.0, 1.0, 2.0], 2) == [0, 2]  # in proposal order
    assert promote([5.0, 5.0, 3.0], 1) == [0]
    assert promote([1.0, 5.0, 5.0, 0.0], 2) == [1, 2]


def test_a_bracket_trains_whole_rungs_and_promotes_on_each_rungs_own_scores():
    schedule = FidelitySchedule("successive_halving", 1, 3, 9)
    codes = list("abcdefghi")
    # rung 0 ranks b > f > d; rung 1 ranks d > f > b: d is the survivor, not b
    scores = {0: dict(zip(codes, [5, 9, 1, 7, 3, 8, 2, 6, 4])), 1: {"b": 10, "d": 30, "f": 20}, 2: {"d": 50}}
    calls, left = [], []

    def train_rung(rung, alive):
        calls.append((rung, "".join(alive)))
        return [float(scores[rung][c]) for c in alive]

    reached = schedule.run_bracket(schedule.bracket(0), codes, train_rung, on_leave=left.append)
    assert calls == [(0, "abcdefghi"), (1, "bdf"), (2, "d")]
    assert left == [list("acegh") + ["i"], ["b", "f"], ["d"]]
    assert reached == {**dict.fromkeys("acegh" + "i", 0), "b": 1, "f": 1, "d": 2}
    assert sum(schedule.rungs[r] for r in reached.values()) == 6 * 1 + 2 * 3 + 9  # epochs: 21


def test_a_late_bracket_starts_at_its_rung():
    schedule = FidelitySchedule("hyperband", 1, 3, 9)
    calls = []

    def train_rung(rung, alive):
        calls.append((rung, len(alive)))
        return [float(i) for i in range(len(alive))]

    reached = schedule.run_bracket(schedule.bracket(1), list(range(5)), train_rung)
    assert calls == [(1, 5), (2, 1)] and reached == {0: 1, 1: 1, 2: 1, 3: 1, 4: 2}  # the best of five, the last


def test_the_pick_is_the_best_of_the_most_trained():
    history = [
        Trial((0,), 80.0, {"epochs": 1, "rung": 0}),  # a lucky epoch
        Trial((1,), 70.0, {"epochs": 9, "rung": 2}),
        Trial((2,), 75.0, {"epochs": 9, "rung": 2}),
        Trial((0,), 80.0, {}),  # a repeat: its code's epochs
        Trial((3,), 75.0, {"epochs": 9, "rung": 2}),
    ]
    assert pick(history) is history[2]  # 75 at 9 epochs beats 80 at 1; the tie with (3,) goes to the earlier
    alike = [Trial((i,), r, {"epochs": 4}) for i, r in enumerate([50.0, 60.0, 55.0, 60.0])]
    assert pick(alike) is alike[1] is max(alike, key=lambda t: t.result)  # no schedule: the best result
    assert pick([]) is None


def test_bad_schedules_are_refused():
    with pytest.raises(DescgraphError, match="fidelity schedule 'halving'"):
        FidelitySchedule("halving", 1, 3, 9)
    with pytest.raises(DescgraphError, match="need eta >= 2"):
        rung_epochs(1, 1, 9)
    with pytest.raises(DescgraphError, match="min_epochs <= max_epochs"):
        rung_epochs(10, 3, 9)


# --- brackets as the search loop's windows --------------------------------------------------------------
def score(code, epochs: int) -> float:
    """A stand-in for training: more epochs score higher, and the ranking changes with them."""
    return float(epochs * 10 + (sum((i + 1) * c for i, c in enumerate(code)) * epochs) % 7)


class Brackets:
    """A window evaluation by successive halving, each rung's scores logged once (as the searcher's `Halving`)."""

    def __init__(self, schedule: FidelitySchedule, rungs: dict | None = None) -> None:
        self.schedule, self.rungs, self.windows, self.trained = schedule, dict(rungs or {}), [], []

    def __call__(self, executor, index, new, fresh):
        self.windows.append((index, len(new), len(fresh)))

        def train_rung(rung, codes):
            epochs = self.schedule.rungs[rung]
            for code in codes:
                if (code, epochs) not in self.rungs:
                    self.trained.append((code, epochs))
                    self.rungs[code, epochs] = score(code, epochs)
            return [self.rungs[code, epochs] for code in codes]

        reached = self.schedule.run_bracket(self.schedule.bracket(index), new, train_rung)
        return {c: (self.rungs[c, self.schedule.rungs[reached[c]]], {"rung": reached[c]}) for c in fresh}


def test_each_window_is_a_bracket_and_a_window_cut_by_a_kill_is_decided_over_all_its_codes(tmp_path):
    schedule = FidelitySchedule("hyperband", 1, 3, 9)

    def run(log: TrialLog, brackets: Brackets, stop_after: int | None = None) -> list:
        strategy = get_strategy("rea", population_size=4, sample_size=2)
        strategy.setup(NB201Space(), seed=5)
        records = log.restore()

        def write(trial, is_new):
            if stop_after is not None and len(strategy.history) > stop_after:
                raise KeyboardInterrupt  # killed while writing the second window's trial lines
            log.append({"trial": len(strategy.history) - 1, "code": list(trial.code), "result": trial.result})

        search_loop(strategy, score, 20, on_trial=write, window=schedule.window, evaluate_window=brackets,
                    replay=records)  # fmt: skip
        return [(t.code, t.result) for t in strategy.history]

    alone = Brackets(schedule)
    full = run(TrialLog(tmp_path / "alone.jsonl"), alone)
    assert [w[0] for w in alone.windows] == [0, 1, 2, 3] and [w[1] for w in alone.windows] == [9, 5, 3, 3]
    assert len(alone.trained) == (9 + 3 + 1) + (5 + 1) + 3 + (3 + 1 + 1)  # budget 20: the last bracket cut to 3

    log, killed = TrialLog(tmp_path / "killed.jsonl"), Brackets(schedule)
    with pytest.raises(KeyboardInterrupt):
        run(log, killed, stop_after=11)  # the second window's first two trials written, the rest not
    assert len(log.read()) == 11
    resumed = Brackets(schedule, killed.rungs)  # the finished rungs, as read back from a log
    assert run(log, resumed) == full
    assert resumed.windows[:2] == [(0, 9, 0), (1, 5, 3)]  # the cut window is decided over its five codes
    assert resumed.trained == alone.trained[len(killed.trained) :]  # nothing trained twice
    assert log.read() == TrialLog(tmp_path / "alone.jsonl").read()
