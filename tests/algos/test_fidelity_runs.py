"""Successive halving and Hyperband in `descgraph run`: a promoted candidate trains on from its checkpoint as if
in one go, the epochs trained are the schedule's hand count, a run killed in a middle rung resumes to the
uninterrupted picks, two Ray workers write what one process writes, and bad parameters are one line."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest
import torch

from algos.discrete import CANDIDATES, DiscreteSearcher
from algos.discrete.searcher import Halving
from descgraph.cli import main
from descgraph.conf import load_conf
from descgraph.data import get_loaders
from descgraph.nas import get_runner_class
from descgraph.nas.discrete import get_space, get_strategy
from descgraph.nas.discrete.fidelity import FidelitySchedule
from descgraph.nas.discrete.loop import TrialLog, search_loop
from descgraph.nas.executor import TrialExecutor, TrialFailed
from descgraph.train import Trainer, load_checkpoint

FIDELITY = "nas.search.discrete.fidelity"
SH = [f"{FIDELITY}.schedule=successive_halving", f"{FIDELITY}.min_epochs=1", f"{FIDELITY}.eta=3"]
HYPERBAND = [f"{FIDELITY}.schedule=hyperband"]  # min_epochs 1 and eta 3 by default
NINE = ["nas.search.trainer.epochs=9"]  # rungs of 1, 3 and 9 epochs
SHORT = ["dataset.max_batches=1"]  # one batch per epoch: what is counted here is epochs, not accuracy


def cli(expdir: Path, *overrides: str) -> dict:
    """`descgraph run rea_toy OVERRIDES --no-eval`; the summary's search section."""
    assert main(["run", "rea_toy", *overrides, "--expdir", str(expdir), "--no-eval"]) == 0
    return json.loads((expdir / "summary.json").read_text())["search"]


def run(expdir: Path, *overrides: str) -> dict:
    """The same run in this process, through the runner."""
    conf = load_conf("rea_toy", list(overrides))
    return get_runner_class(conf.algo)(conf, expdir).run(eval=False)["search"]


def lines(expdir: Path) -> list[dict]:
    """search/trials.jsonl but for timings."""
    text = (expdir / "search" / "trials.jsonl").read_text()
    return [{k: v for k, v in json.loads(line).items() if k != "time_s"} for line in text.splitlines()]


def same(a, b) -> bool:
    """Whether two checkpoints' contents are equal, every tensor bit for bit."""
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def untimed(history: list[dict]) -> list[dict]:
    return [{k: v for k, v in epoch.items() if k != "time_s"} for epoch in history]


# --- a rung goes on from its checkpoint ------------------------------------------------------------------
def test_a_candidate_trained_on_from_its_checkpoint_is_the_one_trained_in_one_go(tmp_path, monkeypatch, one_thread):
    # checkpoints every 5 epochs: the one after the first piece is the rung's own
    conf = load_conf(
        "rea_toy", ["nas.search.trainer.epochs=3", "nas.search.trainer.checkpoint_freq=5", "dataset.max_batches=4"]
    )
    searcher, loaders = DiscreteSearcher(conf, tmp_path), get_loaders(conf.nas.search.loader, seed=conf.common.seed)
    space = get_space("darts")
    desc = CANDIDATES.get("darts").build(space.decode(space.sample(random.Random(1))), conf.nas.search.model_desc)
    ran, run_epoch = [], Trainer.run_epoch
    monkeypatch.setattr(Trainer, "run_epoch", lambda self, epoch, *a: ran.append(epoch) or run_epoch(self, epoch, *a))

    one_go = searcher.train_candidate(desc, Trainer, loaders, 3, tmp_path / "one_go.pt")
    first = searcher.train_candidate(desc, Trainer, loaders, 1, tmp_path / "pieces.pt")
    after_one = load_checkpoint(tmp_path / "pieces.pt")
    pieces = searcher.train_candidate(desc, Trainer, loaders, 3, tmp_path / "pieces.pt")
    assert after_one["epoch"] == 1 and ran == [0, 1, 2, 0, 1, 2]  # the second piece went on from epoch 1

    a, b = load_checkpoint(tmp_path / "one_go.pt"), load_checkpoint(tmp_path / "pieces.pt")
    assert same({k: v for k, v in a.items() if k != "history"}, {k: v for k, v in b.items() if k != "history"})
    assert untimed(a["history"]) == untimed(b["history"])  # weights, momentum, schedule position, RNG, records
    assert not same(a["model"], after_one["model"])
    assert (one_go[0], one_go[1]["epochs"]) == (pieces[0], pieces[1]["epochs"]) == (a["history"][-1]["val_top1"], 3)
    assert (first[0], first[1]["epochs"]) == (a["history"][0]["val_top1"], 1)
    # the rung's schedule is that of trainer.epochs, not its own: the cosine from lr to 0 over all three epochs
    lr = conf.nas.search.trainer.optimizer.lr
    cosine = [lr * (1 + math.cos(math.pi * e / 3)) / 2 for e in range(3)]
    assert [e["lr"] for e in a["history"]] == pytest.approx(cosine, rel=1e-12)
    assert [e["lr"] for e in after_one["history"]] == pytest.approx(cosine[:1], rel=1e-12)


