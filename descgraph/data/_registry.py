"""The dataset registry: a provider turns a DatasetConf into DatasetSplits.

A provider is any callable `provider(conf: DatasetConf) -> DatasetSplits`: a function, or a
DatasetSplits subclass whose `__init__(self, conf)` fills the fields.
"""

from __future__ import annotations

from collections.abc import Callable

from descgraph._registry import Registry
from descgraph.conf.schema import DatasetConf
from descgraph.data.splits import DatasetSplits
from descgraph.errors import DataError, RegistryError

Provider = Callable[[DatasetConf], DatasetSplits]
DATASETS: Registry[Provider] = Registry("dataset")

# the conf fields a provider's splits must agree with, or the model is built for other data
_MATCHED_FIELDS = ("n_classes", "channels", "image_size")


def register_dataset(name: str) -> Callable[[Provider], Provider]:
    """Decorator registering a dataset provider under `name`; a name already taken is a RegistryError."""
    return DATASETS.register(name)


def get_provider(name: str) -> Provider:
    """The provider registered under `name`; an unknown name is a DataError naming `dataset.name`."""
    try:
        return DATASETS.get(name)
    except RegistryError as e:
        raise DataError(f"dataset.name: {e}") from None


def load_splits(conf: DatasetConf) -> DatasetSplits:
    """Run the provider of `conf.name` and check its splits against the conf."""
    splits = get_provider(conf.name)(conf)
    if not isinstance(splits, DatasetSplits):
        raise DataError(f"dataset.name: provider {conf.name!r} returned {type(splits).__name__}, not DatasetSplits")
    for field in _MATCHED_FIELDS:
        want, have = getattr(conf, field), getattr(splits, field)
        if want != have:
            raise DataError(f"dataset.{field}: the conf says {want} but {conf.name!r} provides {have}")
    return splits
