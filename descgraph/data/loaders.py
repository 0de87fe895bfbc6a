"""Loaders from a LoaderConf: search-train/search-val/test splits, seeded order, batch limits."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, SequentialSampler, Subset

from descgraph.conf.schema import DatasetConf, LoaderConf
from descgraph.data._registry import DATASETS, DatasetSplits
from descgraph.data.transforms import BatchTransform
from descgraph.errors import DataError, RegistryError


class LimitedBatchSampler(BatchSampler):
    """A batch sampler that stops after `max_batches` batches (all of them when negative)."""

    def __init__(self, sampler, batch_size: int, drop_last: bool, max_batches: int = -1) -> None:
        super().__init__(sampler, batch_size, drop_last)
        self.max_batches = max_batches

    def __iter__(self) -> Iterator[list[int]]:
        for i, batch in enumerate(super().__iter__()):
            if 0 <= self.max_batches <= i:
                return
            yield batch

    def __len__(self) -> int:
        n = super().__len__()
        return n if self.max_batches < 0 else min(n, self.max_batches)


@dataclass
class Loaders:
    """train (search-train when val is split off), val (search-val, or None) and test loaders."""

    train: DataLoader
    val: DataLoader | None
    test: DataLoader
    splits: DatasetSplits


def load_splits(conf: DatasetConf) -> DatasetSplits:
    """Run the dataset's provider."""
    try:
        provider = DATASETS.get(conf.name)
    except RegistryError as e:
        raise DataError(f"dataset.name: {e}") from None
    return provider(conf)


def _loader(
    dataset: Dataset, batch: int, shuffle: bool, transform: BatchTransform, conf: LoaderConf, seed: int, what: str
) -> DataLoader:
    if batch > len(dataset):
        raise DataError(
            f"loader.{'train' if shuffle else 'test'}_batch: {batch} is larger than the {len(dataset)} {what} images"
        )
    generator = torch.Generator().manual_seed(seed)
    sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
    batches = LimitedBatchSampler(sampler, batch, drop_last=shuffle, max_batches=conf.dataset.max_batches)
    return DataLoader(
        dataset, batch_sampler=batches, collate_fn=transform, num_workers=conf.workers, generator=generator
    )


def split_train_val(dataset: Dataset, val_ratio: float, seed: int) -> tuple[Subset, Subset]:
    """A seeded permutation of the training set cut into search-train and search-val."""
    if not 0 < val_ratio < 1:
        raise DataError(f"loader.val_ratio: {val_ratio} is not in (0, 1)")
    perm = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed)).tolist()
    n_val = int(round(len(dataset) * val_ratio))
    if n_val == 0 or n_val == len(dataset):
        raise DataError(f"loader.val_ratio: {val_ratio} leaves an empty split of {len(dataset)} images")
    return Subset(dataset, perm[n_val:]), Subset(dataset, perm[:n_val])


def get_loaders(conf: LoaderConf, seed: int) -> Loaders:
    """Loaders for one stage; errors in the data or the conf are one-line DataErrors."""
    if not 0 <= conf.val_ratio < 1:
        raise DataError(f"loader.val_ratio: {conf.val_ratio} is not in [0, 1)")
    splits = load_splits(conf.dataset)
    size = splits.shape[-1]
    augment = BatchTransform(
        splits.mean,
        splits.std,
        crop_padding=max(1, size // 8) if conf.aug else 0,
        flip=conf.aug and splits.can_flip,
        cutout_length=conf.cutout,
    )
    plain = BatchTransform(splits.mean, splits.std)
    train, val_set = splits.train, None
    if conf.val_ratio > 0:
        train, val_set = split_train_val(splits.train, conf.val_ratio, seed)
    train_loader = _loader(
        train, conf.train_batch, True, augment, conf, seed, "search-train" if val_set is not None else "training"
    )
    return Loaders(
        train=train_loader,
        val=_loader(val_set, conf.train_batch, True, augment, conf, seed + 1, "search-val")
        if val_set is not None
        else None,
        test=_loader(splits.test, min(conf.test_batch, len(splits.test)), False, plain, conf, seed, "test"),
        splits=splits,
    )
