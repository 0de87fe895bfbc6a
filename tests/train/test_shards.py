"""Micro-batches in one process: the gradient, BatchNorm running statistics and drop path of S shards,
against the same work done by hand on each shard."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from descgraph.errors import ConfError, DataError
from descgraph.ops import DropPath
from descgraph.train.shards import Sharder, check_shards


def _net() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 4 * 4, 2))


def _batch(n: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(3)
    return torch.randn(n, 1, 6, 6, generator=g), torch.randint(0, 2, (n,), generator=g)


def _step(model: nn.Module, shards: int) -> None:
    x, y = _batch()
    params = list(model.parameters())
    for xb, yb, scale in Sharder(model, shards)(x, y, params):
        (F.cross_entropy(model(xb), yb) * scale).backward()


def test_the_gradient_is_the_scaled_sum_and_running_statistics_the_mean_of_each_shard_alone():
    model = _net()
    by_hand = [copy.deepcopy(model) for _ in range(4)]
    _step(model, 4)
    x, y = _batch()
    for m, xb, yb in zip(by_hand, x.chunk(4), y.chunk(4)):
        F.cross_entropy(m(xb), yb).backward()  # each shard alone, from the same weights and statistics
    for name, p in model.named_parameters():
        expected = sum(dict(m.named_parameters())[name].grad for m in by_hand) / 4
        torch.testing.assert_close(p.grad, expected, rtol=1e-6, atol=1e-7, msg=name)
    bn, hand_bns = model[1], [m[1] for m in by_hand]
    torch.testing.assert_close(bn.running_mean, sum(b.running_mean for b in hand_bns) / 4)
    torch.testing.assert_close(bn.running_var, sum(b.running_var for b in hand_bns) / 4)
    assert bn.num_batches_tracked.item() == 1  # one step, however many micro-batches


def test_one_shard_is_plain_training():
    model, plain = _net(), _net()
    _step(model, 1)
    x, y = _batch()
    F.cross_entropy(plain(x), y).backward()
    for p, q in zip(model.parameters(), plain.parameters()):
        assert torch.equal(p.grad, q.grad)
    assert torch.equal(model[1].running_var, plain[1].running_var)


def test_drop_path_masks_of_the_micro_batches_join_up_to_the_whole_batch_mask():
    drop = DropPath(0.5).train()
    x = torch.ones(8, 2)
    torch.manual_seed(5)
    whole = drop(x)
    after_whole = torch.rand(1)
    torch.manual_seed(5)
    parts = [drop(xb) for xb, _, _ in Sharder(nn.Identity(), 4)(x, torch.zeros(8))]
    assert torch.equal(torch.cat(parts), whole)
    assert torch.equal(torch.rand(1), after_whole)  # the random stream goes on as after one whole-batch draw


def test_a_batch_that_does_not_split_into_the_shards_is_one_line():
    with pytest.raises(DataError, match=r"^nas\.eval\.loader\.train_batch: the global batch of 6 does not split"):
        check_shards(4, 1, {"nas.eval.loader.train_batch": 6})


def test_ranks_that_do_not_divide_the_shards_are_one_line():
    with pytest.raises(ConfError, match=r"^common\.shards: 3 shards do not split into 2 equal blocks"):
        check_shards(3, 2, {"nas.search.loader.train_batch": 6})
    check_shards(0, 2, {"nas.search.loader.train_batch": 6})  # 0: one shard per rank
