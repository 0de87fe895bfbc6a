"""`torchrun ... -m descgraph run` on 2 gloo ranks writes what one process writes, and rank 0 alone writes it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from descgraph.cli import main

TOY = [
    "darts_digits_shards",
    "nas.search.model_desc.n_cells=3",
    "nas.search.model_desc.n_reductions=1",
    "nas.search.model_desc.model_stems.init_node_ch=4",
    "nas.search.model_desc.cell.n_nodes=2",
    "nas.search.trainer.epochs=2",
    "nas.eval.model_desc.n_cells=3",
    "nas.eval.model_desc.n_reductions=1",
    "nas.eval.model_desc.model_stems.init_node_ch=4",
    "nas.eval.trainer.epochs=2",
    "dataset.max_batches=2",
]


def torchrun(argv: list[str], timeout_s: float = 600) -> subprocess.CompletedProcess:
    """`torchrun --standalone --nproc_per_node=2 -m descgraph ARGV` in a process group of its own, killed whole
    when it ends or times out."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "descgraph"]
    proc = subprocess.Popen(
        [*cmd, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )  # fmt: skip
    try:
        out, err = proc.communicate(timeout=timeout_s)
    finally:
        with_group_killed(proc)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def children(pid: int) -> list[int]:
    """The processes `pid` started (torchrun's agent starts its ranks in sessions of their own)."""
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(p) for p in found]


