"""Batch transforms: what each augmentation does to pixels, and that seeding torch repeats it."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from descgraph.data.transforms import BatchTransform, crop_padding, cutout, normalize, random_crop, random_flip


@pytest.mark.parametrize(("size", "padding"), [(32, 4), (8, 1), (4, 1), (64, 8), (224, 28)])
def test_crop_padding_is_four_for_cifar_and_proportional_otherwise(size, padding):
    assert crop_padding(size) == padding


def test_random_crop_keeps_shape_and_is_a_window_of_the_zero_padded_image():
    torch.manual_seed(0)
    x = torch.arange(40 * 2 * 16, dtype=torch.float32).view(40, 2, 4, 4) + 1
    out = random_crop(x, 1)
    assert out.shape == x.shape
    offsets = set()
    for i in range(len(x)):
        padded = F.pad(x[i], (1, 1, 1, 1))
        found = [
            (dy, dx) for dy in range(3) for dx in range(3) if torch.equal(out[i], padded[:, dy : dy + 4, dx : dx + 4])
        ]
        assert len(found) == 1  # both channels moved together
        offsets.add(found[0])
    assert len(offsets) > 5  # offsets vary per image


def test_flip_flips_exactly_or_not_at_all():
    torch.manual_seed(0)
    x = torch.randn(64, 2, 3, 5)
    out = random_flip(x)
    flipped = [torch.equal(out[i], x[i].flip(-1)) for i in range(64)]
    kept = [torch.equal(out[i], x[i]) for i in range(64)]
    assert all(f != k for f, k in zip(flipped, kept)) and 16 < sum(flipped) < 48
    assert torch.equal(out[flipped.index(True), 0, 1], x[flipped.index(True), 0, 1].flip(0))


def _zero_box(mask: torch.Tensor) -> tuple[int, int, int, int]:
    rows, cols = mask.nonzero(as_tuple=True)
    return int(rows.min()), int(rows.max()), int(cols.min()), int(cols.max())


@pytest.mark.parametrize("length", [4, 5])
def test_cutout_zeroes_one_square_clipped_at_the_borders(length):
    torch.manual_seed(0)
    size = 16
    out = cutout(torch.ones(300, 1, size, size), length)
    inside = 0
    for image in out[:, 0]:
        zeros = image == 0
        top, bottom, left, right = _zero_box(zeros)
        assert zeros.sum() == (bottom - top + 1) * (right - left + 1)  # one solid rectangle
        assert bottom - top + 1 <= length and right - left + 1 <= length
        if top > 0 and left > 0 and bottom < size - 1 and right < size - 1:
            inside += 1
            assert zeros.sum() == length * length
    assert inside > 100 and (out == 0).sum(dim=(1, 2, 3)).min() < length * length  # some clipped ones too


def test_normalize_per_channel():
    x = torch.tensor([0.5, 0.25, 1.0]).view(1, 3, 1, 1)
    out = normalize(x, [0.5, 0.5, 0.5], [0.5, 0.25, 0.25])
    assert torch.allclose(out.flatten(), torch.tensor([0.0, -1.0, 2.0]))


def test_batch_transform_scales_uint8_normalizes_and_stacks_labels():
    batch = [
        (torch.full((1, 2, 2), 255, dtype=torch.uint8), torch.tensor(3)),
        (torch.zeros(1, 2, 2, dtype=torch.uint8), 7),
    ]
    images, labels = BatchTransform([0.5], [0.5])(batch)
    assert images.dtype == torch.float32 and labels.dtype == torch.long and labels.tolist() == [3, 7]
    assert torch.equal(images[0], torch.ones(1, 2, 2)) and torch.equal(images[1], -torch.ones(1, 2, 2))


def test_augmentation_repeats_when_torch_is_seeded():
    batch = [(torch.rand(3, 8, 8), i) for i in range(16)]
    augment = BatchTransform([0.5] * 3, [0.25] * 3, padding=1, flip=True, cutout_length=3)
    torch.manual_seed(5)
    a = augment(batch)[0]
    torch.manual_seed(5)
    b = augment(batch)[0]
    assert torch.equal(a, b) and not torch.equal(a, augment(batch)[0])
    assert (a == 0).any()  # cutout comes after normalization: the cut square is the mean colour
