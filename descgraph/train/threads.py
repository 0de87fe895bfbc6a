"""How many torch threads a process uses: chosen from the CPUs it may run on, the processes sharing them
and the size of its work, so that a busy machine slows a run by its share and not by threads waiting
for each other.

Intra-op threads spin while they wait for each other; a small model gives each of them so little to do
that a second thread costs more than it brings, and on a machine whose cores are busy (another run, N
workers) every extra thread is one more waiting for a core. The rule: one thread per `MACS_PER_THREAD`
multiply-accumulates of a training step, at least one, at most this worker's share of the CPUs.
`common.threads` (any value above 0) overrides it.

This module imports torch only when it sets a count, so a launcher can plan its workers without it.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass

log = logging.getLogger("descgraph")

# A training step's forward multiply-accumulates (per sample x batch) that keep one thread busy enough
# to gain from a second one (BENCHMARKS.md, "Threads": the bundled confs measured at 1 and 2 threads).
MACS_PER_THREAD = 2_000_000_000


_cap: int | None = None  # set by a worker that was given a fixed share (a Ray actor): no stage goes above it


def cap_threads(threads: int | None) -> None:
    """Caps every later choice of this process at `threads` (None lifts the cap): a trial worker given its
    share of the machine keeps it whatever its stages train."""
    global _cap
    _cap = threads


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity mask; the machine's count where there is none)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows have no affinity mask
        return os.cpu_count() or 1


def local_workers() -> int:
    """Processes of this job on this machine: torchrun's LOCAL_WORLD_SIZE, else 1."""
    try:
        return max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    except ValueError:
        return 1


@dataclass(frozen=True)
class ThreadChoice:
    """A torch thread count and why it was chosen.

    Attributes:
        threads: the count.
        cpus: CPUs available to this process.
        workers: processes sharing those CPUs.
        reason: what decided the count, in words.
    """

    threads: int
    cpus: int
    workers: int
    reason: str

    def __str__(self) -> str:
        shared = f", shared by {self.workers} workers" if self.workers > 1 else ""
        cpus = f"{self.cpus} CPU{'s' if self.cpus != 1 else ''} available to this process{shared}"
        return f"torch threads: {self.threads} ({cpus}, {self.reason})"


def _work_reason(threads: int, work_size: float) -> str:
    size = f"{work_size / 1e6:,.1f} M MACs per step"
    per_thread = f"one thread per {MACS_PER_THREAD / 1e6:,.0f} M"
    return f"{'small' if threads == 1 else 'model'}: {size}, {per_thread}"


def choose_threads(
    requested: int = 0,
    work_size: float | None = None,
    workers_on_this_machine: int | None = None,
    cpus: int | None = None,
) -> ThreadChoice:
    """The thread count of one process, with its reason.

    Args:
        requested: an explicit count (`common.threads`); 0 lets the rule decide.
        work_size: forward multiply-accumulates of one training step (MACs per sample x batch); None when
            unknown, which gives the worker its whole share of the CPUs.
        workers_on_this_machine: processes sharing this machine's CPUs (torchrun ranks, Ray workers); None
            reads torchrun's LOCAL_WORLD_SIZE.
        cpus: CPUs available to this process; None reads its affinity mask.
    """
    cpus = cpus if cpus is not None else available_cpus()
    workers = workers_on_this_machine if workers_on_this_machine is not None else local_workers()
    if requested > 0:
        return ThreadChoice(requested, cpus, workers, "common.threads")
    share = max(1, cpus // max(1, workers))
    if _cap is not None:
        share = min(share, _cap)
    if work_size is None:
        return ThreadChoice(share, cpus, workers, "size of the work unknown: the whole share")
    threads = int(min(share, max(1, work_size // MACS_PER_THREAD)))
    return ThreadChoice(threads, cpus, workers, _work_reason(threads, work_size))


def default_threads(
    work_size: float | None = None, workers_on_this_machine: int | None = None, cpus: int | None = None
) -> int:
    """The rule's thread count (see `choose_threads`, whose arguments these are)."""
    return choose_threads(0, work_size, workers_on_this_machine, cpus).threads


def set_threads(choice: ThreadChoice | int) -> int:
    """Sets torch's intra-op thread count (logging a ThreadChoice); returns the count it replaced."""
    import torch

    previous = torch.get_num_threads()
    if isinstance(choice, ThreadChoice):
        log.info("%s", choice)
    torch.set_num_threads(int(choice if isinstance(choice, int) else choice.threads))
    return previous


@contextlib.contextmanager
def use_threads(choice: ThreadChoice | int) -> Iterator[int]:
    """Runs the block at this thread count and restores torch's count after it, however it ends.

    Yields:
        the count in use.
    """
    previous = set_threads(choice)
    try:
        yield int(choice if isinstance(choice, int) else choice.threads)
    finally:
        import torch

        torch.set_num_threads(previous)
