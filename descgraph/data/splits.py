"""DatasetSplits: what a dataset provider hands back (train and test sets, their shape, how to normalize)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.utils.data import Dataset, TensorDataset

from descgraph.data.transforms import to_float
from descgraph.errors import DataError


@dataclass
class DatasetSplits:
    """Train and test sets of (image C x H x W, label) pairs, uint8 0..255 or float 0..1, and their stats.

    Args:
        train: training images and labels.
        test: test images and labels.
        n_classes: number of classes; labels are 0..n_classes-1.
        channels: image channels.
        image_size: height and width of the images.
        mean: per-channel mean of the training images, in [0, 1] units.
        std: per-channel standard deviation of the training images, in [0, 1] units.
        can_flip: whether a horizontal flip keeps the label (not for digits or text).
        pad_crop: whether the loader augments with a padded random crop (CIFAR's); False when the
            provider crops training images itself (random resized crops of decoded files).
    """

    train: Dataset
    test: Dataset
    n_classes: int
    channels: int
    image_size: int
    mean: list[float]
    std: list[float]
    can_flip: bool = True
    pad_crop: bool = True

    def __post_init__(self) -> None:
        if len(self.mean) != self.channels or len(self.std) != self.channels:
            raise DataError(
                f"DatasetSplits: {len(self.mean)} mean and {len(self.std)} std values for {self.channels} channels"
            )
        if min(self.std) <= 0:
            raise DataError(f"DatasetSplits: std {self.std} must be positive (a constant channel cannot normalize)")
        if len(self.train) == 0 or len(self.test) == 0:
            raise DataError(f"DatasetSplits: empty split ({len(self.train)} train, {len(self.test)} test images)")

    @staticmethod
    def from_tensors(
        train: tuple[torch.Tensor, torch.Tensor],
        test: tuple[torch.Tensor, torch.Tensor],
        n_classes: int,
        can_flip: bool = True,
    ) -> DatasetSplits:
        """Splits of N x C x H x W images and N labels; shape, mean and std come from the training images."""
        images = train[0]
        if images.ndim != 4 or images.shape[2] != images.shape[3]:
            raise DataError(f"DatasetSplits: images must be N x C x H x W with H == W, got {tuple(images.shape)}")
        mean, std = channel_stats(images)
        return DatasetSplits(
            train=TensorDataset(*train),
            test=TensorDataset(*test),
            n_classes=n_classes,
            channels=images.shape[1],
            image_size=images.shape[-1],
            mean=mean,
            std=std,
            can_flip=can_flip,
        )


def channel_stats(images: torch.Tensor, chunk: int = 1024) -> tuple[list[float], list[float]]:
    """Per-channel mean and (population) std of N x C x H x W images, in [0, 1] units.

    Sums run over chunks of images in float64, so 50,000 CIFAR images never become one float copy.
    """
    n, c, h, w = images.shape
    total = torch.zeros(c, dtype=torch.float64)
    squares = torch.zeros(c, dtype=torch.float64)
    for part in images.split(chunk):
        x = to_float(part).double()
        total += x.sum(dim=(0, 2, 3))
        squares += x.square().sum(dim=(0, 2, 3))
    mean = total / (n * h * w)
    var = (squares / (n * h * w) - mean.square()).clamp_min(0)
    return mean.tolist(), var.sqrt().tolist()
