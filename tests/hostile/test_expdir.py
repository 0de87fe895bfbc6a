"""An experiment folder belongs to one experiment: another conf is refused before anything in the folder is
touched, a second run at once is refused by the lock, and SIGTERM stops a run that then resumes exactly."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from descgraph.cli import main
from descgraph.conf import conf_hash, load_conf
from descgraph.desc import load_desc
from descgraph.nas.expdir import recorded_hash

TOY = [
    "darts_digits",
    "nas.search.model_desc.n_cells=3",
    "nas.search.model_desc.n_reductions=1",
    "nas.search.model_desc.model_stems.init_node_ch=4",
    "nas.search.model_desc.cell.n_nodes=2",
    "nas.search.trainer.epochs=1",
    "nas.eval.model_desc.n_cells=3",
    "nas.eval.model_desc.n_reductions=1",
    "nas.eval.model_desc.model_stems.init_node_ch=4",
    "nas.eval.trainer.epochs=1",
    "dataset.max_batches=2",
    "common.threads=1",
]


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under `folder` (hidden ones too): its bytes and its modification time in nanoseconds."""
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()
    }


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """The experiment folder of TOY's finished search (seed 2, 3 search cells)."""
    expdir = tmp_path_factory.mktemp("finished") / "exp"
    assert main(["run", *TOY, "--no-eval", "--expdir", str(expdir)]) == 0
    return expdir


@pytest.fixture
def copy_of(finished, tmp_path) -> Path:
    expdir = tmp_path / "exp"
    shutil.copytree(finished, expdir)
    return expdir


def test_the_folder_records_the_hash_of_its_conf(copy_of):
    expected = conf_hash(load_conf(TOY[0], TOY[1:]))
    assert (copy_of / "conf_hash.txt").read_text().strip() == expected
    (copy_of / "conf_hash.txt").unlink()
    assert recorded_hash(copy_of) == expected  # a folder from before conf_hash.txt: its conf.yaml gives the hash


@pytest.mark.parametrize(
    ("override", "key", "old", "new"),
    [
        ("common.seed=8", "common.seed", "2", "8"),
        ("nas.search.model_desc.n_cells=4", "nas.search.model_desc.n_cells", "3", "4"),
        ("nas.search.loader.val_ratio=0.25", "nas.search.loader.val_ratio", "0.5", "0.25"),
    ],
)
@pytest.mark.parametrize("hash_file", [True, False], ids=["hash file", "conf.yaml only"])
def test_resuming_another_conf_is_refused_before_anything_is_touched(
    copy_of, capsys, override, key, old, new, hash_file
):
    if not hash_file:  # a folder written before conf_hash.txt existed: its conf.yaml stands in
        (copy_of / "conf_hash.txt").unlink()
    before = snapshot(copy_of)
    assert main(["run", *TOY, override, "--no-eval", "--expdir", str(copy_of)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert f"{copy_of / 'conf.yaml'}: {key}: this folder's experiment has {old}, this run {new}" in err, err
    assert "common.resume=false" in err and "--expdir" in err
    assert snapshot(copy_of) == before


def test_the_way_out_starts_over_and_records_the_new_conf(copy_of, capsys):
    argv = ["run", *TOY, "common.seed=8", "common.resume=false", "--no-eval", "--expdir", str(copy_of), "--json"]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["seed"] == 8 == json.loads((copy_of / "summary.json").read_text())["seed"]
    assert (copy_of / "conf_hash.txt").read_text().strip() == conf_hash(load_conf(TOY[0], [*TOY[1:], "common.seed=8"]))


def test_settings_that_do_not_change_the_result_resume(copy_of):
    final = (copy_of / "search" / "final_model_desc.yaml").read_bytes()
    argv = ["run", *TOY, "common.threads=2", "common.tensorboard=true", "nas.search.trainer.checkpoint_freq=5"]
    assert main([*argv, "--no-eval", "--expdir", str(copy_of)]) == 0
    assert (copy_of / "search" / "final_model_desc.yaml").read_bytes() == final
    assert len((copy_of / "search" / "metrics.jsonl").read_text().splitlines()) == 1  # resumed, not retrained


def test_a_second_run_on_a_folder_in_use_is_refused(tmp_path, capsys):
    expdir = tmp_path / "exp"
    expdir.mkdir()
    holder = subprocess.Popen(  # another process holding the folder's lock, as a running `descgraph run` does
        [sys.executable, "-c", HOLD_LOCK, str(expdir / ".lock")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        assert main(["run", *TOY, "--expdir", str(expdir)]) == 2
    finally:
        holder.kill()
        holder.wait()
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"{expdir}: another run is using this folder" in err, err
    assert not (expdir / "search").exists() and not (expdir / "conf.yaml").exists()


HOLD_LOCK = "import sys, time, filelock; lock = filelock.FileLock(sys.argv[1]); lock.acquire(); print('held', flush=True); time.sleep(120)"  # noqa: E501


@pytest.mark.slow
def test_sigterm_stops_with_one_line_and_the_run_resumes_to_the_same_result(killed_and_resumed):
    argv = ["run", *TOY, "nas.search.trainer.epochs=4", "dataset.max_batches=8", "--no-eval"]
    alone, stopped = killed_and_resumed(
        argv,
        metrics="search/metrics.jsonl",
        unfinished="search/final_model_desc.yaml",
        settle_s=0.3,
        sig=signal.SIGTERM,
        stopped_code=143,
    )  # stopped in the third epoch
    assert (
        load_desc(alone / "search" / "final_model_desc.yaml").hash()
        == load_desc(stopped / "search" / "final_model_desc.yaml").hash()
    )

    def lines(d):
        return [
            {k: v for k, v in json.loads(x).items() if k != "time_s"}
            for x in (d / "search" / "metrics.jsonl").read_text().splitlines()
        ]

    assert lines(alone) == lines(stopped) and len(lines(alone)) == 4


@pytest.mark.parametrize("resume", ["true", "false"])
def test_a_folder_descgraph_did_not_make_is_refused_and_left_as_it_was(tmp_path, capsys, resume):
    user = tmp_path / "mine"
    user.mkdir()
    (user / "report.html").write_text("<html>my own report</html>\n")
    (user / "summary.json").write_text('{"mine": 1}\n')
    before = snapshot(user)
    argv = ["run", *TOY, f"common.resume={resume}", "--no-eval", "--expdir", str(user)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.endswith(f"{user}: not an experiment folder (it holds report.html, summary.json, and no conf_hash.txt); "
                        "give an empty or new --expdir")  # fmt: skip
    assert snapshot(user) == before and sorted(p.name for p in user.iterdir()) == ["report.html", "summary.json"]


def test_an_empty_folder_and_descgraphs_own_folder_are_taken(copy_of, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["run", *TOY, "--no-eval", "--expdir", str(empty)]) == 0
    assert (empty / "conf_hash.txt").exists()
    assert main(["run", *TOY, "--no-eval", "--expdir", str(copy_of)]) == 0  # a finished run's folder: resumed
