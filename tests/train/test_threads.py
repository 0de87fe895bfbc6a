"""The torch thread rule: counts from fake CPU sets, worker counts and work sizes; set and restored."""

from __future__ import annotations

import logging

import pytest
import torch

from descgraph.train import threads as th
from descgraph.train.threads import MACS_PER_THREAD, choose_threads, default_threads, use_threads


@pytest.mark.parametrize(
    ("cpus", "workers", "work", "expected"),
    [
        (2, 1, None, 2),  # size unknown: the whole machine
        (2, 2, None, 1),  # two workers: one CPU each
        (16, 3, None, 5),  # 16 // 3
        (2, 4, None, 1),  # more workers than CPUs: never 0
        (2, 1, MACS_PER_THREAD - 1, 1),  # below one thread's worth
        (2, 1, 2 * MACS_PER_THREAD, 2),
        (16, 1, 3.5 * MACS_PER_THREAD, 3),
        (16, 1, 100 * MACS_PER_THREAD, 16),  # capped by the CPUs
        (16, 4, 100 * MACS_PER_THREAD, 4),  # capped by this worker's share
        (1, 1, 100 * MACS_PER_THREAD, 1),
    ],
)
def test_rule_from_cpus_workers_and_work(cpus, workers, work, expected):
    assert default_threads(work, workers_on_this_machine=workers, cpus=cpus) == expected


def test_an_explicit_count_wins():
    choice = choose_threads(3, work_size=1.0, workers_on_this_machine=1, cpus=2)
    assert choice.threads == 3 and "common.threads" in str(choice)


def test_cpus_come_from_the_affinity_mask(monkeypatch):
    monkeypatch.setattr(th.os, "sched_getaffinity", lambda pid: {0, 5, 7}, raising=False)
    assert th.available_cpus() == 3 and default_threads(None, 1) == 3


def test_without_an_affinity_mask_the_cpu_count(monkeypatch):
    monkeypatch.delattr(th.os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(th.os, "cpu_count", lambda: 6)
    assert th.available_cpus() == 6


def test_torchrun_ranks_share_the_machine(monkeypatch):
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "4")
    assert default_threads(None, cpus=16) == 4
    assert default_threads(None, workers_on_this_machine=1, cpus=16) == 16


def test_the_choice_says_why():
    small = choose_threads(0, work_size=245e6, workers_on_this_machine=1, cpus=2)
    assert str(small) == (
        "torch threads: 1 (2 CPUs available to this process, small: 245.0 M MACs per step, one thread per "
        f"{MACS_PER_THREAD / 1e6:,.0f} M)"
    )
    shared = choose_threads(0, work_size=None, workers_on_this_machine=2, cpus=8)
    assert "8 CPUs available to this process, shared by 2 workers" in str(shared) and shared.threads == 4


def test_use_threads_sets_logs_and_restores(caplog):
    before = torch.get_num_threads()
    target = 1 if before != 1 else 2
    choice = choose_threads(target, cpus=2)
    with caplog.at_level(logging.INFO, logger="descgraph"), pytest.raises(RuntimeError), use_threads(choice) as n:
        assert n == target and torch.get_num_threads() == target
        raise RuntimeError("the block fails")
    assert torch.get_num_threads() == before
    assert f"torch threads: {target} (2 CPUs available to this process, common.threads)" in caplog.text


def test_a_stage_sets_and_logs_its_count(monkeypatch, caplog):
    from descgraph.builders import build_from_genotype
    from descgraph.conf import load_conf
    from descgraph.desc.genotype import parse_genotype
    from descgraph.nas._common import stage_model, stage_trainer
    from descgraph.train import Trainer

    monkeypatch.setattr(th, "available_cpus", lambda: 4)
    small = ["nas.search.model_desc.n_cells=3", "nas.search.model_desc.model_stems.init_node_ch=4"]
    conf = load_conf("darts_toy", small)  # a small network: the test is about the count, not the model
    final = build_from_genotype(parse_genotype("DARTS_V2"), conf.nas.search.model_desc)
    model = stage_model(conf, lambda: final, None)
    previous = torch.get_num_threads()
    try:
        torch.set_num_threads(3)
        with caplog.at_level(logging.INFO, logger="descgraph"):
            stage_trainer(conf, Trainer, conf.nas.search, model, "eval")
        assert (
            torch.get_num_threads() == 1
            and "torch threads: 1 (4 CPUs available to this process, small: " in caplog.text
        )
        stage_trainer(load_conf("darts_toy", [*small, "common.threads=2"]), Trainer, conf.nas.search, model, "eval")
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(previous)


@pytest.mark.slow
def test_a_run_logs_each_stage_choice_and_restores_the_count(tmp_path, monkeypatch):
    from descgraph.cli import main

    monkeypatch.setattr(th, "available_cpus", lambda: 8)  # the rule, not this machine, decides
    argv = ["run", "random_digits", "nas.search.trainer.epochs=1", "nas.eval.trainer.epochs=1", "dataset.max_batches=2"]
    argv += ["nas.eval.model_desc.n_cells=3", "nas.eval.model_desc.model_stems.init_node_ch=4"]
    previous = torch.get_num_threads()
    torch.set_num_threads(3)
    try:
        assert main([*argv, "--expdir", str(tmp_path)]) == 0
        assert torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(previous)
    lines = [line for line in (tmp_path / "log.txt").read_text().splitlines() if "torch threads:" in line]
    # random search trains only the eval network: a few M MACs per step, far below one thread's worth
    assert len(lines) == 1 and "torch threads: 1 (8 CPUs available to this process, small: " in lines[0]


def test_a_capped_worker_never_goes_above_its_share(monkeypatch):
    monkeypatch.setattr(th, "_cap", None)
    th.cap_threads(2)
    assert default_threads(100 * MACS_PER_THREAD, workers_on_this_machine=1, cpus=16) == 2
    th.cap_threads(None)
    assert default_threads(100 * MACS_PER_THREAD, workers_on_this_machine=1, cpus=16) == 16
