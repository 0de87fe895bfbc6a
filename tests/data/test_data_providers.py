"""Dataset providers: the bundled digits, synthetic data, every registered provider, user providers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import TensorDataset

from descgraph.conf.schema import DatasetConf
from descgraph.data import DATASETS, DatasetSplits, load_splits, register_dataset
from descgraph.errors import DataError, RegistryError

DIGITS = DatasetConf(name="digits", n_classes=10, channels=1, image_size=8)


@pytest.fixture(scope="module")
def digits() -> DatasetSplits:
    return load_splits(DIGITS)


def test_digits_is_the_real_bundled_set(digits):
    x, y = digits.train.tensors
    test_x, test_y = digits.test.tensors
    assert (len(digits.train), len(digits.test)) == (1437, 360)
    assert x.shape == (1437, 1, 8, 8) and x.dtype == torch.float32
    assert min(x.min(), test_x.min()) == 0 and max(x.max(), test_x.max()) == 1  # 0..16 scaled by 1/16
    assert torch.equal(torch.cat([x, test_x]).unique() * 16, torch.arange(17, dtype=torch.float32))
    assert (digits.n_classes, digits.channels, digits.image_size, digits.can_flip) == (10, 1, 8, False)
    assert set(y.tolist()) == set(test_y.tolist()) == set(range(10))


def test_digits_split_is_stratified_and_the_same_every_time(digits):
    from sklearn.datasets import load_digits

    per_class = np.bincount(load_digits().target)  # 178, 182, 177, ...
    test_counts = torch.bincount(digits.test.tensors[1]).numpy()
    assert test_counts.sum() == 360 and np.all(np.abs(test_counts - per_class * 360 / 1797) <= 1)
    again = load_splits(DIGITS)
    assert torch.equal(again.test.tensors[0], digits.test.tensors[0])
    assert torch.equal(again.train.tensors[1], digits.train.tensors[1])


def test_digits_resize_happens_once_at_load(digits):
    big = load_splits(DIGITS.model_copy(update={"image_size": 16}))
    x = big.train.tensors[0]
    assert x.shape == (1437, 1, 16, 16) and big.image_size == 16 and x.min() >= 0 and x.max() <= 1
    assert torch.equal(big.train.tensors[1], digits.train.tensors[1])  # same images, same order


def test_synthetic_shapes_and_seed():
    conf = DatasetConf(
        name="synthetic", channels=2, image_size=6, n_classes=3, synthetic_train_size=10, synthetic_test_size=4
    )
    splits = load_splits(conf)
    x, y = splits.train.tensors
    assert x.shape == (10, 2, 6, 6) and x.dtype == torch.uint8 and y.min() >= 0 and y.max() < 3
    assert splits.test.tensors[0].shape == (4, 2, 6, 6) and len(splits.mean) == 2
    assert torch.equal(load_splits(conf).train.tensors[0], x)


def _conf_for(name: str, tmp_path, write_cifar, write_image_folder) -> DatasetConf:
    """A conf each built-in provider can load here: digits and synthetic as they are, the others from tiny files."""
    if name in ("imagenet", "imagefolder"):
        write_image_folder(tmp_path)
        return DatasetConf(name=name, n_classes=2, image_size=16, dataroot=str(tmp_path), storage_name="tiny")
    if name == "digits":
        return DIGITS
    if name == "synthetic":
        return DatasetConf(name="synthetic", synthetic_train_size=16, synthetic_test_size=8)
    if name == "cifar10":
        write_cifar(tmp_path / "cifar-10-batches-py", [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"])
        return DatasetConf(name="cifar10", dataroot=str(tmp_path), download=False)
    write_cifar(tmp_path / "cifar-100-python", ["train", "test"], label_key=b"fine_labels", n_classes=100)
    return DatasetConf(name="cifar100", n_classes=100, dataroot=str(tmp_path), download=False)


@pytest.mark.parametrize("name", DATASETS.names())
def test_every_registered_provider_agrees_with_its_conf(name, tmp_path, write_cifar, write_image_folder):
    conf = _conf_for(name, tmp_path, write_cifar, write_image_folder)
    splits = DATASETS.get(name)(conf)
    assert isinstance(splits, DatasetSplits)
    image, label = splits.train[0]
    assert image.shape == (conf.channels, conf.image_size, conf.image_size)
    assert image.dtype in (torch.uint8, torch.float32) and 0 <= int(label) < conf.n_classes
    assert len(splits.mean) == len(splits.std) == conf.channels and min(splits.std) > 0


def test_unknown_dataset_names_the_key_and_close_matches():
    with pytest.raises(DataError, match=r"dataset.name: unknown dataset 'digitz' \(did you mean: digits\?\)"):
        load_splits(DatasetConf(name="digitz"))


@pytest.mark.parametrize(
    ("update", "message"),
    [
        ({"channels": 3}, "dataset.channels: the conf says 3 but 'digits' provides 1"),
        ({"n_classes": 100}, "dataset.n_classes: the conf says 100 but 'digits' provides 10"),
    ],
)
def test_a_conf_the_data_does_not_match_is_an_error(update, message):
    with pytest.raises(DataError, match=message):
        load_splits(DIGITS.model_copy(update=update))


def _blobs(n: int = 40) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.rand(n, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    return x, (x.mean(dim=(1, 2, 3)) > 0.5).long()


def test_a_user_function_provider_is_found_by_name(scratch_datasets):
    @register_dataset("blobs")
    def blobs(conf: DatasetConf) -> DatasetSplits:
        return DatasetSplits.from_tensors(_blobs(), _blobs(8), n_classes=2, can_flip=False)

    splits = load_splits(DatasetConf(name="blobs", n_classes=2, channels=1, image_size=4))
    assert len(splits.train) == 40 and splits.channels == 1 and "blobs" in DATASETS
    with pytest.raises(RegistryError, match="dataset 'blobs' is already registered"):
        register_dataset("blobs")(blobs)


def test_a_user_class_provider_is_found_by_name(scratch_datasets):
    @register_dataset("blob_class")
    class Blobs(DatasetSplits):
        def __init__(self, conf: DatasetConf) -> None:
            data = TensorDataset(*_blobs())
            super().__init__(data, data, n_classes=2, channels=1, image_size=4, mean=[0.5], std=[0.3])

    assert isinstance(load_splits(DatasetConf(name="blob_class", n_classes=2, channels=1, image_size=4)), Blobs)


def test_a_provider_must_return_splits(scratch_datasets):
    register_dataset("not_splits")(lambda conf: [1, 2, 3])
    with pytest.raises(DataError, match="provider 'not_splits' returned list, not DatasetSplits"):
        load_splits(DatasetConf(name="not_splits"))


def test_inconsistent_splits_are_refused():
    data = TensorDataset(*_blobs())
    with pytest.raises(DataError, match="1 mean and 1 std values for 3 channels"):
        DatasetSplits(data, data, n_classes=2, channels=3, image_size=4, mean=[0.5], std=[0.3])
    with pytest.raises(DataError, match="must be positive"):
        DatasetSplits(data, data, n_classes=2, channels=1, image_size=4, mean=[0.5], std=[0.0])
    with pytest.raises(DataError, match="H == W"):
        DatasetSplits.from_tensors(
            (torch.zeros(2, 1, 4, 5), torch.zeros(2)), (torch.zeros(2, 1, 4, 5), torch.zeros(2)), 2
        )
