"""SIGTERM stops a command as cleanly as a Ctrl-C: it unwinds the program from where it is.

The signal raises `Terminated` in the main thread, so every `with` block and `finally` runs (a checkpoint
being written is dropped whole, the last one stays) and the command ends with one line and exit code 143
(128 + SIGTERM), as a Ctrl-C ends with 130. `Terminated` is no KeyboardInterrupt: what stops at a Ctrl-C
and goes on (a discrete search returning its best so far) does not catch it.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

TERMINATED_EXIT = 128 + signal.SIGTERM


class Terminated(BaseException):
    """Raised by SIGTERM inside `sigterm_unwinds`; like KeyboardInterrupt, no `except Exception` catches it."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated


@contextlib.contextmanager
def sigterm_unwinds() -> Iterator[None]:
    """While the block runs in the main thread, SIGTERM raises `Terminated`; the handler before comes back after."""
    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
