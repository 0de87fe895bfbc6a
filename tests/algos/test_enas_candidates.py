"""The ENAS spaces as `descgraph run` searches: candidates built by the ENAS builders, trained on digits, and the
pick's network the one its trial names."""

from __future__ import annotations

import json

import pytest

from descgraph.builders.enas import desc_to_enas_macro, desc_to_enas_micro
from descgraph.conf import load_conf
from descgraph.desc import load_desc
from descgraph.desc.enas import format_macro_arch
from descgraph.desc.genotype import format_genotype
from descgraph.nas import get_runner_class
from descgraph.nas.discrete import get_space

SPACES = {
    "enas_micro": (["n_cells=2", "n_reductions=1"], desc_to_enas_micro, format_genotype),
    "enas_macro": (["n_cells=12", "n_reductions=2"], desc_to_enas_macro, format_macro_arch),
}


@pytest.mark.slow
@pytest.mark.parametrize("space", list(SPACES))
def test_a_search_of_an_enas_space_trains_its_networks_and_picks_the_best_trial(space, tmp_path):
    macro, read_back, text = SPACES[space]
    overrides = [f"nas.search.discrete.space={space}", "nas.search.discrete.budget=3", "nas.search.window=1"]
    for stage in ("search", "eval"):
        overrides += [f"nas.{stage}.model_desc.builder={space}", f"nas.{stage}.trainer.epochs=1"]
        overrides += [f"nas.{stage}.model_desc.{key}" for key in macro]
    conf = load_conf("rea_toy", overrides)
    summary = get_runner_class("rea")(conf, tmp_path).run()
    trials = [json.loads(line) for line in (tmp_path / "search" / "trials.jsonl").read_text().splitlines()]
    assert len(trials) == 3 and summary["search"]["candidates"] == 3
    best = max(trials, key=lambda t: t["result"])  # the first of equal results
    arch = get_space(space).decode(tuple(best["code"]))
    assert best["arch"] == text(arch)
    final = load_desc(tmp_path / "search" / "final_model_desc.yaml")
    assert read_back(final) == arch  # the final network is the best trial's architecture, read back from the desc
    assert summary["eval"]["test_top1"] > 0
