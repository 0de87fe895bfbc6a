"""Experiments end to end on the bundled digits: layout, summary, resume after SIGKILL, bad data input."""

from __future__ import annotations

import json
import logging
import pickle

import numpy as np
import pytest
import torch

from descgraph.cli import main
from descgraph.conf import confs_dir
from descgraph.desc import load_desc

CIFAR10 = str(confs_dir() / "datasets" / "cifar10.yaml")  # after darts_toy: its macros on CIFAR-10

TOY = [
    "darts_digits",
    "nas.search.model_desc.n_cells=3",
    "nas.search.model_desc.n_reductions=1",
    "nas.search.model_desc.model_stems.init_node_ch=4",
    "nas.search.model_desc.cell.n_nodes=2",
    "nas.search.trainer.epochs=2",
    "nas.eval.model_desc.n_cells=3",
    "nas.eval.model_desc.n_reductions=1",
    "nas.eval.model_desc.model_stems.init_node_ch=4",
    "nas.eval.trainer.epochs=2",
    "dataset.max_batches=3",
]


def test_darts_toy_run_writes_the_experiment_folder(tmp_path, capsys):
    assert main(["run", *TOY, "--expdir", str(tmp_path), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    for name in [
        "conf.yaml",
        "log.txt",
        "summary.json",
        "search/metrics.jsonl",
        "search/checkpoint.pt",
        "search/full_model_desc.yaml",
        "search/final_model_desc.yaml",
        "eval/full_model_desc.yaml",
        "eval/model.pt",
        "eval/metrics.jsonl",
        "eval/checkpoint.pt",
    ]:
        assert (tmp_path / name).exists(), name
    assert summary == json.loads((tmp_path / "summary.json").read_text())
    assert 0 <= summary["eval"]["test_top1"] <= 100 and summary["eval"]["params"] > 0
    final = load_desc(tmp_path / "search" / "final_model_desc.yaml")
    assert final.hash() == summary["search"]["final_desc_hash"]
    assert all(len(n.edges) == 2 and not n.edges[0].op_desc.children for c in final.cell_descs for n in c.nodes)
    assert len((tmp_path / "search" / "metrics.jsonl").read_text().splitlines()) == 2
    # the trained eval weights load safely into the model compiled from the saved eval description
    from descgraph.nn import Model

    model = Model(load_desc(tmp_path / "eval" / "full_model_desc.yaml"))
    model.load_state_dict(torch.load(tmp_path / "eval" / "model.pt", weights_only=True))


def test_no_search_evaluates_the_saved_final_desc(tmp_path):
    assert main(["run", *TOY, "--expdir", str(tmp_path), "--no-eval"]) == 0
    assert not (tmp_path / "eval").exists()
    assert main(["run", *TOY, "--expdir", str(tmp_path), "--no-search"]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert "eval" in summary and "search" not in summary


def test_no_search_without_a_search_is_an_error(tmp_path, capsys):
    assert main(["run", *TOY, "--expdir", str(tmp_path), "--no-search"]) == 2
    assert "run the search first" in capsys.readouterr().err


def test_random_toy_run(tmp_path):
    argv = ["random_digits", *TOY[1:], "--expdir", str(tmp_path)]
    assert main(["run", *argv]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["algo"] == "random" and not (tmp_path / "search" / "checkpoint.pt").exists()


def test_two_runs_in_one_process_each_log_into_their_own_folder_and_leave_nothing_behind(tmp_path):
    logger, threads = logging.getLogger("descgraph"), torch.get_num_threads()
    before = list(logger.handlers)
    argv = ["random_digits", *TOY[1:], "common.threads=1", "nas.search.trainer.epochs=1", "nas.eval.trainer.epochs=1"]
    assert main(["run", *argv, "--expdir", str(tmp_path / "a")]) == 0
    first_log = (tmp_path / "a" / "log.txt").read_text()
    assert first_log and logger.handlers == before and torch.get_num_threads() == threads
    assert main(["run", *argv, "--expdir", str(tmp_path / "b")]) == 0
    assert (tmp_path / "a" / "log.txt").read_text() == first_log  # the second run wrote only into b
    assert (tmp_path / "b" / "log.txt").read_text() and logger.handlers == before


def _write_cifar(folder, corrupt: bool = False) -> None:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        entry = {b"data": rng.integers(0, 256, (20, 3072), dtype=np.uint8), b"labels": list(rng.integers(0, 10, 20))}
        data = pickle.dumps(entry, protocol=2)
        (folder / name).write_bytes(data[: len(data) // 2] if corrupt and name == "data_batch_3" else data)


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("missing dataroot", "cifar-10-batches-py"),
        ("corrupt batch", "data_batch_3"),
        ("val_ratio", "val_ratio"),
        ("batch too large", "train_batch: 5000 is larger"),
        ("darts without val split", "nas.search.loader.val_ratio"),
    ],
)
def test_bad_data_input_exits_2_and_keeps_the_experiment(tmp_path, capsys, case, expected):
    expdir = tmp_path / "exp"
    expdir.mkdir()
    (expdir / "summary.json").write_text('{"kept": true}\n')
    (expdir / "conf.yaml").write_text("kept\n")
    root = tmp_path / "data"
    argv = ["run", "darts_toy", CIFAR10, f"dataset.dataroot={root}", "dataset.download=false", "--expdir", str(expdir)]
    if case == "corrupt batch":
        _write_cifar(root / "cifar-10-batches-py", corrupt=True)
    elif case == "val_ratio":
        argv.append("nas.search.loader.val_ratio=1.5")
    elif case == "batch too large":
        argv[1:3] = ["darts_digits", "nas.search.loader.train_batch=5000"]
    elif case == "darts without val split":
        argv[1:3] = ["darts_digits", "nas.search.loader.val_ratio=0"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and expected in err, err
    assert (expdir / "summary.json").read_text() == '{"kept": true}\n' and (
        expdir / "conf.yaml"
    ).read_text() == "kept\n"


def test_cifar_run_reads_real_format_batches(tmp_path):
    root = tmp_path / "data"
    _write_cifar(root / "cifar-10-batches-py")
    argv = [
        "run",
        "darts_toy",
        CIFAR10,
        f"dataset.dataroot={root}",
        "nas.search.loader.train_batch=8",
        "nas.eval.loader.train_batch=8",
        "--expdir",
        str(tmp_path / "exp"),
    ]
    assert main(argv) == 0


@pytest.mark.slow
def test_search_killed_mid_epoch_resumes_to_the_same_final_desc(killed_and_resumed):
    argv = ["run", *TOY, "nas.search.trainer.epochs=4", "dataset.max_batches=8", "--no-eval"]
    alone, killed = killed_and_resumed(
        argv, metrics="search/metrics.jsonl", unfinished="search/final_model_desc.yaml", settle_s=0.3
    )  # killed in the third epoch
    a = load_desc(alone / "search" / "final_model_desc.yaml")
    b = load_desc(killed / "search" / "final_model_desc.yaml")
    assert a.hash() == b.hash()

    def lines(d):
        return [
            {k: v for k, v in json.loads(x).items() if k != "time_s"}
            for x in (d / "search" / "metrics.jsonl").read_text().splitlines()
        ]

    assert lines(alone) == lines(killed)


def test_search_combinations_sweep_keeps_the_best(tmp_path):
    argv = [
        *TOY,
        "nas.search.trainer.epochs=1",
        "nas.search.combinations.cells=[2,3]",
        "nas.search.combinations.nodes=[1,2]",
        "--no-eval",
        "--expdir",
        str(tmp_path),
    ]
    assert main(["run", *argv]) == 0
    rows = [json.loads(x) for x in (tmp_path / "search" / "combinations.jsonl").read_text().splitlines()]
    assert [(r["cells"], r["nodes"]) for r in rows] == [(2, 1), (2, 2), (3, 1), (3, 2)]
    for r in rows:
        assert (tmp_path / "search" / f"r1_c{r['cells']}_n{r['nodes']}" / "checkpoint.pt").exists()
    best = max(rows, key=lambda r: r["val_top1"])
    final = load_desc(tmp_path / "search" / "final_model_desc.yaml")
    assert final.hash() == best["final_desc_hash"] and len(final.cell_descs) == best["cells"]
