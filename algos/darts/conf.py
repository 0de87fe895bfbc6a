"""The sections DARTS adds to a conf: the bilevel search trainer (`nas.search.trainer.order`, `alpha_optimizer`).

Torch-free, like every algorithm's `conf` module: a conf is read without importing the algorithm.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from descgraph.conf import (
    Conf,
    LoaderConf,
    NasConf,
    OptimizerConf,
    SearchStageConf,
    TrainerConf,
    register_algo_conf,
    rule_error,
)


class AlphaOptimizerConf(OptimizerConf):
    """The architecture-parameter optimizer; its defaults are DARTS's (sec. 3.1.1), so `{lr: 3e-3}` changes only
    the rate of that Adam."""

    type: Literal["sgd", "adam"] = Field("adam", description="optimizer")
    lr: float = Field(3e-4, gt=0, description="learning rate")
    decay: float = Field(1e-3, ge=0, description="weight decay")
    betas: list[float] = Field(default_factory=lambda: [0.5, 0.999], description="Adam betas")


class DartsTrainerConf(TrainerConf):
    """The search trainer (an ArchTrainer's): weight steps on search-train, architecture steps on search-val."""

    alpha_optimizer: AlphaOptimizerConf = Field(
        default_factory=AlphaOptimizerConf, description="architecture-parameter optimizer"
    )
    order: Literal["first", "second"] = Field(
        "first", description="architecture gradient: first order, or second (the unrolled step, DARTS eq. 7-8)"
    )


class DartsSearchLoaderConf(LoaderConf):
    val_ratio: float = Field(
        0.5, ge=0, lt=1, description="share of train held out as search-val for the architecture steps (DARTS: half)"
    )


class DartsSearchConf(SearchStageConf):
    """The search stage: a supernet trained bilevel, so it needs a search-val share of the training images."""

    loader: DartsSearchLoaderConf = Field(default_factory=DartsSearchLoaderConf, description="data loading")
    trainer: DartsTrainerConf = Field(default_factory=DartsTrainerConf, description="bilevel training")

    @model_validator(mode="after")
    def _has_search_val(self) -> DartsSearchConf:
        ratio = self.loader.val_ratio
        if self.trainer.epochs > 0 and not 0 < ratio < 1:
            raise rule_error(f"DARTS search needs a value in (0, 1), got {ratio}", "loader.val_ratio")
        return self


class DartsNasConf(NasConf):
    search: DartsSearchConf = Field(default_factory=DartsSearchConf, description="search stage")


class DartsConf(Conf):
    """The conf of `algo: darts`."""

    nas: DartsNasConf = Field(default_factory=DartsNasConf, description="search and evaluation")


register_algo_conf("darts", DartsConf)
