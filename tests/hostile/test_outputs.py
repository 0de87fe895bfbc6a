"""Outputs never destroy what the user has: devices, links, folders, the command's own inputs, modes, debris."""

from __future__ import annotations

import csv
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from descgraph._files import atomic_write_text
from descgraph.cli import main
from descgraph.conf import load_conf, resolve_conf_path
from descgraph.hw.lut import LatencyTable, save_table
from descgraph.hw.lut_space import get_lut_space

GENOTYPE = ["genotype", "DARTS_V2"]


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("descgraph: error: "), err
    return err


@pytest.fixture(scope="module")
def darts_v2_yaml(tmp_path_factory) -> str:
    """What `genotype DARTS_V2 -o` writes into a regular file."""
    path = tmp_path_factory.mktemp("reference") / "final.yaml"
    assert main([*GENOTYPE, "-o", str(path)]) == 0
    return path.read_text()


def _read_fifo_after(fifo: Path, argv: list[str]) -> bytes:
    """Run `descgraph argv` while a reader holds `fifo` open (it fits the pipe's buffer); what came through."""
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        assert main(argv) == 0
        chunks = []
        while chunk := _read_some(fd):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _read_some(fd: int) -> bytes:
    try:
        return os.read(fd, 1 << 16)
    except BlockingIOError:  # nothing was written into the FIFO
        return b""


@pytest.mark.parametrize("through_link", [False, True], ids=["fifo", "symlink to a fifo"])
def test_a_fifo_output_is_written_into_and_stays_a_fifo(through_link, tmp_path, darts_v2_yaml, capsys):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    target = fifo
    if through_link:
        target = tmp_path / "link.yaml"
        target.symlink_to(fifo.name)
    received = _read_fifo_after(fifo, [*GENOTYPE, "-o", str(target)])
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert target.is_symlink() == through_link
    assert received.decode() == darts_v2_yaml
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted({"pipe", target.name})  # no temp left


def test_a_link_to_a_pipe_as_dev_stdout_is_written_through(tmp_path, darts_v2_yaml):
    read_end, write_end = os.pipe()
    (tmp_path / "stdout").symlink_to(f"/proc/self/fd/{write_end}")  # what /dev/stdout is when piped
    try:
        assert main([*GENOTYPE, "-o", str(tmp_path / "stdout")]) == 0
        os.close(write_end)
        received = b"".join(iter(lambda: os.read(read_end, 1 << 16), b""))
    finally:
        os.close(read_end)
    assert received.decode() == darts_v2_yaml
    assert [p.name for p in tmp_path.iterdir()] == ["stdout"] and (tmp_path / "stdout").is_symlink()


def test_an_output_symlink_stays_a_link_and_its_target_gets_the_file(tmp_path, darts_v2_yaml):
    (tmp_path / "real.yaml").write_text("mine\n")
    (tmp_path / "link.yaml").symlink_to("real.yaml")
    (tmp_path / "dangling.yaml").symlink_to("sub/new.yaml")
    assert main([*GENOTYPE, "-o", str(tmp_path / "link.yaml")]) == 0
    assert main([*GENOTYPE, "-o", str(tmp_path / "dangling.yaml")]) == 0
    assert (tmp_path / "link.yaml").is_symlink() and (tmp_path / "dangling.yaml").is_symlink()
    assert (tmp_path / "real.yaml").read_text() == darts_v2_yaml
    assert (tmp_path / "sub" / "new.yaml").read_text() == darts_v2_yaml


def test_an_output_folder_is_one_line_and_left_alone(tmp_path, capsys):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine\n")
    assert main([*GENOTYPE, "-o", str(tmp_path / "out")]) == 2
    assert f"{tmp_path / 'out'}: is a folder" in one_line_error(capsys)
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    assert (tmp_path / "out" / "keep.txt").read_text() == "mine\n"


