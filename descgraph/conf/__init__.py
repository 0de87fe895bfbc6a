"""Experiment confs: YAML files with includes, copies and overrides, validated by pydantic schemas."""

from __future__ import annotations

from descgraph.conf.loader import (
    bundled_names,
    conf_hash,
    confs_dir,
    dump_conf,
    load_conf,
    load_conf_data,
    resolve_conf_path,
)
from descgraph.conf.schema import (
    CellConf,
    CombinationsConf,
    CommonConf,
    Conf,
    ConfModel,
    DatasetConf,
    HwConf,
    LoaderConf,
    LrScheduleConf,
    ModelDescConf,
    ModelStemsConf,
    NasConf,
    OptimizerConf,
    StageConf,
    TrainerConf,
    WarmupConf,
)

__all__ = [
    "CellConf",
    "CombinationsConf",
    "CommonConf",
    "Conf",
    "ConfModel",
    "DatasetConf",
    "HwConf",
    "LoaderConf",
    "LrScheduleConf",
    "ModelDescConf",
    "ModelStemsConf",
    "NasConf",
    "OptimizerConf",
    "StageConf",
    "TrainerConf",
    "WarmupConf",
    "bundled_names",
    "conf_hash",
    "confs_dir",
    "dump_conf",
    "load_conf",
    "load_conf_data",
    "resolve_conf_path",
]
