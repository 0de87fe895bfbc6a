"""The section the discrete strategies (`rea`, `reinforce`, `local`, `bananas`, `tpe`) add to a conf:
`nas.search.discrete`.

Torch-free when imported (a conf is read without the algorithm); checking a conf of these algorithms
loads their spaces and strategies."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from descgraph.conf import Conf, ConfModel, NasConf, SearchStageConf, register_algo_conf, rule_error
from descgraph.conf.schema import MAX_EPOCHS
from descgraph.errors import DescgraphError


class FidelityConf(ConfModel):
    """How long each candidate trains: the full `trainer.epochs`, or rungs of successive halving (Jamieson and
    Talwalkar 2016) or Hyperband (Li et al. 2018) over epochs (`descgraph.nas.discrete.fidelity`): a promoted
    candidate trains on from its checkpoint, its learning-rate schedule that of `trainer.epochs`. Each bracket is
    one window of proposals (its size is the schedule's: `nas.search.window` is not read), and the budget counts
    distinct candidates over the brackets, the last one cut short (a strategy that ends a window early, `can_propose`,
    cuts its bracket too: a bracket of one trains its candidate to the last rung)."""

    schedule: Literal["none", "successive_halving", "hyperband"] = Field(
        "none", description="none: every candidate trains trainer.epochs; else brackets of rungs over epochs"
    )
    min_epochs: int = Field(1, ge=1, le=MAX_EPOCHS, description="epochs of the first rung (at most trainer.epochs)")
    eta: int = Field(3, ge=2, le=1000, description="a rung keeps its best 1/eta, who train eta times the epochs")


class EvaluatorConf(ConfModel):
    """How a candidate is scored: trained `trainer.epochs` and scored on search-val, or, with `proxy`, by a zero-cost
    proxy of its untrained network (`descgraph.nas.proxies`) on one batch of the conf's training data, so a search
    of hundreds of candidates takes minutes (the eval stage trains the pick as always)."""

    proxy: str | None = Field(None, description="a zero-cost proxy (synflow, naswot, ...) instead of training")
    batch: int = Field(64, ge=1, le=100_000, description="training images in the proxy's batch (data-dependent ones)")

    @field_validator("proxy")
    @classmethod
    def _registered(cls, proxy: str | None) -> str | None:
        if proxy is not None:
            from descgraph.nas.proxies import PROXIES

            try:
                PROXIES.get(proxy)
            except DescgraphError as e:
                raise rule_error(str(e)) from None
        return proxy


class DiscreteSearchConf(ConfModel):
    space: str = Field("nb201", description="registered discrete search space whose candidates are trained")
    budget: int = Field(
        20, ge=1, le=1_000_000, description="distinct architectures trained and scored (a repeat is free)"
    )
    max_proposals: int = Field(
        0, ge=0, le=10_000_000, description="proposals in all, repeats included (0: 10 x budget)"
    )
    strategy_params: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="keyword parameters by strategy ({rea: {population_size: 4}}); algo's is used"
    )
    fidelity: FidelityConf = Field(
        default_factory=FidelityConf, description="epochs per candidate: all, or successive halving / Hyperband rungs"
    )
    evaluator: EvaluatorConf = Field(
        default_factory=EvaluatorConf, description="training each candidate, or a zero-cost proxy ({proxy: synflow})"
    )

    @field_validator("space")
    @classmethod
    def _has_candidates(cls, space: str) -> str:
        from algos.discrete.candidates import CANDIDATES  # the search's modules, loaded for a conf of this algo

        try:
            CANDIDATES.get(space)
        except DescgraphError as e:
            raise rule_error(str(e)) from None
        return space

    @field_validator("strategy_params")
    @classmethod
    def _strategies_take_them(cls, params: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        # every entry is checked, so a typo in another strategy's parameters shows at once
        from descgraph.nas.discrete import get_strategy

        for name, kwargs in params.items():
            try:
                get_strategy(name, **kwargs)
            except DescgraphError as e:
                raise rule_error(str(e), name) from None
        return params

    @model_validator(mode="after")
    def _warm_starts_fit(self) -> DiscreteSearchConf:
        # a warm start's proxy is a registered one and its pool fits in the space, before anything is trained
        from descgraph.nas.discrete import get_space, get_strategy
        from descgraph.nas.proxies import PROXIES

        for name, kwargs in self.strategy_params.items():
            warm = get_strategy(name, **kwargs).warm_start
            if warm is None:
                continue
            try:
                PROXIES.get(warm.proxy)
            except DescgraphError as e:
                raise rule_error(str(e), f"strategy_params.{name}.warm_start.proxy") from None
            size = get_space(self.space).size()
            if warm.pool > size:
                raise rule_error(
                    f"{warm.pool} is more than the {size:,} architectures of the {self.space} space",
                    f"strategy_params.{name}.warm_start.pool",
                )
        return self


class DiscreteStageConf(SearchStageConf):
    """The search stage: each candidate trains `trainer.epochs` and is scored on search-val (or is scored by a
    zero-cost proxy: `discrete.evaluator`)."""

    discrete: DiscreteSearchConf = Field(
        default_factory=DiscreteSearchConf, description="the space, the budget and the strategies' parameters"
    )

    @model_validator(mode="after")
    def _trains_and_scores(self) -> DiscreteStageConf:
        if self.discrete.evaluator.proxy is not None:  # nothing is trained
            if self.discrete.fidelity.schedule != "none":
                raise rule_error(
                    f"{self.discrete.fidelity.schedule} schedules training epochs; candidates scored by the proxy "
                    f"{self.discrete.evaluator.proxy!r} are not trained",
                    "discrete.fidelity.schedule",
                )
            return self
        if self.trainer.epochs < 1:
            raise rule_error("candidates are trained: give a value > 0", "trainer.epochs")
        if self.loader.val_ratio <= 0:
            raise rule_error("candidates are scored on search-val: give a value > 0", "loader.val_ratio")
        fidelity = self.discrete.fidelity
        if fidelity.schedule != "none" and fidelity.min_epochs > self.trainer.epochs:
            raise rule_error(
                f"{fidelity.min_epochs} is more than trainer.epochs ({self.trainer.epochs}), the last rung",
                "discrete.fidelity.min_epochs",
            )
        return self


class DiscreteNasConf(NasConf):
    search: DiscreteStageConf = Field(default_factory=DiscreteStageConf, description="search stage")


class DiscreteConf(Conf):
    """The conf of every discrete strategy's algorithm (`algo: rea`, `reinforce`, `local`, `bananas`, `tpe`)."""

    nas: DiscreteNasConf = Field(default_factory=DiscreteNasConf, description="search and evaluation")


#: the algorithms that are a discrete strategy of the same name on trained candidates
DISCRETE_ALGOS = ("rea", "reinforce", "local", "bananas", "tpe")
for _name in DISCRETE_ALGOS:
    register_algo_conf(_name, DiscreteConf)