def with_group_killed(proc: subprocess.Popen) -> None:
    """SIGKILL whatever is left: the agent's ranks, then the process group."""
    for pid in children(proc.pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def files(expdir: Path) -> list[str]:
    return sorted(str(p.relative_to(expdir)) for p in expdir.rglob("*") if p.is_file())


@pytest.mark.slow
def test_two_ranks_write_the_one_process_experiment(tmp_path):
    alone, ranks = tmp_path / "alone", tmp_path / "ranks"
    assert main(["run", *TOY, "--expdir", str(alone), "--json"]) == 0
    done = torchrun(["run", *TOY, "--expdir", str(ranks), "--json"])
    assert done.returncode == 0, done.stderr[-2000:]
    printed = json.loads(done.stdout)  # one summary: rank 0 alone prints
    assert files(ranks) == files(alone)  # no temp file left, nothing written twice under another name
    summary, one = json.loads((ranks / "summary.json").read_text()), json.loads((alone / "summary.json").read_text())
    assert printed == summary
    assert summary["search"]["final_desc_hash"] == one["search"]["final_desc_hash"]
    assert summary["eval"]["desc_hash"] == one["eval"]["desc_hash"]
    for stage in ("search", "eval"):
        ours = [json.loads(x) for x in (ranks / stage / "metrics.jsonl").read_text().splitlines()]
        theirs = [json.loads(x) for x in (alone / stage / "metrics.jsonl").read_text().splitlines()]
        assert len(ours) == len(theirs) == 2  # one line per epoch: two ranks never append to the same file
        assert [r["train_n"] for r in ours] == [r["train_n"] for r in theirs] == [128, 128]
    assert len((ranks / "search" / "alphas.jsonl").read_text().splitlines()) == 2
    weights = torch.load(ranks / "eval" / "model.pt", weights_only=True)
    for name, value in torch.load(alone / "eval" / "model.pt", weights_only=True).items():
        assert torch.equal(weights[name], value), name  # 2 shards: the same sums, bit for bit


def checkpoint(expdir: Path, stage: str) -> dict:
    return torch.load(expdir / stage / "checkpoint.pt", weights_only=True)


@pytest.mark.slow
def test_the_acceptance_search_on_two_ranks_is_the_one_process_search(tmp_path):
    """Issue 12's command on darts_digits_shards (darts_digits in 2 shards) for 2 epochs of 6 batches, on one
    process and on 2 ranks."""
    argv = ["run", "darts_digits_shards", "nas.search.trainer.epochs=2", "dataset.max_batches=6", "--no-eval", "--json"]
    alone, ranks = tmp_path / "alone", tmp_path / "ranks"
    assert main([*argv, "--expdir", str(alone)]) == 0
    done = torchrun([*argv, "--expdir", str(ranks)])
    assert done.returncode == 0, done.stderr[-2000:]
    summary, one = (json.loads((d / "summary.json").read_text()) for d in (ranks, alone))
    assert summary["search"]["final_desc_hash"] == one["search"]["final_desc_hash"]
    ours, theirs = checkpoint(ranks, "search"), checkpoint(alone, "search")
    assert (ours["world_size"], ours["shards"], theirs["world_size"], theirs["shards"]) == (2, 2, 1, 2)
    for name, value in theirs["model"].items():
        torch.testing.assert_close(ours["model"][name], value, atol=1e-5, rtol=0, msg=name)
        assert torch.equal(ours["model"][name], value), name  # not only close: the same bits


@pytest.mark.slow
def test_a_world_size_that_does_not_divide_the_batch_stops_every_rank(tmp_path):
    done = torchrun(["run", *TOY, "nas.search.loader.train_batch=63", "--expdir", str(tmp_path / "exp")], 300)
    assert done.returncode != 0
    lines = [x for x in done.stderr.splitlines() if x.startswith("descgraph: error:")]
    message = "nas.search.loader.train_batch: the global batch of 63 does not split into 2 equal shards (common.shards)"
    assert lines == [f"descgraph: error: {message}"] * 2
    assert not (tmp_path / "exp").exists()


@pytest.mark.slow
@pytest.mark.parametrize("victim", ["one rank", "the whole group"])
def test_a_killed_run_resumes_to_the_uninterrupted_result(victim, tmp_path):
    """kill -9 after the first epoch's checkpoint, of one rank (the run stops with one line naming the rank)
    or of the torchrun agent and its ranks together; then the same command again resumes from that checkpoint
    and ends with the description and weights of an uninterrupted run (darts_digits_shards has 2 shards, so one
    process is that run, bit for bit)."""
    exp, alone = tmp_path / "exp", tmp_path / "alone"
    conf = [*TOY, "nas.search.trainer.epochs=3", "--no-eval", "nas.search.trainer.checkpoint_freq=1"]
    argv = [sys.executable, "-m", "descgraph", "run", *conf, "--nproc", "2", "--expdir", str(exp)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True, start_new_session=True, env=env)
    try:
        metrics, deadline = exp / "search" / "metrics.jsonl", time.monotonic() + 400
        # the checkpoint, not the metrics line: an epoch's line is written just before its checkpoint (atomic)
        while time.monotonic() < deadline and not (exp / "search" / "checkpoint.pt").exists():
            time.sleep(0.2)
        ranks = children(proc.pid)
        assert len(ranks) == 2, ranks
        if victim == "one rank":
            os.kill(ranks[-1], signal.SIGKILL)
            _, err = proc.communicate(timeout=300)
            assert proc.returncode != 0
            assert "descgraph: error: rank" in err
    finally:
        with_group_killed(proc)
    assert metrics.read_text().count("\n") < 3
    resumed = subprocess.run(argv, capture_output=True, text=True, timeout=600, env=env)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "resumed from" in (exp / "log.txt").read_text()
    assert metrics.read_text().count("\n") == 3
    assert main(["run", *conf, "--expdir", str(alone)]) == 0
    summary, one = (json.loads((d / "summary.json").read_text()) for d in (exp, alone))
    assert summary["search"]["final_desc_hash"] == one["search"]["final_desc_hash"]
    ours, theirs = checkpoint(exp, "search"), checkpoint(alone, "search")
    for name, value in theirs["model"].items():
        assert torch.equal(ours["model"][name], value), name


def trials(expdir: Path) -> list[tuple]:
    """The codes and results of search/trials.jsonl (not the timings)."""
    lines = (expdir / "search" / "trials.jsonl").read_text().splitlines()
    return [(r["code"], r["result"]) for r in map(json.loads, lines)]


@pytest.mark.slow
def test_bignas_on_two_ranks_trains_and_picks_as_one_process(tmp_path):
    """Sandwich training, BN recalibration and the judging of children in 2 shards at one thread each (a sum
    over two threads may round otherwise than over one): the same weights, trials and picks, bit for bit."""
    argv = ["run", "bignas_toy", "common.shards=2", "common.threads=1", "--no-eval", "--json"]
    alone, ranks = tmp_path / "alone", tmp_path / "ranks"
    assert main([*argv, "--expdir", str(alone)]) == 0
    done = torchrun([*argv, "--expdir", str(ranks)])
    assert done.returncode == 0, done.stderr[-2000:]
    ours, theirs = checkpoint(ranks, "search"), checkpoint(alone, "search")
    for name, value in theirs["model"].items():
        assert torch.equal(ours["model"][name], value), name
    assert trials(ranks) == trials(alone) and len(trials(alone)) == 12
    assert files(ranks) == files(alone)
    for device in ("edge", "phone", "mcu_tiny"):
        desc = Path("final", device, "model_desc.yaml")
        assert (ranks / desc).read_text() == (alone / desc).read_text(), device
    assert (ranks / "search" / "metrics.jsonl").read_text().count("\n") == 1  # rank 0 alone appends


@pytest.mark.slow
def test_a_search_begun_on_two_ranks_resumes_in_one_process_with_the_same_result(tmp_path):
    """The same shards on another world size is the same experiment: kill -9 of the whole torchrun group after
    the first epoch's checkpoint, then the same conf in one process finishes it as an uninterrupted run would."""
    argv = ["run", *TOY, "--no-eval", "nas.search.trainer.checkpoint_freq=1", "--json"]
    alone, ranks = tmp_path / "alone", tmp_path / "ranks"
    assert main([*argv, "--expdir", str(alone)]) == 0
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "descgraph"]
    proc = subprocess.Popen([*cmd, *argv, "--expdir", str(ranks)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})  # fmt: skip
    try:
        deadline = time.monotonic() + 400
        while time.monotonic() < deadline and not (ranks / "search" / "checkpoint.pt").exists():
            time.sleep(0.2)
    finally:
        with_group_killed(proc)
    begun = checkpoint(ranks, "search")
    assert (begun["world_size"], begun["epoch"]) == (2, 1)
    assert main([*argv, "--expdir", str(ranks)]) == 0
    assert "written by 2 ranks, resumed on 1; 2 shards" in (ranks / "log.txt").read_text()
    summary, one = (json.loads((d / "summary.json").read_text()) for d in (ranks, alone))
    assert summary["search"]["final_desc_hash"] == one["search"]["final_desc_hash"]
    ours, theirs = checkpoint(ranks, "search"), checkpoint(alone, "search")
    for name, value in theirs["model"].items():
        assert torch.equal(ours["model"][name], value), name