# --- an output that is an input of the same command ----------------------------------------------------------
def _nb201_table(shared_data: Path, tmp: Path) -> Path:
    with (shared_data / "nb201" / "accuracy.csv").open(newline="") as f:
        rows = list(csv.reader(f))[:6]
    path = tmp / "acc.csv"
    with path.open("w", newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def _desc(tmp: Path) -> Path:
    assert main([*GENOTYPE, "-o", str(tmp / "desc.yaml")]) == 0
    return tmp / "desc.yaml"


def _conf(tmp: Path) -> Path:
    (tmp / "conf.yaml").write_text(f"__include__: {resolve_conf_path('darts_toy')}\n")
    return tmp / "conf.yaml"


def _hard_link(tmp: Path) -> Path:
    os.link(_conf(tmp), tmp / "same.yaml")
    return tmp / "conf.yaml"


# each case: (make the input in tmp -> it, argv with {in} for it and {out} for the output, the output)
SAME = {
    "bench --metrics onto --table": (
        "table",
        ["bench", "nb201", "--table", "{in}", "--seeds", "1", "--budget", "2", "--metrics", "{in}"],
    ),
    "bench --plot onto --table": ("table", ["bench", "nb201", "--table", "{in}", "--seeds", "1", "--plot", "{in}"]),
    "run CONF --expdir DIR with CONF = DIR/conf.yaml": ("conf", ["run", "{in}", "--expdir", "{dir}"]),
    "genotype -o its --conf": ("conf", [*GENOTYPE, "--conf", "{in}", "-o", "{in}"]),
    "genotype -o a hard link of its --conf": ("hardlink", [*GENOTYPE, "--conf", "{in}", "-o", "{dir}/same.yaml"]),
    "build -o its conf": ("conf", ["build", "{in}", "-o", "{in}"]),
    "build -o its template": ("desc", ["build", "darts", "--stage", "eval", "--template", "{in}", "-o", "{in}"]),
    "export -o its desc": ("desc", ["export", "{in}", "-o", "{in}"]),
    "child -o its supernet": ("desc", ["child", "{in}", "{dir}/config.yaml", "-o", "{in}"]),
    "import archai -o its file": ("desc", ["import", "archai", "{in}", "-o", "{in}"]),
    "import nni -o its file": ("desc", ["import", "nni", "{in}", "-o", "{in}"]),
    "lut build -o its conf": ("conf", ["lut", "build", "{in}", "-o", "{in}"]),
    "plot -o its desc": ("desc", ["plot", "{in}", "-o", "{in}"]),
}


@pytest.mark.parametrize("case", list(SAME))
def test_an_output_that_is_an_input_is_one_line_and_the_input_is_kept(case, shared_data, tmp_path, capsys):
    kind, argv = SAME[case]
    make = {"table": lambda t: _nb201_table(shared_data, t), "desc": _desc, "conf": _conf, "hardlink": _hard_link}
    given = make[kind](tmp_path)
    before = given.read_bytes()
    capsys.readouterr()
    argv = [a.replace("{in}", str(given)).replace("{dir}", str(tmp_path)) for a in argv]
    assert main(argv) == 2
    err = one_line_error(capsys)
    assert "is also an input of this command" in err
    assert ("give another --expdir" in err) == (argv[0] == "run")
    assert given.read_bytes() == before


# --- lut build onto a table of other settings -----------------------------------------------------------------
TOY = ["darts_toy", "nas.eval.model_desc.n_cells=3", "nas.eval.model_desc.n_reductions=1"]


@pytest.mark.parametrize(
    "made_for, named",
    [({"space": "nb201 at cifar10"}, "space 'nb201 at cifar10'"), ({"threads": 2}, "threads 2 (this build: 1)")],
)
def test_lut_build_onto_a_table_of_other_settings_is_refused(made_for, named, tmp_path, capsys):
    space = get_lut_space(load_conf([resolve_conf_path(TOY[0])], TOY[1:])).name()
    table = tmp_path / "lut.yaml"
    save_table(LatencyTable(**{"space": space, "run_overhead_ms": 0.01, **made_for}), table)
    before = table.read_bytes()
    assert main(["lut", "build", *TOY, "-o", str(table), "--runs", "2"]) == 2
    err = one_line_error(capsys)
    assert named in err and "--fresh" in err and str(table) in err
    assert table.read_bytes() == before


# --- modes and debris -------------------------------------------------------------------------------------
@pytest.fixture
def umask():
    """Set the process umask for one test."""
    old = os.umask(0o022)
    yield os.umask
    os.umask(old)


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_a_new_file_gets_the_mode_the_umask_gives(mask, mode, umask, tmp_path):
    umask(mask)
    assert main([*GENOTYPE, "-o", str(tmp_path / "final.yaml")]) == 0
    assert stat.S_IMODE(os.stat(tmp_path / "final.yaml").st_mode) == mode


def test_a_replaced_file_keeps_its_mode(umask, tmp_path):
    path = tmp_path / "summary.json"
    path.write_text("{}\n")
    path.chmod(0o640)
    atomic_write_text(path, '{"top1": 99}\n')
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640 and path.read_text() == '{"top1": 99}\n'


KILLED_WRITE = """
import os, signal, sys
from descgraph._files import atomic_open
with atomic_open(sys.argv[1], "wb") as f:
    f.write(b"half a checkpoint")
    f.flush()
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_temporaries_of_a_killed_write_are_removed_by_the_next_write(tmp_path):
    target = tmp_path / "checkpoint.pt"
    killed = subprocess.run([sys.executable, "-c", KILLED_WRITE, str(target)], env={**os.environ})
    assert killed.returncode == -signal.SIGKILL
    debris = [p.name for p in tmp_path.iterdir()]
    assert len(debris) == 1 and debris[0].startswith(".checkpoint.pt.") and debris[0].endswith(".tmp")
    older = tmp_path / ".checkpoint.pt.k3x_9q2a.tmp"  # as descgraph named them before pids were in the name
    older.write_bytes(b"older debris")
    alive = subprocess.Popen(["sleep", "60"])
    in_flight = tmp_path / f".checkpoint.pt.{alive.pid}-abcd1234.tmp"
    in_flight.write_bytes(b"another process is writing this")
    theirs = [tmp_path / ".notes.txt.abcd1234.tmp", tmp_path / "checkpoint.pt.abcd1234.tmp", tmp_path / "x.tmp"]
    for path in theirs:
        path.write_text("not ours to remove\n")
    try:
        atomic_write_text(target, "whole\n")
    finally:
        alive.kill()
        alive.wait()
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(["checkpoint.pt", in_flight.name, *(p.name for p in theirs)])
    assert target.read_text() == "whole\n"
