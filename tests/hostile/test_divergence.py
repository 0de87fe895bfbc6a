"""Divergence is an error, not a result: a search or an eval at an absurd learning rate stops with one line
and exit 2, keeping no diverged checkpoint and no summary; finalizers refuse NaN architecture weights; every
JSON file written is JSON that any reader accepts."""

from __future__ import annotations

import json
import math

import pytest
import torch

from descgraph._files import dump_data
from descgraph.builders import get_builder
from descgraph.cli import main
from descgraph.conf import load_conf
from descgraph.errors import DivergenceError
from descgraph.nas import Evaluater, get_finalizers
from descgraph.nas.discrete.loop import TrialLog
from descgraph.nas.evaluater import EvalResult
from descgraph.nn import Model
from descgraph.train import MetricsLog, load_checkpoint
from descgraph.train.divergence import first_nonfinite_tensor

MACRO = ["n_cells=3", "n_reductions=1", "model_stems.init_node_ch=4"]
TOY = [
    "darts_digits",
    *(f"nas.{stage}.model_desc.{m}" for stage in ("search", "eval") for m in MACRO),
    "nas.search.model_desc.cell.n_nodes=2",
    "nas.search.trainer.epochs=2",
    "nas.eval.trainer.epochs=2",
    "dataset.max_batches=3",
    "common.threads=1",
]


def strict_json(text: str):
    """JSON as a strict reader takes it: a bare NaN or Infinity is an error."""

    def refuse(name: str):
        raise ValueError(f"not JSON: {name}")

    return json.loads(text, parse_constant=refuse)


def _assert_no_diverged_checkpoint(stage_dir) -> None:
    path = stage_dir / "checkpoint.pt"
    assert not path.exists() or first_nonfinite_tensor(load_checkpoint(path)["model"]) is None


@pytest.mark.parametrize(
    ("stage", "extra"),
    [("search", ["--no-eval"]), ("eval", ["nas.search.trainer.epochs=1"])],
)
def test_a_stage_at_a_huge_learning_rate_stops_with_one_line(tmp_path, capsys, stage, extra):
    argv = ["run", *TOY, f"nas.{stage}.trainer.optimizer.lr=1e6", *extra, "--expdir", str(tmp_path)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"descgraph: error: {stage}: "), err
    assert "epoch" in err and "training diverged" in err, err
    _assert_no_diverged_checkpoint(tmp_path / stage)
    assert not (tmp_path / "summary.json").exists()
    assert not (tmp_path / "search" / "final_model_desc.yaml").exists() if stage == "search" else True
    assert not (tmp_path / "eval" / "model.pt").exists()
    for line in (tmp_path / stage / "metrics.jsonl").read_text().splitlines():
        assert all(math.isfinite(v) for v in strict_json(line).values() if isinstance(v, float))


def test_a_bignas_sandwich_step_that_diverges_stops_the_search(tmp_path, capsys):
    argv = ["run", "bignas_toy", "nas.search.trainer.optimizer.lr=1e30", "--no-eval", "--expdir", str(tmp_path)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("descgraph: error: search: epoch 1/1, step "), err
    assert "the loss is not finite" in err and not (tmp_path / "final").exists()


def test_finalizers_refuse_nan_architecture_weights():
    md = load_conf("darts_digits", [f"nas.search.model_desc.{m}" for m in MACRO]).nas.search.model_desc
    model = Model(get_builder(md.builder).build(md), droppath=False)
    with torch.no_grad():
        next(model.arch_params())[0] = float("nan")
    with pytest.raises(DivergenceError) as err:
        get_finalizers("darts", 2).finalize_model(model)
    message = str(err.value)
    assert len(message.splitlines()) == 1 and "alphas: architecture weights are not finite" in message, message


RECORD = {"epoch": 0, "val_loss": float("nan"), "train_loss": float("inf"), "weights": [0.5, -float("inf")]}
AS_JSON = {"epoch": 0, "val_loss": None, "train_loss": None, "weights": [0.5, None]}


def test_metrics_and_trial_files_hold_null_for_non_finite_numbers(tmp_path):
    metrics = MetricsLog(tmp_path / "metrics.jsonl")
    metrics.append(RECORD)
    trials = TrialLog(tmp_path / "trials.jsonl")
    trials.append({"code": [1, 2], "result": 0.5, **RECORD})
    assert strict_json((tmp_path / "metrics.jsonl").read_text()) == AS_JSON
    assert strict_json((tmp_path / "trials.jsonl").read_text()) == {"code": [1, 2], "result": 0.5, **AS_JSON}
    metrics.rewrite([RECORD, RECORD])
    assert [strict_json(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()] == [AS_JSON, AS_JSON]
    assert strict_json(dump_data(RECORD, "json")) == AS_JSON


def test_summary_json_is_json_when_a_number_is_not_finite(tmp_path, capsys, monkeypatch):
    def evaluate(self, final_desc, loaders=None):
        return EvalResult(final_desc, {"test_top1": 10.0, "test_loss": float("nan")})

    monkeypatch.setattr(Evaluater, "evaluate", evaluate)
    assert main(["run", "random_digits", *TOY[1:], "--expdir", str(tmp_path), "--json"]) == 0
    summary = strict_json((tmp_path / "summary.json").read_text())
    assert summary["eval"]["test_loss"] is None and summary["eval"]["test_top1"] == 10.0
    assert strict_json(capsys.readouterr().out) == summary
