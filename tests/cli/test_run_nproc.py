"""`descgraph run --nproc N`: what it refuses before any rank starts (one line, exit 2, nothing written)."""

from __future__ import annotations

import os

from descgraph.cli import main


def test_more_ranks_than_cpus_is_one_line(tmp_path, capsys):
    cpus = len(os.sched_getaffinity(0))
    batch = f"nas.search.loader.train_batch={8 * (cpus + 1)}"  # a batch the ranks divide: the CPUs are the trouble
    code = main(
        ["run", "darts_digits", batch, "--no-eval", "--nproc", str(cpus + 1), "--expdir", str(tmp_path / "exp")]
    )
    err = capsys.readouterr().err
    assert code == 2 and len(err.splitlines()) == 1
    assert f"--nproc: {cpus + 1} ranks but this process may use {cpus} CPUs" in err
    assert not (tmp_path / "exp").exists()


def test_a_world_size_that_does_not_divide_the_batch_is_one_line(tmp_path, capsys):
    exp = tmp_path / "exp"
    exp.mkdir()
    (exp / "conf.yaml").write_text("kept\n")
    code = main(["run", "darts_digits", "nas.eval.loader.train_batch=63", "--nproc", "2", "--expdir", str(exp)])
    err = capsys.readouterr().err
    assert code == 2 and len(err.splitlines()) == 1
    assert "nas.eval.loader.train_batch: the global batch of 63 does not split into 2 equal shards" in err
    assert (exp / "conf.yaml").read_text() == "kept\n" and sorted(p.name for p in exp.iterdir()) == ["conf.yaml"]


def test_ranks_that_do_not_divide_the_shards_are_one_line(tmp_path, capsys):
    exp = tmp_path / "exp"
    code = main(["run", "darts_digits", "common.shards=3", "--nproc", "2", "--expdir", str(exp)])
    err = capsys.readouterr().err
    assert code == 2 and len(err.splitlines()) == 1
    assert "common.shards: 3 shards do not split into 2 equal blocks (one per rank)" in err
    assert not exp.exists()


def test_a_batch_that_does_not_split_into_the_shards_is_one_line(tmp_path, capsys):
    exp = tmp_path / "exp"
    code = main(["run", "darts_digits", "common.shards=4", "nas.search.loader.train_batch=66", "--expdir", str(exp)])
    err = capsys.readouterr().err
    assert code == 2 and len(err.splitlines()) == 1
    assert "nas.search.loader.train_batch: the global batch of 66 does not split into 4 equal shards" in err
    assert not exp.exists()
