"""Start real ranks for tests: spawned processes joined in a gloo process group on 127.0.0.1.

`run_ranks(fn, world, out)` runs `fn(out, *args)` in `world` fresh processes, each inside
`descgraph.train.distributed.process_group` (the code path torchrun's ranks take), under a time limit,
and kills whatever is left: no test leaves a process behind.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.multiprocessing as mp


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rank_main(rank: int, world: int, port: int, fn: Callable[..., Any], out: Path, args: tuple) -> None:
    from descgraph.train import distributed

    os.environ.update(
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
        LOCAL_RANK=str(rank), LOCAL_WORLD_SIZE=str(world),
    )  # fmt: skip
    with distributed.process_group(timeout_s=60):
        result = fn(*args)
    torch.save(result, Path(out) / f"rank{rank}.pt")


def run_ranks(fn: Callable[..., Any], world: int, out: Path, *args: Any, timeout_s: float = 240) -> list[Any]:
    """Each rank's return value of `fn(*args)` (tensors and plain containers), in rank order."""
    context = mp.start_processes(
        _rank_main, args=(world, free_port(), fn, out, args), nprocs=world, join=False, start_method="spawn"
    )
    deadline = time.monotonic() + timeout_s
    try:
        while not context.join(timeout=max(0.1, deadline - time.monotonic())):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{world} ranks did not finish within {timeout_s} s")
    finally:
        for process in context.processes:
            if process.is_alive():
                process.kill()
            process.join()
    return [torch.load(Path(out) / f"rank{r}.pt", weights_only=True) for r in range(world)]
