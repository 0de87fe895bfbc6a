"""Each rank's shard of every global batch, in the order one process sees the batches."""

from __future__ import annotations

import math
from collections.abc import Iterator

from torch.utils.data import BatchSampler

from descgraph import _ranks
from descgraph.errors import DataError


def check_divides(batch: int, world: int, key: str) -> None:
    """A global batch splits into equal shards, one per rank.

    Raises:
        DataError: one line naming the key, when `world` does not divide `batch`.
    """
    if batch % world:
        raise DataError(f"{key}: the global batch of {batch} does not split into {world} equal shards (one per rank)")


class ShardedBatchSampler:
    """The `rank`-th contiguous shard of each batch another batch sampler yields.

    Each rank draws the same global batches (the same seeded order) and keeps its slice, so the ranks
    together see exactly the batches of a one-process run. Equal batches give equal shards; a smaller
    last batch (test sets) is cut as evenly as it goes, and a rank whose share is empty skips it.

    Args:
        batches: the global batch sampler.
        rank: this rank.
        world: the number of ranks.
    """

    def __init__(self, batches: BatchSampler, rank: int, world: int) -> None:
        self.batches, self.rank, self.world = batches, rank, world
        self.sampler = batches.sampler  # where seed_epoch finds the shuffling generator

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self.batches:
            size = math.ceil(len(batch) / self.world)
            shard = batch[self.rank * size : (self.rank + 1) * size]
            if shard:
                yield shard

    def __len__(self) -> int:
        return len(self.batches)


def shard_batches(batches: BatchSampler) -> BatchSampler | ShardedBatchSampler:
    """This rank's shards of `batches` in a data-parallel run; `batches` itself in a plain one."""
    world = _ranks.world_size()
    return batches if world == 1 else ShardedBatchSampler(batches, _ranks.rank(), world)
