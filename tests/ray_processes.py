"""Ray's processes on this machine, for tests that check a run leaves none behind."""

from __future__ import annotations

import time
from pathlib import Path


def ray_processes() -> set[int]:
    """The pids of Ray's processes on this machine (its GCS, raylets, workers)."""
    pids = set()
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if entry.name.isdigit() and (b"gcs_server" in cmdline or b"raylet" in cmdline or cmdline.startswith(b"ray::")):
            pids.add(int(entry.name))
    return pids


def assert_no_ray_left(before: set[int], wait_s: float = 30.0) -> None:
    """Every Ray process started since `before` ends within `wait_s`."""
    deadline = time.time() + wait_s
    while ray_processes() - before and time.time() < deadline:
        time.sleep(0.2)
    assert not ray_processes() - before, "Ray processes left behind"
