"""Runs with two Ray workers write what one process writes: the same trials (but for timings) and the same picks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from descgraph.conf import load_conf
from descgraph.desc import load_desc
from descgraph.nas import get_runner_class

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("ray_session")]  # each run starts two Ray actors

# rea_toy: the DARTS-genotype space on the digits at a tiny macro; one thread per trial in both runs (a sum
# over two threads may round otherwise than over one)
TOY = ["common.threads=1"]


def run(expdir: Path, name: str, *overrides: str) -> dict:
    conf = load_conf(name, list(overrides))
    return get_runner_class(conf.algo)(conf, expdir).run(eval=False)


def trials(expdir: Path) -> list[dict]:
    lines = (expdir / "search" / "trials.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k != "time_s"} for line in lines]


# each strategy past its random start within the toy budget of 6 (local climbs, bananas and tpe fit their models)
STARTS = {
    "rea": [],
    "reinforce": [],
    "local": ["nas.search.discrete.strategy_params.local={initial: 2}"],
    "bananas": ["nas.search.discrete.strategy_params.bananas={initial: 3, batch: 3, epochs: 20}"],
    "tpe": ["nas.search.discrete.strategy_params.tpe={n_startup_trials: 3}"],
}


@pytest.mark.parametrize("algo", list(STARTS))
def test_two_workers_write_the_trials_and_final_description_of_one(algo, tmp_path):
    conf = [f"algo={algo}", *TOY, "nas.search.window=3", *STARTS[algo]]
    one = run(tmp_path / "one", "rea_toy", *conf)
    two = run(tmp_path / "two", "rea_toy", *conf, "nas.search.workers=2")
    assert trials(tmp_path / "two") == trials(tmp_path / "one") and len(trials(tmp_path / "one")) >= 6
    final = [load_desc(tmp_path / d / "search" / "final_model_desc.yaml") for d in ("one", "two")]
    assert final[0].hash() == final[1].hash()
    assert two["search"]["arch"] == one["search"]["arch"]


def test_bignas_children_judged_on_two_workers_give_the_same_picks(tmp_path):
    def search(name: str, *overrides: str) -> dict:
        # two epochs of eight batches: children that differ in accuracy
        toy = ["dataset.max_batches=8", "nas.search.trainer.epochs=2", "common.threads=1"]
        summary = run(tmp_path / name, "bignas_toy", *toy, *overrides)
        devices = summary["search"]["devices"]
        picks = {device: {k: v for k, v in pick.items() if k != "dir"} for device, pick in devices.items()}
        return {"trials": trials(tmp_path / name), "picks": picks}

    one = search("one")
    assert search("two", "nas.search.workers=2", "nas.search.window=6") == one
    assert len(one["trials"]) == 12  # two generations of six children
    assert len({t["result"] for t in one["trials"]}) > 3  # whose accuracies differ
