"""Shared fixtures: bundled confs and the DARTS networks of the papers."""

from __future__ import annotations

import faulthandler
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from ray_processes import assert_no_ray_left, ray_processes

REPO = Path(__file__).resolve().parents[1]
# DESCGRAPH_SHARED_DATA points elsewhere when the repository is not checked out beside shared/
SHARED_DATA = Path(os.environ.get("DESCGRAPH_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def confs_dir() -> Path:
    return REPO / "confs"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The third-party data folder beside the repository (NAS-Bench-201 tables, Archai files)."""
    if not SHARED_DATA.exists():
        pytest.skip(f"{SHARED_DATA} is not there")
    return SHARED_DATA


@pytest.fixture(scope="module")
def one_thread():
    """Torch on one thread, for modules of tiny networks, where a second thread costs more than it does."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _start_cli(argv: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "descgraph.cli", *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )


@pytest.fixture
def killed_and_resumed(tmp_path) -> Callable[..., tuple[Path, Path]]:
    """killed_and_resumed(argv, metrics, unfinished, settle_s=0, sig=SIGKILL, stopped_code=None) -> (alone, killed)
    experiment folders.

    Runs `descgraph <argv> --expdir tmp_path/alone` to the end. In tmp_path/killed, starts the same run,
    sends it `sig` once `killed/<metrics>` has two lines (and `settle_s` more seconds), checks that
    `killed/<unfinished>` was not written yet (and, given `stopped_code`, that the run ended with that code
    and one line on stderr), and runs it again to the end.
    """

    def run(
        argv: list[str],
        metrics: str,
        unfinished: str,
        settle_s: float = 0.0,
        sig: int = signal.SIGKILL,
        stopped_code: int | None = None,
    ) -> tuple[Path, Path]:
        alone, killed = tmp_path / "alone", tmp_path / "killed"
        assert _start_cli([*argv, "--expdir", str(alone)]).wait() == 0
        proc = _start_cli([*argv, "--expdir", str(killed)])
        lines = killed / metrics
        deadline = time.time() + 120
        while time.time() < deadline and (not lines.exists() or len(lines.read_text().splitlines()) < 2):
            time.sleep(0.05)
        time.sleep(settle_s)
        proc.send_signal(sig)
        err = proc.communicate()[1].decode().strip()
        assert not (killed / unfinished).exists(), "the run ended before it was killed"
        if stopped_code is not None:
            assert proc.returncode == stopped_code and len(err.splitlines()) == 1, (proc.returncode, err)
        assert _start_cli([*argv, "--expdir", str(killed)]).wait() == 0
        return alone, killed

    return run


@pytest.fixture(scope="module")
def module_time_limit():
    """The test module ends within 15 minutes, or the test process does (with every thread's traceback):
    a hung Ray or subprocess fails the run instead of holding it."""
    faulthandler.dump_traceback_later(900, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.fixture(scope="module")
def ray_session(module_time_limit):
    """A local Ray of two CPUs shared by a test module, shut down after it, leaving no process behind."""
    import logging

    import ray

    before = ray_processes()
    ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()
        assert_no_ray_left(before)
