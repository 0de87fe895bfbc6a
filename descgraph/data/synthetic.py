"""`synthetic`: seeded random images and labels of the conf's shape, for benchmarks."""

from __future__ import annotations

import torch

from descgraph.conf.schema import DatasetConf
from descgraph.data._registry import register_dataset
from descgraph.data.splits import DatasetSplits

SEED = 0  # fixed: the same conf always gives the same tensors


def random_images(n: int, conf: DatasetConf, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """`n` uniform uint8 images of the conf's shape and `n` uniform labels."""
    shape = (n, conf.channels, conf.image_size, conf.image_size)
    images = torch.randint(0, 256, shape, generator=generator, dtype=torch.uint8)
    return images, torch.randint(0, conf.n_classes, (n,), generator=generator)


@register_dataset("synthetic")
def load_synthetic(conf: DatasetConf) -> DatasetSplits:
    """`synthetic_train_size` and `synthetic_test_size` random images; nothing to learn, only to time."""
    generator = torch.Generator().manual_seed(SEED)
    train = random_images(conf.synthetic_train_size, conf, generator)
    test = random_images(conf.synthetic_test_size, conf, generator)
    return DatasetSplits.from_tensors(train, test, conf.n_classes)
