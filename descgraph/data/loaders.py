"""Loaders from a LoaderConf: search-train / search-val / test splits, seeded order, batch limits."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.utils.data import DataLoader, Dataset, RandomSampler, SequentialSampler, Subset

from descgraph import _ranks
from descgraph.conf.schema import LoaderConf
from descgraph.data._registry import load_splits
from descgraph.data.samplers import LimitedBatchSampler
from descgraph.data.sharding import check_divides, shard_batches
from descgraph.data.splits import DatasetSplits
from descgraph.data.transforms import BatchTransform, crop_padding
from descgraph.errors import DataError


@dataclass
class Loaders:
    """The loaders of one stage.

    Args:
        train: training batches (search-train when a validation share is split off), augmented.
        val: search-val batches, or None when `loader.val_ratio` is 0.
        test: test batches, in order, not augmented.
        splits: the provider's splits the loaders draw from.
    """

    train: DataLoader
    val: DataLoader | None
    test: DataLoader
    splits: DatasetSplits


def split_train_val(dataset: Dataset, val_ratio: float, seed: int) -> tuple[Subset, Subset]:
    """Cut a seeded permutation of the training set into search-train and search-val.

    DARTS holds out half of the CIFAR-10 training images this way (val_ratio 0.5).

    Raises:
        DataError: `val_ratio` is not in (0, 1) or leaves one side empty.
    """
    if not 0 < val_ratio < 1:
        raise DataError(f"loader.val_ratio: {val_ratio} is not in (0, 1)")
    n = len(dataset)
    n_val = round(n * val_ratio)
    if n_val in (0, n):
        raise DataError(f"loader.val_ratio: {val_ratio} of {n} images leaves an empty split")
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
    return Subset(dataset, perm[n_val:]), Subset(dataset, perm[:n_val])


def make_loader(
    dataset: Dataset, batch: int, transform: BatchTransform, loader_conf: LoaderConf, seed: int, shuffle: bool
) -> DataLoader:
    """Batches of `dataset`, at most `dataset.max_batches` per epoch when that is >= 0.

    Shuffled batches come in an order seeded by `seed` and drop a last, smaller batch; the others
    come in dataset order, all of them. In a data-parallel run each rank takes its shard of every batch.
    """
    generator = torch.Generator().manual_seed(seed)
    sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
    batches = LimitedBatchSampler(sampler, batch, drop_last=shuffle, max_batches=loader_conf.dataset.max_batches)
    batches = shard_batches(batches)
    # the generator also seeds worker processes, whose RNG the transforms draw from
    return DataLoader(
        dataset, batch_sampler=batches, collate_fn=transform, num_workers=loader_conf.workers, generator=generator
    )


def _check_batch(batch: int, key: str, dataset: Dataset, what: str) -> None:
    if batch > len(dataset):
        raise DataError(f"loader.{key}: {batch} is larger than the {len(dataset)} {what} images")


def get_loaders(loader_conf: LoaderConf, seed: int) -> Loaders:
    """The train, val (search-val, when `val_ratio` > 0) and test loaders of one stage.

    The same seed gives the same split and the same batch order; augmentations draw from torch's RNG.

    Raises:
        DataError: one line naming the conf key, for a bad conf or missing or damaged data.
    """
    if not 0 <= loader_conf.val_ratio < 1:
        raise DataError(f"loader.val_ratio: {loader_conf.val_ratio} is not in [0, 1)")
    splits = load_splits(loader_conf.dataset)
    train, val = splits.train, None
    if loader_conf.val_ratio > 0:
        train, val = split_train_val(splits.train, loader_conf.val_ratio, seed)
    check_divides(loader_conf.train_batch, _ranks.world_size(), "loader.train_batch")
    _check_batch(loader_conf.train_batch, "train_batch", train, "search-train" if val is not None else "training")
    if val is not None:  # DARTS draws search-val batches like search-train ones, augmented
        _check_batch(loader_conf.train_batch, "train_batch", val, "search-val")
    augment = BatchTransform(
        splits.mean,
        splits.std,
        padding=crop_padding(splits.image_size) if loader_conf.aug and splits.pad_crop else 0,
        flip=loader_conf.aug and splits.can_flip,
        cutout_length=loader_conf.cutout,
    )
    # no batch dropped and nothing shuffled at test time, so a test batch may exceed the test set
    test_batch = min(loader_conf.test_batch, len(splits.test))
    plain = BatchTransform(splits.mean, splits.std)
    batch = loader_conf.train_batch
    return Loaders(
        train=make_loader(train, batch, augment, loader_conf, seed, shuffle=True),
        val=None if val is None else make_loader(val, batch, augment, loader_conf, seed + 1, shuffle=True),
        test=make_loader(splits.test, test_batch, plain, loader_conf, seed, shuffle=False),
        splits=splits,
    )
