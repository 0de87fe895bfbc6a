"""The dataset registry: providers turn a DatasetConf into train and test splits."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch.utils.data import TensorDataset

from descgraph._registry import Registry
from descgraph.conf.schema import DatasetConf

Provider = Callable[[DatasetConf], "DatasetSplits"]
DATASETS: Registry[Provider] = Registry("dataset")


@dataclass
class DatasetSplits:
    """Train and test images (N x C x H x W, uint8 0..255 or float 0..1) with labels, and how to normalize.

    Args:
        train: training images and labels.
        test: test images and labels.
        n_classes: number of classes.
        mean: per-channel mean of the training images, in [0, 1] units.
        std: per-channel standard deviation, in [0, 1] units.
        can_flip: whether a horizontal flip keeps the label (not for digits or text).
    """

    train: TensorDataset
    test: TensorDataset
    n_classes: int
    mean: list[float]
    std: list[float]
    can_flip: bool = True

    @property
    def shape(self) -> list[int]:
        return list(self.train.tensors[0].shape[1:])


def register_dataset(name: str) -> Callable[[Provider], Provider]:
    """Decorator registering a dataset provider `fn(conf: DatasetConf) -> DatasetSplits` under `name`."""
    return DATASETS.register(name)


def channel_stats(images: torch.Tensor) -> tuple[list[float], list[float]]:
    """Per-channel mean and std of N x C x H x W images, in [0, 1] units."""
    x = images.float() / (255.0 if images.dtype == torch.uint8 else 1.0)
    return x.mean(dim=(0, 2, 3)).tolist(), x.std(dim=(0, 2, 3)).tolist()
