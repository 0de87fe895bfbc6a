"""Fixtures of the data tests: CIFAR batch files and image folders in real formats, a scratch dataset registry."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from descgraph.data import DATASETS


def cifar_batch(n: int, seed: int, label_key: bytes = b"labels", n_classes: int = 10) -> dict:
    """A batch dict as the CIFAR python version holds it: bytes keys, N x 3072 uint8, a list of int labels."""
    rng = np.random.default_rng(seed)
    return {
        b"batch_label": b"testing batch",
        b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
        label_key: [int(v) for v in rng.integers(0, n_classes, n)],
        b"filenames": [f"img_{seed}_{i}.png".encode() for i in range(n)],
    }


def write_pickle(path: Path, obj: object) -> None:
    path.write_bytes(pickle.dumps(obj, protocol=2))


@pytest.fixture
def write_cifar() -> Callable[..., dict[str, dict]]:
    """write_cifar(folder, names, label_key, n_classes, n) writes one 20-image batch per name; returns them."""

    def write(
        folder: Path, names: list[str], label_key: bytes = b"labels", n_classes: int = 10, n: int = 20
    ) -> dict[str, dict]:
        folder.mkdir(parents=True, exist_ok=True)
        batches = {name: cifar_batch(n, seed, label_key, n_classes) for seed, name in enumerate(names)}
        for name, batch in batches.items():
            write_pickle(folder / name, batch)
        return batches

    return write


@pytest.fixture
def scratch_datasets(monkeypatch: pytest.MonkeyPatch):
    """The dataset registry, with whatever a test registers dropped afterwards."""
    monkeypatch.setattr(DATASETS, "_items", dict(DATASETS._items))
    return DATASETS


IMAGE_COLOURS = {"ant": (200, 100, 50), "bee": (100, 50, 150)}


def write_image(path: Path, colour, size: tuple[int, int] = (40, 30), mode: str = "RGB") -> None:
    """One solid-colour image file, its format from the suffix."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, colour).save(path)


@pytest.fixture
def image_colours() -> dict[str, tuple[int, int, int]]:
    """The colour of each class's images in `write_image_folder`'s folders."""
    return dict(IMAGE_COLOURS)


@pytest.fixture
def write_image_folder() -> Callable[..., Path]:
    """write_image_folder(root, per_class) writes root/tiny/{train,val}/{ant,bee}/ (solid JPEGs and PNGs
    of several sizes; per_class training images and 2 test images a class) and returns root/tiny."""

    def write(root: Path, per_class: int = 3) -> Path:
        folder = root / "tiny"
        for split, n in (("train", per_class), ("val", 2)):
            for name, colour in IMAGE_COLOURS.items():
                for i in range(n):
                    suffix = ".JPEG" if i % 2 == 0 else ".png"
                    write_image(folder / split / name / f"{name}_{i}{suffix}", colour, (40 + 7 * i, 30 + 3 * i))
        return folder

    return write
