"""`cifar10` and `cifar100`: the python-version batch files, read without running any pickled code.

The batches are pickles; a restricted unpickler admits only the numpy globals that rebuild arrays,
so a tampered file is refused instead of executed.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import TensorDataset
from tqdm import tqdm

from descgraph.conf.schema import DatasetConf
from descgraph.data._registry import DatasetSplits, channel_stats, register_dataset
from descgraph.errors import DataError


@dataclass(frozen=True)
class CifarLayout:
    title: str
    folder: str
    train_files: tuple[str, ...]
    test_file: str
    label_key: bytes
    n_classes: int
    url: str
    md5: str


CIFAR10 = CifarLayout(
    "CIFAR-10",
    "cifar-10-batches-py",
    tuple(f"data_batch_{i}" for i in range(1, 6)),
    "test_batch",
    b"labels",
    10,
    "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
    "c58f30108f718f92721af3b95e74349a",
)
CIFAR100 = CifarLayout(
    "CIFAR-100",
    "cifar-100-python",
    ("train",),
    "test",
    b"fine_labels",
    100,
    "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
    "eb9058c3a382ffc7106e4002c42a8d85",
)

_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
}


class _ArraysOnlyUnpickler(pickle.Unpickler):
    """Rebuilds dicts, lists, bytes and numpy arrays; any other global is refused."""

    def find_class(self, module: str, name: str):
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"refused global {module}.{name}")
        return super().find_class(module, name)


def read_batch(path: Path, label_key: bytes) -> tuple[torch.Tensor, torch.Tensor]:
    """One batch file as uint8 images N x 3 x 32 x 32 and int64 labels; DataError if anything is off."""
    try:
        with open(path, "rb") as f:
            entry = _ArraysOnlyUnpickler(f, encoding="bytes").load()
    except FileNotFoundError:
        raise DataError(f"{path}: missing batch file") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as e:
        raise DataError(f"{path}: not a readable CIFAR batch ({e or type(e).__name__})") from None
    if not isinstance(entry, dict) or b"data" not in entry or label_key not in entry:
        raise DataError(f"{path}: expected a dict with b'data' and {label_key!r}")
    data, labels = np.asarray(entry[b"data"]), list(entry[label_key])
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise DataError(f"{path}: b'data' must be N x 3072 uint8, got {data.shape} {data.dtype}")
    if len(labels) != data.shape[0]:
        raise DataError(f"{path}: {len(labels)} labels for {data.shape[0]} images")
    return torch.from_numpy(data.reshape(-1, 3, 32, 32).copy()), torch.tensor(labels, dtype=torch.long)


def _download(layout: CifarLayout, root: Path) -> None:
    """Fetch the archive, check its md5, extract it safely under `root`."""
    root.mkdir(parents=True, exist_ok=True)
    archive = root / Path(layout.url).name
    with urllib.request.urlopen(layout.url, timeout=30) as response:  # noqa: S310 - fixed https URL
        total = int(response.headers.get("Content-Length") or 0)
        buf = io.BytesIO()
        with tqdm(total=total, unit="B", unit_scale=True, desc=f"downloading {layout.title}", disable=None) as bar:
            while chunk := response.read(1 << 20):
                buf.write(chunk)
                bar.update(len(chunk))
    if hashlib.md5(buf.getvalue()).hexdigest() != layout.md5:  # noqa: S324 - the published checksum is md5
        raise DataError(f"{layout.url}: checksum mismatch, download corrupted")
    archive.write_bytes(buf.getvalue())
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            if member.name.startswith("/") or ".." in Path(member.name).parts:
                raise DataError(f"{archive}: unsafe member path {member.name}")
        tar.extractall(root, filter="data")


def _ensure_folder(layout: CifarLayout, conf: DatasetConf) -> Path:
    root = Path(conf.dataroot).expanduser()
    folder = root / (conf.storage_name or layout.folder)
    if folder.is_dir():
        return folder
    reason = "download disabled (dataset.download: false)"
    if conf.download:
        try:
            _download(layout, root)
            if folder.is_dir():
                return folder
            reason = "the archive did not contain it"
        except (OSError, tarfile.TarError) as e:
            reason = f"download failed: {getattr(e, 'reason', e)}"
    raise DataError(
        f"{conf.name}: no {layout.title} batches in {folder} ({reason}); "
        f"put the python version of {layout.title} there or set dataset.dataroot"
    )


def load_cifar(layout: CifarLayout, conf: DatasetConf) -> DatasetSplits:
    """Train and test splits of a CIFAR folder."""
    folder = _ensure_folder(layout, conf)
    parts = [read_batch(folder / name, layout.label_key) for name in layout.train_files]
    train_x, train_y = torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])
    test_x, test_y = read_batch(folder / layout.test_file, layout.label_key)
    for path, labels in ((folder, train_y), (folder / layout.test_file, test_y)):
        if labels.numel() and (labels.min() < 0 or labels.max() >= layout.n_classes):
            raise DataError(f"{path}: labels outside 0..{layout.n_classes - 1}")
    mean, std = channel_stats(train_x)
    return DatasetSplits(TensorDataset(train_x, train_y), TensorDataset(test_x, test_y), layout.n_classes, mean, std)


@register_dataset("cifar10")
def load_cifar10(conf: DatasetConf) -> DatasetSplits:
    """CIFAR-10 from <dataroot>/cifar-10-batches-py."""
    return load_cifar(CIFAR10, conf)


@register_dataset("cifar100")
def load_cifar100(conf: DatasetConf) -> DatasetSplits:
    """CIFAR-100 (fine labels) from <dataroot>/cifar-100-python."""
    return load_cifar(CIFAR100, conf)