# --- the epochs a schedule trains ------------------------------------------------------------------------
# rungs of 1, 3, 9 epochs, eta 3. Successive halving, budget 6: a bracket of 6 -> 2 -> 1, so 4 candidates end at 1
# epoch, 1 at 3, 1 at 9. Hyperband's round is the brackets (9 from 1 epoch), (5 from 3), (3 from 9): budget 6 cuts
# the first to 6 (as successive halving); budget 17 is the whole round: 6x1 + 2x3 + 9, 4x3 + 9, 3x9.
HAND_COUNTS = [
    ("full", [], 6, 6 * 9),
    ("successive_halving", SH, 6, 4 * 1 + 3 + 9),
    ("hyperband", HYPERBAND, 6, 4 * 1 + 3 + 9),
    ("hyperband", HYPERBAND, 17, (6 * 1 + 2 * 3 + 9) + (4 * 3 + 9) + 3 * 9),
]


@pytest.mark.parametrize(("name", "schedule", "budget", "epochs"), HAND_COUNTS)
def test_candidate_epochs_are_the_hand_count_of_the_schedule(tmp_path, one_thread, name, schedule, budget, epochs):
    search = cli(tmp_path, *NINE, *SHORT, *schedule, f"nas.search.discrete.budget={budget}")
    assert search["candidate_epochs"] == epochs and search["candidates"] == budget
    records = lines(tmp_path)
    trials, rungs = [r for r in records if "trial" in r], [r for r in records if "trial" not in r]
    assert sum(t["epochs"] for t in trials) == epochs
    for trial in trials:  # each candidate is fed back its score at the last rung it reached
        last = [r for r in rungs if r["code"] == trial["code"]]
        if schedule:
            assert (trial["result"], trial["epochs"], trial["rung"]) == (
                last[-1]["result"],
                last[-1]["epochs"],
                last[-1]["rung"],
            )
        else:
            assert last == [] and trial["epochs"] == 9
    # the pick is the best of the candidates trained 9 epochs, whatever a lucky 1-epoch score says
    nine = [t for t in trials if t["epochs"] == 9]
    assert search["arch"] == max(nine, key=lambda t: t["result"])["arch"] and search["val_top1"] == max(
        t["result"] for t in nine
    )
    assert not (tmp_path / "search" / "candidates").exists()  # every candidate left its bracket


def test_successive_halving_trains_at_most_half_the_epochs_of_the_full_run(tmp_path, one_thread):
    full = cli(tmp_path / "full", *NINE, *SHORT)
    halving = cli(tmp_path / "halving", *NINE, *SHORT, *SH)
    assert halving["candidates"] == full["candidates"] == 6
    assert halving["candidate_epochs"] <= 0.5 * full["candidate_epochs"]  # 16 of 54


