"""Dataset providers: digits, CIFAR in its real file format (read safely), synthetic, user-registered."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from descgraph.conf.schema import DatasetConf, LoaderConf
from descgraph.data import DATASETS, DatasetSplits, get_loaders, load_splits, register_dataset
from descgraph.errors import DataError, RegistryError


def test_digits_is_the_real_bundled_set():
    splits = load_splits(DatasetConf(name="digits", channels=1, image_size=8, n_classes=10))
    assert len(splits.train) + len(splits.test) == 1797 and len(splits.test) == 359
    x, y = splits.train.tensors
    assert x.shape[1:] == (1, 8, 8) and x.min() >= 0 and x.max() <= 1 and set(y.tolist()) == set(range(10))
    again = load_splits(DatasetConf(name="digits", channels=1, image_size=8))
    assert torch.equal(again.test.tensors[1], splits.test.tensors[1])  # the split is fixed
    assert not splits.can_flip
    assert load_splits(DatasetConf(name="digits", channels=1, image_size=16)).train.tensors[0].shape[1:] == (1, 16, 16)


def _batch(n: int, seed: int, key: bytes = b"labels", classes: int = 10) -> dict:
    rng = np.random.default_rng(seed)
    return {
        b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
        key: [int(v) for v in rng.integers(0, classes, n)],
        b"batch_label": b"testing",
    }


def _write(folder, names, key=b"labels", classes=10):
    folder.mkdir(parents=True)
    batches = {}
    for i, name in enumerate(names):
        batches[name] = _batch(20, i, key, classes)
        (folder / name).write_bytes(pickle.dumps(batches[name], protocol=2))
    return batches


def test_cifar10_real_format_round_trips_pixels_and_labels(tmp_path):
    batches = _write(tmp_path / "cifar-10-batches-py", [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"])
    splits = load_splits(DatasetConf(name="cifar10", dataroot=str(tmp_path), download=False))
    x, y = splits.train.tensors
    assert x.shape == (100, 3, 32, 32) and x.dtype == torch.uint8
    raw = batches["data_batch_2"][b"data"][3]  # image 3 of batch 2: R plane, then G, then B
    assert int(x[23, 1, 4, 5]) == int(raw[1024 + 4 * 32 + 5]) and int(y[23]) == batches["data_batch_2"][b"labels"][3]
    assert splits.test.tensors[0].shape == (20, 3, 32, 32)


def test_cifar100_fine_labels(tmp_path):
    _write(tmp_path / "cifar-100-python", ["train", "test"], key=b"fine_labels", classes=100)
    splits = load_splits(DatasetConf(name="cifar100", dataroot=str(tmp_path), n_classes=100, download=False))
    assert splits.n_classes == 100 and len(splits.train) == 20


class _Evil:
    def __reduce__(self):
        import os

        return (os.system, ("touch pwned-by-cifar",))


def test_a_pickle_with_code_is_refused_and_not_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "cifar-10-batches-py"
    _write(folder, [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"])
    (folder / "data_batch_1").write_bytes(pickle.dumps({b"data": _Evil(), b"labels": []}, protocol=2))
    with pytest.raises(DataError, match="data_batch_1.*refused global"):
        load_splits(DatasetConf(name="cifar10", dataroot=str(tmp_path), download=False))
    assert not (tmp_path / "pwned-by-cifar").exists()


def test_truncated_batch_and_missing_folder(tmp_path, monkeypatch):
    folder = tmp_path / "cifar-10-batches-py"
    _write(folder, [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"])
    data = (folder / "test_batch").read_bytes()
    (folder / "test_batch").write_bytes(data[:100])
    with pytest.raises(DataError, match="test_batch"):
        load_splits(DatasetConf(name="cifar10", dataroot=str(tmp_path), download=False))
    with pytest.raises(DataError, match=r"nowhere/cifar-10-batches-py \(download disabled"):
        load_splits(DatasetConf(name="cifar10", dataroot=str(tmp_path / "nowhere"), download=False))

    def no_network(*args, **kwargs):
        raise OSError("network unreachable")

    monkeypatch.setattr("urllib.request.urlopen", no_network)
    with pytest.raises(DataError, match="download failed: network unreachable"):
        load_splits(DatasetConf(name="cifar10", dataroot=str(tmp_path / "nowhere")))


def test_synthetic_shapes():
    splits = load_splits(DatasetConf(name="synthetic", channels=2, image_size=6, n_classes=3, synthetic_train_size=10))
    assert splits.train.tensors[0].shape == (10, 2, 6, 6) and splits.train.tensors[1].max() < 3


def test_user_registered_provider_end_to_end():
    @register_dataset("two_blobs_test")
    def two_blobs(conf: DatasetConf) -> DatasetSplits:
        g = torch.Generator().manual_seed(0)
        x = torch.rand(40, 1, 4, 4, generator=g)
        y = (x.mean(dim=(1, 2, 3)) > 0.5).long()
        ds = torch.utils.data.TensorDataset(x, y)
        return DatasetSplits(ds, ds, 2, [0.5], [0.3], can_flip=False)

    loaders = get_loaders(LoaderConf(train_batch=8, test_batch=8, dataset={"name": "two_blobs_test"}), seed=0)
    assert next(iter(loaders.train))[0].shape == (8, 1, 4, 4)
    with pytest.raises(RegistryError, match="already registered"):
        register_dataset("two_blobs_test")(two_blobs)
    assert "two_blobs_test" in DATASETS


def test_unknown_dataset_names_the_key():
    with pytest.raises(DataError, match="dataset.name.*digits"):
        load_splits(DatasetConf(name="digitz"))
