"""`digits`: scikit-learn's bundled 8x8 handwritten digits, 1,797 real images, no download."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.utils.data import TensorDataset

from descgraph.conf.schema import DatasetConf
from descgraph.data._registry import DatasetSplits, channel_stats, register_dataset

TEST_SIZE = 360
SPLIT_SEED = 0  # fixed, not the run's seed: every run sees the same test images


def _stratified_split(labels: torch.Tensor, test_size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Train and test indices with each class's share of the test set proportional to its size."""
    g = torch.Generator().manual_seed(seed)
    train, test = [], []
    n = len(labels)
    for c in labels.unique().tolist():
        idx = (labels == c).nonzero().flatten()
        idx = idx[torch.randperm(len(idx), generator=g)]
        k = round(len(idx) * test_size / n)
        test.append(idx[:k])
        train.append(idx[k:])
    return torch.cat(train).sort().values, torch.cat(test).sort().values


@register_dataset("digits")
def load_digits(conf: DatasetConf) -> DatasetSplits:
    """The 8x8 digits (pixel values 0..16 scaled to [0, 1]), resized once to `image_size` if it differs."""
    from sklearn.datasets import load_digits as sk_load_digits

    bunch = sk_load_digits()
    images = torch.tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0
    labels = torch.tensor(bunch.target, dtype=torch.long)
    if conf.image_size != images.shape[-1]:
        images = F.interpolate(images, size=(conf.image_size, conf.image_size), mode="bilinear", align_corners=False)
    train, test = _stratified_split(labels, TEST_SIZE, SPLIT_SEED)
    mean, std = channel_stats(images[train])
    return DatasetSplits(
        train=TensorDataset(images[train], labels[train]),
        test=TensorDataset(images[test], labels[test]),
        n_classes=10,
        mean=mean,
        std=std,
        can_flip=False,
    )
