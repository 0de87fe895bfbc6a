"""Datasets by name (digits, cifar10, cifar100, imagenet, imagefolder, synthetic, or your own), transforms, loaders.

Register your own provider with `@register_dataset("name")` on a function `fn(conf: DatasetConf) ->
DatasetSplits`; `dataset.name: name` in a conf then selects it.
"""

from __future__ import annotations

from descgraph.data import cifar, digits, imagefolder, synthetic  # noqa: F401  (registers the providers)
from descgraph.data._registry import DATASETS, get_provider, load_splits, register_dataset
from descgraph.data.loaders import Loaders, get_loaders, make_loader, split_train_val
from descgraph.data.samplers import LimitedBatchSampler
from descgraph.data.splits import DatasetSplits, channel_stats
from descgraph.data.transforms import BatchTransform

__all__ = [
    "DATASETS",
    "BatchTransform",
    "DatasetSplits",
    "LimitedBatchSampler",
    "Loaders",
    "channel_stats",
    "get_loaders",
    "get_provider",
    "load_splits",
    "make_loader",
    "register_dataset",
    "split_train_val",
]
