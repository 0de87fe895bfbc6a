"""Each rank's shard of every global batch: the shards join up to the one-process batches, in order."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import BatchSampler, RandomSampler, SequentialSampler

from descgraph import _ranks
from descgraph.data.sharding import ShardedBatchSampler, check_divides
from descgraph.data.transforms import BatchTransform
from descgraph.errors import DataError


@pytest.fixture
def rank_1_of_2():
    """This process plays rank 1 of 2 (no process group: nothing here communicates)."""
    _ranks.set_place(1, 2)
    yield
    _ranks.set_place(0, 1)


@pytest.mark.parametrize("world", [2, 3, 4])
def test_shards_join_up_to_the_global_batches(world):
    def batches() -> BatchSampler:
        generator = torch.Generator().manual_seed(5)
        return BatchSampler(RandomSampler(range(50), generator=generator), 12, drop_last=True)

    shards = [list(ShardedBatchSampler(batches(), r, world)) for r in range(world)]
    joined = [sum((s[i] for s in shards), []) for i in range(len(shards[0]))]
    assert joined == list(batches())
    assert all(len(s) == 12 // world for rank in shards for s in rank)


def test_a_short_last_batch_is_cut_as_evenly_as_it_goes():
    batches = BatchSampler(SequentialSampler(range(7)), 5, drop_last=False)  # [0..4], [5, 6]
    assert [list(ShardedBatchSampler(batches, r, 3)) for r in range(3)] == [
        [[0, 1], [5]],
        [[2, 3], [6]],
        [[4]],  # no share of the last batch: skipped
    ]


def test_a_world_size_that_does_not_divide_the_batch_is_one_line():
    with pytest.raises(DataError, match=r"^loader.train_batch: the global batch of 64 does not split into 3 equal"):
        check_divides(64, 3, "loader.train_batch")


def test_a_rank_augments_its_rows_as_one_process_does(rank_1_of_2):
    images = [(torch.rand(1, 8, 8, generator=torch.Generator().manual_seed(i)), i % 10) for i in range(8)]
    augment = BatchTransform([0.5], [0.25], padding=1, cutout_length=3)
    _ranks.set_place(0, 1)
    torch.manual_seed(3)
    whole, _ = augment(images)
    _ranks.set_place(1, 2)
    torch.manual_seed(3)
    shard, labels = augment(images[4:])
    torch.testing.assert_close(shard, whole[4:], rtol=0, atol=0)
    assert labels.tolist() == [4, 5, 6, 7]
