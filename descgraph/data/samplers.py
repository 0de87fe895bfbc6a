"""Batch samplers: a seeded order, cut short after a number of batches for toy runs."""

from __future__ import annotations

from collections.abc import Iterator, Sized

from torch.utils.data import BatchSampler, Sampler


class LimitedBatchSampler(BatchSampler):
    """A batch sampler that stops after `max_batches` batches per epoch (never, when negative).

    Args:
        sampler: yields dataset indices (seeded random or sequential).
        batch_size: indices per batch.
        drop_last: whether to drop a last, smaller batch.
        max_batches: batches per epoch; negative means all.
    """

    def __init__(self, sampler: Sampler[int] | Sized, batch_size: int, drop_last: bool, max_batches: int = -1) -> None:
        super().__init__(sampler, batch_size, drop_last)
        self.max_batches = max_batches

    def __iter__(self) -> Iterator[list[int]]:
        if self.max_batches < 0:
            yield from super().__iter__()
            return
        for i, batch in enumerate(super().__iter__()):
            if i >= self.max_batches:
                return
            yield batch

    def __len__(self) -> int:
        n = super().__len__()
        return n if self.max_batches < 0 else min(n, self.max_batches)
