"""Shared fixtures: bundled confs and the DARTS networks of the papers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# DESCGRAPH_SHARED_DATA points elsewhere when the repository is not checked out beside shared/
SHARED_DATA = Path(os.environ.get("DESCGRAPH_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def confs_dir() -> Path:
    return REPO / "descgraph" / "confs"


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
