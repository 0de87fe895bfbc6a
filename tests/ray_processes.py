"""Ray's processes started by this test run, for tests that check a run leaves none behind.

A Ray process inherits the environment of the process that started Ray, so this test run marks its own
environment (`MARK`) and counts only the Ray processes that carry the mark: another test run's Ray on the
same machine is not this run's leftover, and a killed driver's Ray keeps the mark after it is orphaned.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

MARK_NAME = "DESCGRAPH_TEST_RUN"
MARK = os.environ.setdefault(MARK_NAME, uuid.uuid4().hex)  # inherited by every process this run starts


def ray_processes() -> set[int]:
    """The pids of this test run's Ray processes (GCS, raylets, workers)."""
    pids = set()
    marker = f"{MARK_NAME}={MARK}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
            ray = b"gcs_server" in cmdline or b"raylet" in cmdline or cmdline.startswith(b"ray::")
            if ray and marker in (entry / "environ").read_bytes().split(b"\0"):
                pids.add(int(entry.name))
        except OSError:
            continue
    return pids


def assert_no_ray_left(before: set[int], wait_s: float = 30.0) -> None:
    """Every Ray process this run started since `before` ends within `wait_s`."""
    deadline = time.time() + wait_s
    while ray_processes() - before and time.time() < deadline:
        time.sleep(0.2)
    assert not ray_processes() - before, "Ray processes left behind"
