"""This process's place among the ranks of a data-parallel run (torch-free, so every layer may ask).

`descgraph.train.distributed` sets it when it joins a process group; a plain run is rank 0 of 1.
Rank 0 alone writes files (`descgraph._files` asks `is_main`), and every random draw made for a batch
is made for the whole global batch, which each rank, or each micro-batch (`descgraph.train.shards`),
then cuts to its rows (`rows_of_global`): the augmentations and drop path masks of N ranks and S
micro-batches are those of one process on whole batches.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")

_place = {"rank": 0, "world": 1}
_micro_batch: list[tuple[int, int]] = []  # (index, count) of the micro-batch being run, if any


def set_place(rank: int, world: int) -> None:
    """Record this process's rank and the world size (rank 0 of 1 undoes it)."""
    _place["rank"], _place["world"] = rank, world


def rank() -> int:
    """This process's rank (0 outside a data-parallel run)."""
    return _place["rank"]


def world_size() -> int:
    """The number of ranks (1 outside a data-parallel run)."""
    return _place["world"]


def is_main() -> bool:
    """Whether this process is rank 0, the one that writes."""
    return _place["rank"] == 0


@contextlib.contextmanager
def micro_batch(index: int, count: int) -> Iterator[None]:
    """Within the block, the rows in hand are the `index`-th of `count` equal micro-batches of a global batch."""
    _micro_batch.append((index, count))
    try:
        yield
    finally:
        _micro_batch.pop()


def rows_of_global(draw: Callable[[int], T], n_local: int) -> T:
    """`draw(n)` for the global batch, cut to the rows in hand: this rank's shard of it, or, within
    `micro_batch`, that micro-batch.

    Every rank draws the same numbers from the same generator state as one process does for the whole
    batch, so the random stream goes on identically on every rank and the shards' draws join up to
    the one-process draw. A batch's shards are equal and in rank order (`descgraph.data.sharding`).
    """
    index, count = _micro_batch[-1] if _micro_batch else (_place["rank"], _place["world"])
    if count == 1:
        return draw(n_local)
    start = index * n_local
    return draw(n_local * count)[start : start + n_local]
