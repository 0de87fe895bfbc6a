"""What a run on data-parallel ranks refuses before it reads or writes anything."""

from __future__ import annotations

import pytest

from descgraph import _ranks
from descgraph.conf import load_conf, resolve_conf_path
from descgraph.errors import ConfError, DistributedError
from descgraph.nas import get_runner_class


def test_a_search_that_runs_in_one_process_refuses_ranks(tmp_path):
    conf = load_conf([resolve_conf_path("rea")])
    runner = get_runner_class(conf.algo)(conf, tmp_path / "exp")
    _ranks.set_place(0, 2)  # rank 0 of 2, no process group: the refusal comes before any collective
    try:
        with pytest.raises(DistributedError, match=rf"^algo {conf.algo}: its search runs in one process"):
            runner.run()
    finally:
        _ranks.set_place(0, 1)
    assert not (tmp_path / "exp").exists()


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("nas.search.workers=2", r"^nas\.search\.workers: Ray workers and torchrun ranks do not mix"),
        ("nas.search.multi_objective.time_limit_s=60", r"^nas\.search\.multi_objective\.time_limit_s: a wall-clock"),
    ],
)
def test_bignas_on_ranks_refuses_what_could_make_the_ranks_disagree(override, message, tmp_path):
    conf = load_conf([resolve_conf_path("bignas_toy")], [override])
    runner = get_runner_class(conf.algo)(conf, tmp_path / "exp")
    _ranks.set_place(0, 2)
    try:
        with pytest.raises(ConfError, match=message):
            runner.run()
    finally:
        _ranks.set_place(0, 1)
    assert not (tmp_path / "exp").exists()
