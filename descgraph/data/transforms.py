"""Batch transforms on tensors: random crop with padding, horizontal flip, cutout, normalization.

They run on whole batches in the loader's collate function and draw from torch's RNG (the global
one, or a worker's, which the loader seeds), so seeding torch makes every augmentation reproducible.
In a data-parallel run each rank draws for the whole global batch and keeps its shard's rows
(`descgraph._ranks.rows_of_global`), so N ranks augment each image as one process does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from descgraph._ranks import rows_of_global


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 0..255 or float 0..1 images as float32 0..1."""
    return images.float().div_(255.0) if images.dtype == torch.uint8 else images.float()


def crop_padding(image_size: int) -> int:
    """Padding of the random crop: 4 for 32 x 32 images as in DARTS, in proportion for other sizes."""
    return max(1, image_size // 8)


def random_crop(images: torch.Tensor, padding: int) -> torch.Tensor:
    """Zero-pad N x C x H x W images by `padding` and crop each back to H x W at a random offset."""
    n, c, h, w = images.shape
    padded = F.pad(images, (padding, padding, padding, padding))
    rows = rows_of_global(lambda m: torch.randint(0, 2 * padding + 1, (m, 1)), n) + torch.arange(h)
    cols = rows_of_global(lambda m: torch.randint(0, 2 * padding + 1, (m, 1)), n) + torch.arange(w)
    return padded[
        torch.arange(n)[:, None, None, None],
        torch.arange(c)[None, :, None, None],
        rows[:, None, :, None],
        cols[:, None, None, :],
    ]


def random_flip(images: torch.Tensor) -> torch.Tensor:
    """Flip each image left-right with probability 1/2."""
    flip = (rows_of_global(torch.rand, images.shape[0]) < 0.5).view(-1, 1, 1, 1)
    return torch.where(flip, images.flip(-1), images)


def cutout(images: torch.Tensor, length: int) -> torch.Tensor:
    """Zero one length x length square per image, centred uniformly, clipped at the borders.

    DARTS utils.Cutout; for an odd `length` the square is length wide, where DARTS's is length - 1.
    """
    n, _, h, w = images.shape
    top = rows_of_global(lambda m: torch.randint(0, h, (m, 1)), n) - length // 2
    left = rows_of_global(lambda m: torch.randint(0, w, (m, 1)), n) - length // 2
    ys, xs = torch.arange(h), torch.arange(w)
    in_rows = (ys >= top) & (ys < top + length)
    in_cols = (xs >= left) & (xs < left + length)
    keep = ~(in_rows[:, :, None] & in_cols[:, None, :])
    return images * keep[:, None].to(images.dtype)


def normalize(images: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """(x - mean) / std per channel."""
    m = torch.tensor(mean, dtype=images.dtype).view(1, -1, 1, 1)
    s = torch.tensor(std, dtype=images.dtype).view(1, -1, 1, 1)
    return (images - m) / s


class BatchTransform:
    """Collate function: stack a batch, augment it (when asked) and normalize it.

    The order is DARTS's: crop and flip the raw image, normalize, then cut out (to the mean colour).

    Args:
        mean: per-channel mean, in [0, 1] units.
        std: per-channel std, in [0, 1] units.
        padding: padding of the random crop; 0 disables it.
        flip: whether to flip horizontally at random.
        cutout_length: side of the cutout square; 0 disables it.
    """

    def __init__(
        self, mean: Sequence[float], std: Sequence[float], padding: int = 0, flip: bool = False, cutout_length: int = 0
    ) -> None:
        self.mean, self.std = list(mean), list(std)
        self.padding, self.flip, self.cutout_length = padding, flip, cutout_length

    def __call__(self, batch: list[tuple[Any, Any]]) -> tuple[torch.Tensor, torch.Tensor]:
        images = to_float(torch.stack([torch.as_tensor(image) for image, _ in batch]))
        labels = torch.tensor([int(label) for _, label in batch], dtype=torch.long)
        if self.padding:
            images = random_crop(images, self.padding)
        if self.flip:
            images = random_flip(images)
        images = normalize(images, self.mean, self.std)
        if self.cutout_length:
            images = cutout(images, self.cutout_length)
        return images, labels
