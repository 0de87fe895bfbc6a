"""The sections BigNAS adds to a conf: sandwich training (`nas.search.trainer.sandwich`) and the
multi-device evolutionary search (`nas.search.multi_objective`). Torch-free: a conf is read without the algorithm."""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from descgraph._registry import close_matches
from descgraph.conf import Conf, ConfModel, NasConf, SearchStageConf, TrainerConf, register_algo_conf, rule_error
from descgraph.hw.cost import COST_MODELS

DEVICE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def _cost_model_error(at: str, name: str):
    hint = close_matches(name, COST_MODELS.names()) or f" (known: {', '.join(COST_MODELS.names())})"
    return rule_error(f"unknown cost model {name!r}{hint}", at)


class SandwichConf(ConfModel):
    use_sandwich_sampling: bool = Field(True, description="largest, smallest and random children per step")
    n_random: int = Field(2, ge=0, le=64, description="random children per sandwich step")
    distillation_weight: float = Field(0.5, ge=0, le=1, description="share of the distillation loss for children")
    temperature: float = Field(1.0, gt=0, description="softmax temperature of in-place distillation")
    calib_batches: int = Field(8, ge=1, le=100_000, description="training batches that recalibrate BN for a child")


class BigNASTrainerConf(TrainerConf):
    sandwich: SandwichConf = Field(default_factory=SandwichConf, description="child sampling and distillation")


class DeviceConf(ConfModel):
    name: str = Field("device", min_length=1, description="device name (the folder of its finalized child)")
    constraints: dict[str, float] = Field(default_factory=dict, description="cost model name -> largest cost allowed")

    @field_validator("name")
    @classmethod
    def _folder_name(cls, name: str) -> str:
        if not DEVICE_NAME.fullmatch(name):
            raise rule_error(f"{name!r} is not a folder name matching {DEVICE_NAME.pattern}")
        return name

    @model_validator(mode="after")
    def _known_cost_models(self) -> DeviceConf:
        for model in self.constraints:
            if model not in COST_MODELS:
                raise _cost_model_error("constraints", model)
        return self


class MultiObjectiveConf(ConfModel):
    population_size: int = Field(100, ge=2, le=100_000, description="children per generation")
    generations: int = Field(50, ge=1, le=100_000, description="generations of the evolution")
    mutation_prob: float = Field(0.1, ge=0, le=1, description="chance that a decision of a new child is redrawn")
    crossover_share: float = Field(0.5, ge=0, le=1, description="share of new children made by crossover")
    parents: int = Field(16, ge=1, le=100_000, description="best feasible children per device kept as parents")
    time_limit_s: float = Field(0.0, ge=0, description="stop the search after this many seconds (0: no limit)")
    pareto_cost: str = Field("flops", description="cost model of the accuracy-cost Pareto front")
    devices: list[DeviceConf] = Field(default_factory=list, description="target devices and their cost budgets")

    @model_validator(mode="after")
    def _checked(self) -> MultiObjectiveConf:
        if self.pareto_cost not in COST_MODELS:
            raise _cost_model_error("pareto_cost", self.pareto_cost)
        names = [device.name for device in self.devices]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise rule_error(f"{name!r} is taken: every device needs its own folder", f"devices[{i}].name")
        return self

    def targets(self) -> list[tuple[str, dict[str, float]]]:
        """The devices as (name, constraints)."""
        return [(device.name, dict(device.constraints)) for device in self.devices]


class BigNASSearchConf(SearchStageConf):
    """The search stage: sandwich training, then children scored on search-val, so it needs a share of it."""

    trainer: BigNASTrainerConf = Field(default_factory=BigNASTrainerConf, description="sandwich training")
    multi_objective: MultiObjectiveConf = Field(
        default_factory=MultiObjectiveConf, description="evolutionary multi-device search over children"
    )

    @model_validator(mode="after")
    def _has_search_val(self) -> BigNASSearchConf:
        ratio = self.loader.val_ratio
        if not 0 < ratio < 1:
            raise rule_error(f"BigNAS scores children on search-val; need (0, 1), got {ratio}", "loader.val_ratio")
        return self


class BigNASNasConf(NasConf):
    search: BigNASSearchConf = Field(default_factory=BigNASSearchConf, description="search stage")


class BigNASConf(Conf):
    """The conf of `algo: bignas`."""

    nas: BigNASNasConf = Field(default_factory=BigNASNasConf, description="search and evaluation")


register_algo_conf("bignas", BigNASConf)
