"""Datasets by name (digits, cifar10, cifar100, synthetic, or your own), transforms and loaders."""

from __future__ import annotations

from descgraph.data import cifar, digits, synthetic  # noqa: F401  (registers the providers)
from descgraph.data._registry import DATASETS, DatasetSplits, register_dataset
from descgraph.data.loaders import Loaders, get_loaders, load_splits, split_train_val
from descgraph.data.transforms import BatchTransform

__all__ = [
    "DATASETS",
    "BatchTransform",
    "DatasetSplits",
    "Loaders",
    "get_loaders",
    "load_splits",
    "register_dataset",
    "split_train_val",
]
