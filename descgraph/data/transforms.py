"""Batch transforms on tensors: random crop with padding, horizontal flip, cutout, normalization.

They run on whole batches in the loader's collate function and draw from torch's global RNG, so
seeding torch at the start of an epoch fixes every augmentation of that epoch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 0..255 or float 0..1 images as float 0..1."""
    return images.float().div_(255.0) if images.dtype == torch.uint8 else images.float()


def random_crop(images: torch.Tensor, padding: int) -> torch.Tensor:
    """Zero-pad by `padding` and crop back to the original size at a random offset per image."""
    n, _, h, w = images.shape
    padded = F.pad(images, (padding, padding, padding, padding))
    dy = torch.randint(0, 2 * padding + 1, (n,))
    dx = torch.randint(0, 2 * padding + 1, (n,))
    rows = (dy[:, None] + torch.arange(h)[None, :])[:, None, :, None].expand(n, images.shape[1], h, w + 2 * padding)
    cropped = padded.gather(2, rows)
    cols = (dx[:, None] + torch.arange(w)[None, :])[:, None, None, :].expand(n, images.shape[1], h, w)
    return cropped.gather(3, cols)


def random_flip(images: torch.Tensor) -> torch.Tensor:
    """Flip each image left-right with probability 1/2."""
    flip = torch.rand(images.shape[0]) < 0.5
    out = images.clone()
    out[flip] = images[flip].flip(-1)
    return out


def cutout(images: torch.Tensor, length: int) -> torch.Tensor:
    """Zero one length x length square per image, centred uniformly, clipped at the borders (DARTS Cutout)."""
    n, _, h, w = images.shape
    cy, cx = torch.randint(0, h, (n,)), torch.randint(0, w, (n,))
    ys, xs = torch.arange(h)[None, :], torch.arange(w)[None, :]
    in_y = (ys >= (cy - length // 2)[:, None]) & (ys < (cy + length - length // 2)[:, None])
    in_x = (xs >= (cx - length // 2)[:, None]) & (xs < (cx + length - length // 2)[:, None])
    mask = ~(in_y[:, :, None] & in_x[:, None, :])
    return images * mask[:, None].to(images.dtype)


def normalize(images: torch.Tensor, mean: list[float], std: list[float]) -> torch.Tensor:
    """(x - mean) / std per channel."""
    m = torch.tensor(mean, dtype=images.dtype).view(1, -1, 1, 1)
    s = torch.tensor(std, dtype=images.dtype).view(1, -1, 1, 1)
    return (images - m) / s


class BatchTransform:
    """Collate function: stack a batch, then augment (training only) and normalize it.

    Args:
        mean: per-channel mean.
        std: per-channel std.
        crop_padding: padding of the random crop; 0 disables it.
        flip: whether to flip horizontally at random.
        cutout_length: cutout square side; 0 disables it.
    """

    def __init__(
        self, mean: list[float], std: list[float], crop_padding: int = 0, flip: bool = False, cutout_length: int = 0
    ) -> None:
        self.mean, self.std = mean, std
        self.crop_padding, self.flip, self.cutout_length = crop_padding, flip, cutout_length

    def __call__(self, batch: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor]:
        images = to_float(torch.stack([b[0] for b in batch]))
        labels = torch.stack([b[1] for b in batch])
        if self.crop_padding:
            images = random_crop(images, self.crop_padding)
        if self.flip:
            images = random_flip(images)
        images = normalize(images, self.mean, self.std)
        if self.cutout_length:
            images = cutout(images, self.cutout_length)
        return images, labels
