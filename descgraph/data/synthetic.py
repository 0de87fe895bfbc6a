"""`synthetic`: seeded random images and labels of the conf's shape, for benchmarks."""

from __future__ import annotations

import torch
from torch.utils.data import TensorDataset

from descgraph.conf.schema import DatasetConf
from descgraph.data._registry import DatasetSplits, register_dataset


@register_dataset("synthetic")
def load_synthetic(conf: DatasetConf) -> DatasetSplits:
    """Uniform random uint8 images and labels; the same conf always gives the same tensors."""
    g = torch.Generator().manual_seed(0)
    shape = (conf.channels, conf.image_size, conf.image_size)

    def split(n: int) -> TensorDataset:
        images = torch.randint(0, 256, (n, *shape), generator=g, dtype=torch.uint8)
        return TensorDataset(images, torch.randint(0, conf.n_classes, (n,), generator=g))

    return DatasetSplits(
        train=split(conf.synthetic_train_size),
        test=split(conf.synthetic_test_size),
        n_classes=conf.n_classes,
        mean=[0.5] * conf.channels,
        std=[0.29] * conf.channels,
    )
