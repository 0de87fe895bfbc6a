"""The executor seam: windows of proposals fed back in proposal order, whatever evaluates them and in what order."""

from __future__ import annotations

import builtins
import random

import pytest

from algos.bignas.search import trial_record
from descgraph.cli import main
from descgraph.errors import ConfError
from descgraph.nas.discrete import NB201Space, get_strategy
from descgraph.nas.discrete.loop import TrialLog, search_loop
from descgraph.nas.discrete.multi_objective import MultiObjectiveEvolution
from descgraph.nas.executor import TrialExecutor, TrialFailed, connect_ray


def accuracy(code) -> tuple[float, dict]:
    """A stand-in for training: a number every process computes alike."""
    return 50.0 + sum((i + 1) * c for i, c in enumerate(code)) % 37, {}


class Shuffled(TrialExecutor):
    """Evaluates a window in a random order (as workers finishing at random would), returns it in order."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        self.rng, self.windows = random.Random(seed), []

    def _run(self, codes):
        self.windows.append(len(codes))
        order = list(range(len(codes)))
        self.rng.shuffle(order)
        done = {i: accuracy(codes[i]) for i in order}
        return [done[i] for i in range(len(codes))]


def history(name: str, evaluate, window: int, budget: int = 30, **kwargs) -> list[tuple]:
    strategy = get_strategy(name, **kwargs)
    strategy.setup(NB201Space(), seed=3)
    search_loop(strategy, evaluate, budget, window=window)
    return [(t.code, t.result) for t in strategy.history]


@pytest.mark.parametrize(("name", "kwargs"), [("rea", {"population_size": 8, "sample_size": 3}), ("reinforce", {})])
def test_the_history_depends_on_the_window_not_on_who_evaluates_it(name, kwargs):
    in_process = history(name, accuracy, window=4, **kwargs)
    executor = Shuffled(seed=0)
    assert history(name, executor, window=4, **kwargs) == in_process
    assert max(executor.windows) == 4 and len(in_process) >= 30
    assert history(name, accuracy, window=1, **kwargs) != in_process  # proposing ahead is a different search


def test_window_one_is_the_one_by_one_search():
    calls = []

    def one_by_one(code):
        calls.append(code)
        return accuracy(code)

    assert history("rea", one_by_one, window=1, population_size=5) == history("rea", accuracy, 1, population_size=5)
    assert len(calls) == 30


def test_a_windowed_search_killed_mid_window_resumes_to_the_same_history(tmp_path):
    def run(log: TrialLog, budget: int, resume: bool, fail_after: int | None = None) -> list:
        strategy, calls = get_strategy("reinforce"), []
        strategy.setup(NB201Space(), seed=4)

        def evaluate(code):
            if fail_after is not None and len(calls) == fail_after:
                raise KeyboardInterrupt  # the kill, in the middle of a window
            calls.append(code)
            return accuracy(code)

        def write(trial, is_new):
            log.append({"trial": len(strategy.history) - 1, "code": list(trial.code), "result": trial.result})

        records = log.restore() if resume else []
        search_loop(strategy, evaluate, budget, on_trial=write, window=5, replay=records, stop_on_interrupt=True)
        return strategy.history, calls

    full, _ = run(TrialLog(tmp_path / "full.jsonl"), 40, resume=False)
    log = TrialLog(tmp_path / "killed.jsonl")
    killed, _ = run(log, 40, resume=False, fail_after=13)
    assert len(killed) == 10  # two whole windows fed back; the third, in flight, was not logged
    resumed, calls = run(log, 40, resume=True)
    assert [t.code for t in resumed] == [t.code for t in full]
    assert log.read() == TrialLog(tmp_path / "full.jsonl").read()
    assert len(calls) == len({t.code for t in full[10:]} - {t.code for t in full[:10]})  # only the missing ones


def test_multi_objective_evolution_waits_at_each_generation_so_any_window_gives_its_history():
    def run(window: int) -> tuple[list, list]:
        strategy = MultiObjectiveEvolution([("dev", {"params": 40.0})], population_size=6, generations=4,
                                           pareto_cost="params")  # fmt: skip
        strategy.setup(NB201Space(), seed=5)

        def judge(code):
            return accuracy(code)[0], {"costs": {"params": float(sum(code) * 3)}}

        search_loop(strategy, judge, None, window=window)
        return [trial_record(t, True, i) for i, t in enumerate(strategy.history)], strategy.records

    one = run(1)
    assert run(4) == one == run(50) and len(one[1]) == 4  # four generations, the same records


class Dies(TrialExecutor):
    def _run(self, codes):
        raise TrialFailed(f"the worker of {list(codes[1])} died 3 times", 1)


def test_a_trial_whose_worker_keeps_dying_ends_the_search_naming_it_and_logs_nothing_of_its_window(tmp_path):
    strategy, log = get_strategy("random"), TrialLog(tmp_path / "trials.jsonl")
    strategy.setup(NB201Space(), seed=0)
    with pytest.raises(TrialFailed, match=r"^trial 1: the worker of \[.*\] died 3 times$"):
        search_loop(strategy, Dies(), 10, on_trial=lambda t, new: log.append({"code": list(t.code)}), window=3)
    assert strategy.history == [] and log.read() == []


def test_workers_without_ray_is_one_line_saying_how_to_install_it(monkeypatch):
    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray":
            raise ImportError("No module named 'ray'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    with pytest.raises(ConfError) as e:
        connect_ray(2)
    assert (
        str(e.value) == 'nas.search.workers: 2 workers run on Ray, which is not installed: pip install "descgraph[ray]"'
    )
    connect_ray(1)  # one worker needs no Ray


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("nas.search.workers=0", "nas.search.workers: "),
        ("nas.search.ray_address=127.0.0.1:1", "nas.search.ray_address: no Ray cluster answers at '127.0.0.1:1': "),
        ("nas.search.workers=1024", "nas.search.workers: 1024 local Ray workers but this process may use "),
    ],
)
def test_bad_worker_settings_are_one_line_and_touch_no_file(override, message, tmp_path, capsys):
    argv = ["run", "rea", "nas.search.workers=2", override, "--expdir", str(tmp_path / "run")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err
    assert not (tmp_path / "run").exists()
