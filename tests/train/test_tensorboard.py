"""common.tensorboard: metrics records mirrored as TensorBoard scalars when tensorboard is installed, else nothing."""

from __future__ import annotations

import sys

import pytest

from descgraph.conf import load_conf, resolve_conf_path
from descgraph.train import MetricsLog

RECORDS = [{"title": "search", "epoch": e, "train_loss": 2.0 - e / 2, "val_top1": 40.0 + 10 * e} for e in range(3)]


def test_metrics_go_to_event_files_that_tensorboard_reads_back(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    log = MetricsLog(tmp_path / "search" / "metrics.jsonl", tensorboard=True)
    for record in RECORDS:
        log.append(record)
    events = EventAccumulator(str(tmp_path / "search" / "tensorboard"))
    events.Reload()
    assert sorted(events.Tags()["scalars"]) == ["search/train_loss", "search/val_top1"]
    for key in ("train_loss", "val_top1"):
        scalars = events.Scalars(f"search/{key}")
        assert [(s.step, s.value) for s in scalars] == [(r["epoch"], pytest.approx(r[key])) for r in RECORDS]


def test_without_tensorboard_only_the_jsonl_is_written(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails as when it is not installed
    log = MetricsLog(tmp_path / "metrics.jsonl", tensorboard=True)
    log.append(RECORDS[0])
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.jsonl"]


def test_the_conf_key_is_off_unless_set():
    assert load_conf([resolve_conf_path("darts_digits")]).common.tensorboard is False
    assert load_conf([resolve_conf_path("darts_digits")], ["common.tensorboard=true"]).common.tensorboard is True
