"""Ray actors as trial workers: results in proposal order, a worker killed mid-trial retried, errors in one line."""

from __future__ import annotations

import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import ray.cloudpickle

from descgraph.errors import DataError
from descgraph.nas.executor import RayExecutor, TrialFailed

ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the actors cannot import a test module

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("ray_session")]  # each test starts Ray actors


def score(code) -> tuple[float, dict]:
    return float(sum((i + 1) * c for i, c in enumerate(code))), {}


@dataclass(frozen=True)
class Scorer:
    """An actor's evaluator; with `kill_at`, the first actor to reach that code kills itself with SIGKILL
    (`marker` records that it happened, so the run after the retry goes through), or every one that does."""

    marker: str = ""
    kill_at: tuple = ()
    always: bool = False

    def __call__(self):
        def evaluate(code):
            if code == self.kill_at and (self.always or not Path(self.marker).exists()):
                Path(self.marker).write_text(str(os.getpid()))
                os.kill(os.getpid(), signal.SIGKILL)
            if code == (9, 9):
                raise DataError("data.csv:3: not a number")
            return score(code)

        return evaluate


CODES = [(0, 1), (2, 3), (1, 1), (3, 0), (2, 2)]


def test_results_come_back_in_proposal_order_from_both_workers():
    executor = RayExecutor(Scorer(), workers=2, threads=1)
    try:
        assert executor.map(CODES) == [score(c) for c in CODES]
        assert len(set(executor.pids())) == 2
    finally:
        executor.close()


def test_a_worker_killed_mid_trial_is_replaced_and_the_trial_run_again(tmp_path):
    marker = tmp_path / "killed"
    executor = RayExecutor(Scorer(str(marker), kill_at=(1, 1)), workers=2, threads=1, retries=1)
    try:
        pids = set(executor.pids())
        assert executor.map(CODES) == [score(c) for c in CODES]
        assert int(marker.read_text()) in pids  # one of the first actors died, SIGKILLed, mid-trial
        assert len(set(executor.pids()) - pids) == 1  # and a new one took its place
    finally:
        executor.close()


def test_a_trial_that_kills_every_worker_fails_after_the_retries_naming_it(tmp_path):
    executor = RayExecutor(Scorer(str(tmp_path / "k"), kill_at=(1, 1), always=True), workers=2, threads=1, retries=1)
    try:
        with pytest.raises(TrialFailed, match=r"^the worker of \[1, 1\] died 2 times \(nas.search.worker_retries=1\)"):
            executor.map(CODES)
    finally:
        executor.close()


def test_an_error_of_the_evaluator_comes_back_as_raised(tmp_path):
    executor = RayExecutor(Scorer(), workers=2, threads=1)
    try:
        with pytest.raises(DataError, match=r"^data.csv:3: not a number$"):
            executor.map([(0, 1), (9, 9)])
    finally:
        executor.close()
