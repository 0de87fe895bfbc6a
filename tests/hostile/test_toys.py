"""Every bundled `*_toy` conf runs end to end on a fresh machine: no dataroot, no network, an empty home."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TOYS = sorted(p.stem for p in (REPO / "confs" / "algos").glob("*_toy.yaml"))

# no socket can be opened in the run: a dataset that wants the network fails instead of downloading
NO_NETWORK = """
import socket, sys, runpy
def refuse(*args, **kwargs):
    raise OSError("no network in this test")
socket.socket.connect = refuse
socket.create_connection = refuse
sys.argv = ["descgraph", *sys.argv[1:]]
runpy.run_module("descgraph.cli", run_name="__main__")
"""


def test_the_toys_are_there():
    assert {"darts_toy", "bignas_toy"} <= set(TOYS)


@pytest.mark.slow
@pytest.mark.parametrize("toy", TOYS)
def test_toy_runs_with_no_dataroot_and_no_network(tmp_path, toy):
    home, expdir = tmp_path / "home", tmp_path / "exp"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "OMP_NUM_THREADS": "1", "XDG_CACHE_HOME": str(home / ".cache")}
    out = subprocess.run(
        [sys.executable, "-c", NO_NETWORK, "run", toy, "--expdir", str(expdir), "--json"],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    summary = json.loads((expdir / "summary.json").read_text())
    assert summary == json.loads(out.stdout) and summary["algo"] == toy.removesuffix("_toy")
    assert {"search", "eval"} <= set(summary)
    assert not (home / "dataroot").exists()  # nothing was fetched into the default dataroot
