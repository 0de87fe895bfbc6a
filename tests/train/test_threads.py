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
