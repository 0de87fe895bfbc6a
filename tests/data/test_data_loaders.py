"""Loaders: search-train/search-val split, seeded batches, batch limits, one-line errors, user providers."""

from __future__ import annotations

import pytest
import torch

from descgraph.conf.schema import DatasetConf, LoaderConf
from descgraph.data import DatasetSplits, get_loaders, register_dataset, split_train_val
from descgraph.errors import DataError, RegistryError

DIGITS = {"name": "digits", "n_classes": 10, "channels": 1, "image_size": 8}


def _loader_conf(**kwargs) -> LoaderConf:
    dataset = {**DIGITS, **kwargs.pop("dataset", {})}
    return LoaderConf(dataset=dataset, **kwargs)


def _epoch(loader) -> list[tuple[torch.Tensor, torch.Tensor]]:
    torch.manual_seed(0)  # the augmentations' RNG; the order comes from the loader's seed
    return list(loader)


def test_val_split_sizes_and_disjointness():
    loaders = get_loaders(_loader_conf(train_batch=32, val_ratio=0.25), seed=3)
    train_idx, val_idx = loaders.train.dataset.indices, loaders.val.dataset.indices
    assert (len(train_idx), len(val_idx)) == (1437 - 359, 359)  # round(1437 * 0.25)
    assert sorted(train_idx + val_idx) == list(range(1437))
    assert len(loaders.test.dataset) == 360


def test_no_val_loader_without_val_ratio():
    loaders = get_loaders(_loader_conf(), seed=0)
    assert loaders.val is None and len(loaders.train.dataset) == 1437


def test_the_same_seed_gives_the_same_split_and_batches():
    conf = _loader_conf(train_batch=16, val_ratio=0.5, dataset={"max_batches": 4})
    a, b, c = (get_loaders(conf, seed) for seed in (1, 1, 2))
    assert a.train.dataset.indices == b.train.dataset.indices != c.train.dataset.indices
    for x, y in zip(_epoch(a.train), _epoch(b.train)):
        assert torch.equal(x[0], y[0]) and torch.equal(x[1], y[1])
    assert not torch.equal(_epoch(a.train)[0][1], _epoch(c.train)[0][1])
    assert not torch.equal(_epoch(a.train)[0][1], _epoch(a.val)[0][1])


def test_epochs_differ_but_repeat_across_runs():
    conf = _loader_conf(train_batch=64, dataset={"max_batches": 1})
    first, second = get_loaders(conf, seed=7).train, get_loaders(conf, seed=7).train
    epochs_a = [_epoch(first)[0][1] for _ in range(2)]
    epochs_b = [_epoch(second)[0][1] for _ in range(2)]
    assert not torch.equal(*epochs_a) and all(torch.equal(x, y) for x, y in zip(epochs_a, epochs_b))


def test_workers_repeat_the_same_batches():
    conf = _loader_conf(train_batch=32, workers=2, dataset={"max_batches": 2})
    a, b = (_epoch(get_loaders(conf, seed=4).train) for _ in range(2))
    assert all(torch.equal(x[0], y[0]) for x, y in zip(a, b))


def test_max_batches_limits_every_loader():
    loaders = get_loaders(_loader_conf(train_batch=16, test_batch=50, val_ratio=0.5, dataset={"max_batches": 3}), 0)
    for loader in (loaders.train, loaders.val, loaders.test):
        assert len(loader) == 3 and len(list(loader)) == 3
    assert len(list(get_loaders(_loader_conf(dataset={"max_batches": 0}), 0).train)) == 0


def test_full_epochs_drop_only_the_last_training_batch():
    loaders = get_loaders(_loader_conf(train_batch=100, test_batch=100), seed=0)
    assert [len(b[1]) for b in loaders.train] == [100] * 14  # 1,437 images
    assert [len(b[1]) for b in loaders.test] == [100, 100, 100, 60]


def test_test_batches_are_in_order_and_not_augmented():
    loaders = get_loaders(_loader_conf(test_batch=1000, cutout=4), seed=0)
    images, labels = next(iter(loaders.test))
    assert len(labels) == 360 and torch.equal(labels, loaders.splits.test.tensors[1])
    mean, std = loaders.splits.mean[0], loaders.splits.std[0]
    assert torch.allclose(images, (loaders.splits.test.tensors[0] - mean) / std)


def test_train_augmentation_follows_the_provider_and_conf():
    digits = get_loaders(_loader_conf(cutout=3), seed=0).train.collate_fn
    assert (digits.padding, digits.flip, digits.cutout_length) == (1, False, 3)  # a flipped digit is another glyph
    synthetic = get_loaders(LoaderConf(dataset={"name": "synthetic"}), seed=0).train.collate_fn
    assert (synthetic.padding, synthetic.flip) == (4, True)
    plain = get_loaders(_loader_conf(aug=False), seed=0).train.collate_fn
    assert (plain.padding, plain.flip) == (0, False)


def test_a_batch_larger_than_its_split_is_a_one_line_error():
    with pytest.raises(DataError, match=r"^loader.train_batch: 5000 is larger than the 719 search-train images$"):
        get_loaders(_loader_conf(train_batch=5000, val_ratio=0.5), seed=0)
    with pytest.raises(DataError, match="loader.train_batch: 1500 is larger than the 1437 training images"):
        get_loaders(_loader_conf(train_batch=1500), seed=0)
    with pytest.raises(DataError, match="loader.train_batch: 200 is larger than the 144 search-val images"):
        get_loaders(_loader_conf(train_batch=200, val_ratio=0.1), seed=0)


@pytest.mark.parametrize("val_ratio", [1.0, 1.5, -0.1])
def test_val_ratio_outside_the_range_is_an_error(val_ratio):
    conf = LoaderConf.model_construct(**{**_loader_conf().__dict__, "val_ratio": val_ratio})
    with pytest.raises(DataError, match=rf"^loader.val_ratio: {val_ratio} is not in \[0, 1\)$"):
        get_loaders(conf, seed=0)


def test_split_train_val_refuses_empty_sides():
    data = torch.utils.data.TensorDataset(torch.zeros(10, 1))
    with pytest.raises(DataError, match="leaves an empty split"):
        split_train_val(data, 0.01, seed=0)
    with pytest.raises(DataError, match=r"is not in \(0, 1\)"):
        split_train_val(data, 0.0, seed=0)


def test_a_user_provider_works_end_to_end(scratch_datasets):
    @register_dataset("two_blobs")
    def two_blobs(conf: DatasetConf) -> DatasetSplits:
        g = torch.Generator().manual_seed(0)
        x = torch.rand(60, conf.channels, 4, 4, generator=g)
        y = (x.mean(dim=(1, 2, 3)) > 0.5).long()
        return DatasetSplits.from_tensors((x[:40], y[:40]), (x[40:], y[40:]), n_classes=2)

    dataset = {"name": "two_blobs", "n_classes": 2, "channels": 2, "image_size": 4}
    loaders = get_loaders(LoaderConf(train_batch=8, val_ratio=0.5, dataset=dataset), seed=0)
    images, labels = next(iter(loaders.train))
    assert images.shape == (8, 2, 4, 4) and labels.shape == (8,) and len(list(loaders.test)) == 1
    with pytest.raises(RegistryError, match="dataset 'two_blobs' is already registered"):
        register_dataset("two_blobs")(two_blobs)


def test_an_unknown_dataset_names_the_key():
    with pytest.raises(DataError, match="dataset.name: unknown dataset 'cifar11' .*cifar10"):
        get_loaders(LoaderConf(dataset={"name": "cifar11"}), seed=0)
