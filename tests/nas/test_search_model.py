"""The supernet a search trains is the one its saved description describes: `show`, `export` and the trainer agree."""

from __future__ import annotations

import json

import pytest

from descgraph.cli import main
from descgraph.conf import load_conf
from descgraph.desc import load_desc
from descgraph.nas._common import stage_trainer
from descgraph.nas.runner import get_runner_class

pytestmark = pytest.mark.usefixtures("one_thread")

# DARTS's CIFAR-10 search supernet (8 cells, 16 channels) with the paper's non-affine BNs in the cells
DARTS_SEARCH_PARAMS = 1_930_618


@pytest.mark.slow
def test_show_and_the_search_trainer_count_the_same_darts_supernet(tmp_path, capsys):
    conf = load_conf(["darts"])
    runner = get_runner_class(conf.algo)(conf, tmp_path)
    model = runner.searcher().build_model(runner.model_desc_builder())
    trainer = stage_trainer(conf, runner.trainer_class(), conf.nas.search, model, "search")
    trained = sum(p.numel() for group in trainer.optimizer.param_groups for p in group["params"])
    assert trained == DARTS_SEARCH_PARAMS
    saved = tmp_path / "search" / "full_model_desc.yaml"
    assert load_desc(saved).affine is False
    assert main(["show", str(saved), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["params"] == DARTS_SEARCH_PARAMS


def test_the_final_description_of_a_search_is_a_network_whose_bns_learn(tmp_path):
    conf = load_conf(["darts_toy"])
    runner = get_runner_class(conf.algo)(conf, tmp_path)
    model = runner.searcher().build_model(runner.model_desc_builder())
    assert model.desc.affine is False
    assert runner.finalizers().finalize_model(model).affine is True