# --- a kill in a middle rung --------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_run_killed_in_a_middle_rung_resumes_to_the_uninterrupted_picks(tmp_path, monkeypatch, one_thread):
    toy = [*NINE, *SH, "dataset.max_batches=4"]
    alone = run(tmp_path / "alone", *toy)
    calls, kill_at, epochs = [], [7], []
    train, run_epoch = DiscreteSearcher.train_candidate, Trainer.run_epoch

    def train_or_die(self, *a):
        if len(calls) == kill_at[0]:
            raise KeyboardInterrupt  # killed training the second of the two candidates of rung 1
        calls.append(a[3])
        return train(self, *a)

    monkeypatch.setattr(DiscreteSearcher, "train_candidate", train_or_die)
    monkeypatch.setattr(
        Trainer, "run_epoch", lambda self, epoch, *a: epochs.append(epoch) or run_epoch(self, epoch, *a)
    )
    killed = tmp_path / "killed"
    with pytest.raises(KeyboardInterrupt):
        run(killed, *toy)
    assert calls == [1] * 6 + [3] and len(lines(killed)) == 6  # rung 0 logged; rung 1 was under way
    assert len(list((killed / "search" / "candidates").iterdir())) == 2  # the four left behind are gone
    with (killed / "search" / "trials.jsonl").open("a") as f:
        f.write('{"bracket": 0, "rung": 1, "code": [0, 1')  # and a line cut short
    calls.clear()
    epochs.clear()
    kill_at[0] = None
    resumed = run(killed, *toy)
    assert calls == [3, 3, 9]  # rung 1 again (the first read back from its checkpoint), then rung 2
    assert epochs == [1, 2, 3, 4, 5, 6, 7, 8]  # 1 -> 3 for the second, 3 -> 9 for the survivor: nothing from zero
    assert lines(killed) == lines(tmp_path / "alone") and resumed == alone
    assert not (killed / "search" / "candidates").exists()


# --- two Ray workers --------------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize(
    "schedule",
    [[*NINE, *SH], ["nas.search.trainer.epochs=3", *HYPERBAND, "nas.search.discrete.budget=5"]],
    ids=["successive_halving", "hyperband"],
)
def test_two_ray_workers_write_the_trials_of_one_process(ray_session, tmp_path, schedule):
    one = run(tmp_path / "one", "common.threads=1", *schedule)
    two = run(tmp_path / "two", "common.threads=1", *schedule, "nas.search.workers=2")
    assert lines(tmp_path / "two") == lines(tmp_path / "one") and two == one
    assert len({r["rung"] for r in lines(tmp_path / "one") if "trial" not in r}) > 1  # promotions happened


# --- bad parameters ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ([f"{FIDELITY}.eta=1"], f"{FIDELITY}.eta: Input should be greater than or equal to 2"),
        ([f"{FIDELITY}.min_epochs=0"], f"{FIDELITY}.min_epochs: Input should be greater than or equal to 1"),
        (
            [*SH, "nas.search.trainer.epochs=4", f"{FIDELITY}.min_epochs=5"],
            f"{FIDELITY}.min_epochs: 5 is more than trainer.epochs (4), the last rung",
        ),
        (
            [f"{FIDELITY}.schedule=halving"],
            f"{FIDELITY}.schedule: Input should be 'none', 'successive_halving' or 'hyperband'",
        ),
    ],
)
def test_bad_fidelity_parameters_are_one_line_naming_the_key(tmp_path, capsys, overrides, expected):
    argv = ["run", "rea_toy", *overrides, "--expdir", str(tmp_path), "--no-eval"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"command line: {expected}" in err, err
    assert not (tmp_path / "search").exists()


# --- a worker that keeps dying in a rung ------------------------------------------------------------------------
class DiesInRungOne(TrialExecutor):
    """Scores rung 0 (by position), and a rung-1 task's worker dies for good: the second promoted candidate's."""

    def _run(self, tasks):
        if tasks[0].epochs == 3:
            raise TrialFailed(f"the worker of {list(tasks[1].code)} died 3 times", 1)
        return [(float(i % 4), {"epochs": 1, "time_s": 0.0}) for i in range(len(tasks))]


def test_a_dead_rung_names_the_trial_of_its_candidate_and_logs_no_trial(tmp_path):
    schedule, log = FidelitySchedule("successive_halving", 1, 3, 9), TrialLog(tmp_path / "trials.jsonl")
    strategy = get_strategy("random")
    strategy.setup(get_space("darts"), seed=0)
    halving = Halving(schedule, log, [], tmp_path / "candidates")
    # rung 0 scores 0, 1, 2, 3, 0, 1, 2, 3, 0: the top three are trials 3, 7 and 2 (the tie to the earlier), so
    # rung 1 trains trials 2, 3, 7 in that order, and the second is trial 3
    with pytest.raises(TrialFailed, match=r"^trial 3: the worker of \[.*\] died 3 times$"):
        search_loop(strategy, DiesInRungOne(), 9, window=schedule.window, evaluate_window=halving)
    assert strategy.history == [] and [r["rung"] for r in log.read()] == [0] * 9  # rung 0 logged, no trial line
