"""`cifar10` and `cifar100`: the python-version batch files, read without running any pickled code.

Each batch is a pickled dict with bytes keys: b'data' (N x 3072 uint8, the R, G and B planes of a
32 x 32 image in turn) and b'labels' (CIFAR-10) or b'fine_labels' (CIFAR-100).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from descgraph.conf.schema import DatasetConf
from descgraph.data._registry import register_dataset
from descgraph.data.download import download, extract, fetch_lock, file_md5
from descgraph.data.safe_pickle import load_array_pickle
from descgraph.data.splits import DatasetSplits
from descgraph.errors import DataError

PIXELS = 3 * 32 * 32
DOWNLOAD_DISABLED = "download disabled (dataset.download: false)"


@dataclass(frozen=True)
class CifarLayout:
    """Where a CIFAR variant keeps its batches and where to fetch them."""

    title: str
    folder: str
    train_files: tuple[str, ...]
    test_file: str
    label_key: bytes
    n_classes: int
    url: str
    md5: str

    @property
    def archive_name(self) -> str:
        return self.url.rsplit("/", 1)[-1]


CIFAR10 = CifarLayout(
    title="CIFAR-10",
    folder="cifar-10-batches-py",
    train_files=tuple(f"data_batch_{i}" for i in range(1, 6)),
    test_file="test_batch",
    label_key=b"labels",
    n_classes=10,
    url="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
    md5="c58f30108f718f92721af3b95e74349a",
)
CIFAR100 = CifarLayout(
    title="CIFAR-100",
    folder="cifar-100-python",
    train_files=("train",),
    test_file="test",
    label_key=b"fine_labels",
    n_classes=100,
    url="https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
    md5="eb9058c3a382ffc7106e4002c42a8d85",
)


def _check_images(data: Any, path: Path) -> np.ndarray:
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != PIXELS:
        got = f"{data.shape} {data.dtype}" if isinstance(data, np.ndarray) else type(data).__name__
        raise DataError(f"{path}: b'data' must be an N x {PIXELS} uint8 array, got {got}")
    return data


def _check_labels(raw: Any, key: bytes, n_images: int, n_classes: int, path: Path) -> np.ndarray:
    try:
        labels = np.asarray(raw)
    except (TypeError, ValueError) as e:
        raise DataError(f"{path}: {key!r} is not a list of integers ({e})") from None
    if labels.size == 0:
        labels = labels.astype(np.int64)
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise DataError(f"{path}: {key!r} must be a list of integers, got {labels.dtype} of shape {labels.shape}")
    if len(labels) != n_images:
        raise DataError(f"{path}: {len(labels)} labels in {key!r} for {n_images} images")
    if len(labels) and (labels.min() < 0 or labels.max() >= n_classes):
        raise DataError(f"{path}: labels {labels.min()}..{labels.max()} outside 0..{n_classes - 1}")
    return labels.astype(np.int64)


def read_batch(path: Path, label_key: bytes, n_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """One batch file as uint8 images N x 3 x 32 x 32 and int64 labels.

    Raises:
        DataError: naming the file, when it is missing, refused, damaged or not in the CIFAR layout.
    """
    entry = load_array_pickle(path)
    if not isinstance(entry, dict) or b"data" not in entry or label_key not in entry:
        raise DataError(f"{path}: expected a dict with keys b'data' and {label_key!r}")
    images = _check_images(entry[b"data"], path)
    labels = _check_labels(entry[label_key], label_key, len(images), n_classes, path)
    return torch.from_numpy(images.reshape(-1, 3, 32, 32).copy()), torch.from_numpy(labels)


def _fetch(layout: CifarLayout, root: Path, allow_download: bool) -> str:
    """Try to put the official archive's folder under `root`; return why the folder may still be missing."""
    archive = root / layout.archive_name
    if not (archive.is_file() and file_md5(archive) == layout.md5):
        if not allow_download:
            return DOWNLOAD_DISABLED
        try:
            download(layout.url, archive, layout.md5)
        except DataError as e:
            return f"download failed: {e}"
    try:
        extract(archive, root)
    except DataError as e:
        return f"extraction failed: {e}"
    return f"{archive} does not contain it"


def find_folder(layout: CifarLayout, conf: DatasetConf) -> Path:
    """The batch folder under `conf.dataroot`, fetched first when missing and allowed (by one process at a time:
    the others wait for it and then find the folder).

    Raises:
        DataError: naming the folder, when it is missing and could not be fetched.
    """
    root = Path(conf.dataroot).expanduser()
    folder = root / (conf.storage_name or layout.folder)
    if folder.is_dir():
        return folder
    archive = root / layout.archive_name
    if not conf.download and not archive.is_file():
        reason = DOWNLOAD_DISABLED
    else:
        with fetch_lock(root, layout.folder):  # one process fetches; the others then find the folder
            if folder.is_dir():
                return folder
            reason = _fetch(layout, root, conf.download)
    if folder.is_dir():
        return folder
    raise DataError(
        f"{conf.name}: no {layout.title} batches in {folder} ({reason}); "
        f"put the python version of {layout.title} there or set dataset.dataroot"
    )


def load_cifar(layout: CifarLayout, conf: DatasetConf) -> DatasetSplits:
    """Train and test splits of a CIFAR folder, uint8 images, mean and std from the training images."""
    folder = find_folder(layout, conf)
    parts = [read_batch(folder / name, layout.label_key, layout.n_classes) for name in layout.train_files]
    train = torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])
    test = read_batch(folder / layout.test_file, layout.label_key, layout.n_classes)
    return DatasetSplits.from_tensors(train, test, layout.n_classes)


@register_dataset("cifar10")
def load_cifar10(conf: DatasetConf) -> DatasetSplits:
    """CIFAR-10 from <dataroot>/cifar-10-batches-py."""
    return load_cifar(CIFAR10, conf)


@register_dataset("cifar100")
def load_cifar100(conf: DatasetConf) -> DatasetSplits:
    """CIFAR-100 with its 100 fine labels, from <dataroot>/cifar-100-python."""
    return load_cifar(CIFAR100, conf)
