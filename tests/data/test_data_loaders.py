"""Loaders and transforms: splits, determinism, batch limits, augmentation semantics."""

from __future__ import annotations

import pytest
import torch

from descgraph.conf.schema import LoaderConf
from descgraph.data import get_loaders
from descgraph.data.transforms import cutout, normalize, random_crop, random_flip
from descgraph.errors import DataError

DIGITS = {"name": "digits", "channels": 1, "image_size": 8}


def test_val_split_sizes_and_disjointness():
    loaders = get_loaders(LoaderConf(train_batch=32, val_ratio=0.25, dataset=DIGITS), seed=3)
    train_idx, val_idx = set(loaders.train.dataset.indices), set(loaders.val.dataset.indices)
    assert len(train_idx) + len(val_idx) == 1438 and len(val_idx) == round(1438 * 0.25) and not train_idx & val_idx


def test_same_seed_same_batches_and_max_batches():
    conf = LoaderConf(train_batch=16, dataset={**DIGITS, "max_batches": 3})

    def first_epoch(seed):
        torch.manual_seed(0)
        return [b for b in get_loaders(conf, seed).train]

    a, b, c = first_epoch(1), first_epoch(1), first_epoch(2)
    assert len(a) == 3 and all(torch.equal(x[0], y[0]) for x, y in zip(a, b))
    assert not torch.equal(a[0][1], c[0][1])


def test_batch_larger_than_split_and_val_ratio_errors():
    with pytest.raises(DataError, match="train_batch: 5000 is larger than the 719 search-train images"):
        get_loaders(LoaderConf(train_batch=5000, val_ratio=0.5, dataset=DIGITS), seed=0)
    with pytest.raises(DataError, match="val_ratio"):
        get_loaders(LoaderConf.model_construct(**{**LoaderConf(dataset=DIGITS).__dict__, "val_ratio": 1.5}), seed=0)


def test_random_crop_keeps_shape_and_content_shifts():
    torch.manual_seed(0)
    x = torch.arange(2 * 16, dtype=torch.float32).view(2, 1, 4, 4) + 1
    out = random_crop(x, 1)
    assert out.shape == x.shape
    for i in range(2):  # every crop is the padded image at some offset
        padded = torch.nn.functional.pad(x[i], (1, 1, 1, 1))
        assert any(torch.equal(out[i], padded[:, dy : dy + 4, dx : dx + 4]) for dy in range(3) for dx in range(3))


def test_flip_flips_exactly_or_not_at_all():
    torch.manual_seed(0)
    x = torch.randn(64, 2, 3, 5)
    out = random_flip(x)
    flipped = [torch.equal(out[i], x[i].flip(-1)) for i in range(64)]
    kept = [torch.equal(out[i], x[i]) for i in range(64)]
    assert all(f or k for f, k in zip(flipped, kept)) and 10 < sum(flipped) < 54


def test_cutout_zeroes_one_square_and_normalize():
    torch.manual_seed(0)
    out = cutout(torch.ones(200, 1, 16, 16), 4)
    zeros = (out == 0).sum(dim=(1, 2, 3))
    assert zeros.max() == 16 and zeros.min() >= 4  # full square inside, clipped at borders
    x = torch.full((1, 2, 1, 1), 0.5)
    assert torch.allclose(normalize(x, [0.5, 0.25], [0.5, 0.25]), torch.tensor([0.0, 1.0]).view(1, 2, 1, 1))
