"""Data-parallel training under torchrun: the process group, and the named points where ranks communicate.

Every rank runs the same code on its shard of each global batch (`descgraph.data.sharding`), cut into
its micro-batches (`descgraph.train.shards`). Ranks talk only here: the micro-batches' gradients and
BatchNorm running statistics are summed at the end of each pass over a batch (`all_reduce_sum`, one
collective), and metrics are summed (`sum_over_ranks`). No DistributedDataParallel: its reducer sees
neither `autograd.grad` (the DARTS architect) nor several backward passes per step.
"""

from __future__ import annotations

import contextlib
import datetime
import os
from collections.abc import Iterable, Iterator

import torch
import torch.distributed as dist

from descgraph import _ranks
from descgraph._ranks import is_main, rank, world_size
from descgraph.errors import DistributedError
from descgraph.train.threads import default_threads

__all__ = [
    "all_reduce_sum",
    "barrier",
    "check_same_on_ranks",
    "is_main",
    "launched_by_torchrun",
    "process_group",
    "rank",
    "sum_over_ranks",
    "world_size",
]

DEFAULT_TIMEOUT_S = 120.0


def launched_by_torchrun() -> bool:
    """Whether torchrun (or another launcher setting its variables) started this process among others."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 and "RANK" in os.environ


def backend() -> str:
    """nccl on CUDA, gloo on the CPU."""
    return "nccl" if torch.cuda.is_available() else "gloo"


def set_rank_threads() -> int:
    """Give this rank its share of the CPUs this process may use, so the ranks of a machine never oversubscribe it."""
    threads = default_threads(None)  # the share of LOCAL_WORLD_SIZE ranks; each stage then sizes its own
    torch.set_num_threads(threads)
    return threads


@contextlib.contextmanager
def process_group(timeout_s: float = DEFAULT_TIMEOUT_S) -> Iterator[None]:
    """Join torchrun's process group for the block (nothing in a plain run), then leave it.

    A collective that waits longer than `timeout_s` (a rank died or hangs) ends the run with a
    `DistributedError` naming this rank, instead of waiting forever.
    """
    if not launched_by_torchrun() or dist.is_initialized():
        yield
        return
    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend(), timeout=datetime.timedelta(seconds=timeout_s))
    _ranks.set_place(dist.get_rank(), dist.get_world_size())
    set_rank_threads()
    try:
        yield
        barrier()  # rank 0 has written everything before any rank leaves
    except dist.DistError as e:
        first = " ".join(str(e).split())[:200]
        raise DistributedError(
            f"rank {rank()} of {world_size()}: a collective failed (a rank died, or none answered "
            f"within {timeout_s:g} s, common.collective_timeout_s): {first}"
        ) from None
    finally:
        _ranks.set_place(0, 1)
        dist.destroy_process_group()


def _is_distributed() -> bool:
    return world_size() > 1 and dist.is_initialized()


def barrier() -> None:
    """Wait until every rank gets here (nothing in a plain run)."""
    if _is_distributed():
        dist.barrier()


def sum_over_ranks(tensor: torch.Tensor) -> torch.Tensor:
    """The element-wise sum of `tensor` over the ranks, in place (the tensor itself in a plain run)."""
    if _is_distributed():
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def check_same_on_ranks(token: int, what: str) -> None:
    """Check that every rank holds the same `token` (a hash of what they must agree on).

    Raises:
        DistributedError: one line saying what differs, on every rank.
    """
    if not _is_distributed():
        return
    mine = torch.tensor([token & (2**63 - 1)], dtype=torch.int64)
    tokens = [torch.zeros_like(mine) for _ in range(world_size())]
    dist.all_gather(tokens, mine)
    if any(not torch.equal(t, mine) for t in tokens):
        raise DistributedError(f"rank {rank()} of {world_size()}: the ranks differ in {what}")


def all_reduce_sum(tensors: Iterable[torch.Tensor]) -> None:
    """Replace each tensor by its sum over the ranks, with one collective for all of them (nothing in a plain run)."""
    tensors = list(tensors)
    if not _is_distributed() or not tensors:
        return
    flat = sum_over_ranks(torch.cat([t.reshape(-1) for t in tensors]))
    offset = 0
    for t in tensors:
        t.copy_(flat[offset : offset + t.numel()].view_as(t))
        offset += t.numel()
