"""`digits`: scikit-learn's bundled 8x8 handwritten digits, 1,797 real images, no download."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from descgraph.conf.schema import DatasetConf
from descgraph.data._registry import register_dataset
from descgraph.data.splits import DatasetSplits

TEST_SIZE = 360  # of 1,797: 1,437 train and 360 test images
SPLIT_SEED = 0  # fixed, not the run's seed: every run is tested on the same images


def stratified_split(labels: np.ndarray, test_size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted train and test indices, every class keeping its share in both."""
    from sklearn.model_selection import train_test_split

    train, test = train_test_split(np.arange(len(labels)), test_size=test_size, stratify=labels, random_state=seed)
    return np.sort(train), np.sort(test)


def resize(images: torch.Tensor, size: int) -> torch.Tensor:
    """Bilinear resize of N x C x H x W float images to size x size (a no-op at their own size)."""
    if images.shape[-1] == size and images.shape[-2] == size:
        return images
    return F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False)


@register_dataset("digits")
def load_digits(conf: DatasetConf) -> DatasetSplits:
    """The digits as 1-channel float images in [0, 1] (pixel values 0..16 / 16), resized once to `image_size`."""
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    images = resize(torch.tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0, conf.image_size)
    labels = torch.tensor(bunch.target, dtype=torch.long)
    train, test = (torch.from_numpy(i) for i in stratified_split(bunch.target, TEST_SIZE, SPLIT_SEED))
    # a flipped digit is another glyph (or none), so flips are off
    return DatasetSplits.from_tensors(
        (images[train], labels[train]), (images[test], labels[test]), n_classes=10, can_flip=False
    )
