"""What a run on data-parallel ranks refuses before it reads or writes anything."""

from __future__ import annotations

import pytest

from descgraph import _ranks
from descgraph.conf import load_conf, resolve_conf_path
from descgraph.errors import DistributedError
from descgraph.nas import get_runner_class


@pytest.mark.parametrize("name", ["bignas_toy", "rea"])
def test_a_search_that_runs_in_one_process_refuses_ranks(name, tmp_path):
    conf = load_conf([resolve_conf_path(name)])
    runner = get_runner_class(conf.algo)(conf, tmp_path / "exp")
    _ranks.set_place(0, 2)  # rank 0 of 2, no process group: the refusal comes before any collective
    try:
        with pytest.raises(DistributedError, match=rf"^algo {conf.algo}: its search runs in one process"):
            runner.run()
    finally:
        _ranks.set_place(0, 1)
    assert not (tmp_path / "exp").exists()
