"""`descgraph run --nproc N`: torchrun's elastic agent on this machine, starting N ranks of the same run."""

from __future__ import annotations

import os
import sys

from descgraph.errors import DistributedError


def available_cpus() -> int:
    """The CPUs this process may use."""
    return len(os.sched_getaffinity(0))


def check_nproc(nproc: int) -> None:
    """More ranks than CPUs would only make each one wait on the others.

    Raises:
        DistributedError: one line, when `nproc` exceeds the CPUs this process may use.
    """
    cpus = available_cpus()
    if nproc > cpus:
        raise DistributedError(f"--nproc: {nproc} ranks but this process may use {cpus} CPUs; give at most {cpus}")


def launch(nproc: int, run_args: list[str]) -> int:
    """Run `python -m descgraph run RUN_ARGS` as `nproc` ranks under torchrun's agent (standalone rendezvous).

    Returns:
        0 when every rank succeeds, else the exit code of the first rank that failed (its message is above).
    """
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import get_args_parser, run

    args = get_args_parser().parse_args(
        ["--standalone", f"--nproc-per-node={nproc}", "--max-restarts=0", "-m", "descgraph", "run", *run_args]
    )
    try:
        run(args)
    except ChildFailedError as e:
        rank, failure = e.get_first_failure()
        code = failure.exitcode
        if code == 2:  # the rank printed its one-line error
            return 2
        reason = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
        print(f"descgraph: error: rank {rank} of {nproc} failed ({reason})", file=sys.stderr)
        return 1
    return 0
