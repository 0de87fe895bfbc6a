"""kill -9 of the driver of a search on Ray workers, then the same command: the uninterrupted run's result."""

from __future__ import annotations

import json

import pytest
from ray_processes import assert_no_ray_left, ray_processes  # tests/ is on sys.path through its conftest

from descgraph.desc import load_desc

# rea_toy (the DARTS-genotype space on the digits at a tiny macro), two Ray workers on one thread each
ARGV = ["run", "rea_toy", "nas.search.discrete.budget=8", "nas.search.window=2", "nas.search.workers=2",
        "common.threads=1", "--no-eval"]  # fmt: skip


@pytest.mark.slow
@pytest.mark.usefixtures("module_time_limit")
def test_a_search_whose_ray_driver_was_killed_ends_as_the_uninterrupted_one(killed_and_resumed):
    before = ray_processes()
    alone, killed = killed_and_resumed(ARGV, "search/trials.jsonl", "search/final_model_desc.yaml")
    assert load_desc(killed / "search" / "final_model_desc.yaml").hash() == (
        load_desc(alone / "search" / "final_model_desc.yaml").hash()
    )

    def trials(expdir):
        lines = (expdir / "search" / "trials.jsonl").read_text().splitlines()
        return [{k: v for k, v in json.loads(line).items() if k != "time_s"} for line in lines]

    assert trials(killed) == trials(alone)
    assert_no_ray_left(before, wait_s=120)  # the killed driver's local Ray ends once its reaper sees it gone
