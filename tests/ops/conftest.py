"""Op tests run on tiny tensors, where handing work to a second thread costs more than the work."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    """Every op test runs on the `one_thread` of tests/conftest.py."""
