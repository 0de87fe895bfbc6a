"""This process's place among the ranks of a data-parallel run (torch-free, so every layer may ask).

`descgraph.train.distributed` sets it when it joins a process group; a plain run is rank 0 of 1.
Rank 0 alone writes files (`descgraph._files` asks `is_main`), and every random draw made for a batch
is made for the whole global batch on each rank, which then keeps its rows (`rows_of_global`): the
augmentations and drop path masks of N ranks are those of one process.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

_place = {"rank": 0, "world": 1}


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


def rows_of_global(draw: Callable[[int], T], n_local: int) -> T:
    """`draw(n)` for the global batch of `n_local * world` rows, cut to this rank's shard of it.

    Every rank draws the same numbers from the same generator state as one process does for the whole
    batch, so the random stream goes on identically on every rank and the shards' draws join up to
    the one-process draw. A batch's shards are equal and in rank order (`descgraph.data.sharding`).
    """
    world = _place["world"]
    if world == 1:
        return draw(n_local)
    start = _place["rank"] * n_local
    return draw(n_local * world)[start : start + n_local]
