"""Cost models: one number per description (params, FLOPs, latency), chosen by name.

Every cost model has the same interface, `cost(desc) -> float` in its `unit`, so a searcher can use
any of them as an objective or a constraint (`cost <= budget`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from descgraph._registry import Registry
from descgraph.desc import ModelDesc

COST_MODELS: Registry[type[CostModel]] = Registry("cost model")


def register_cost_model(name: str):
    """Decorator registering a CostModel subclass under `name`."""
    return COST_MODELS.register(name)


class CostModel(ABC):
    """The cost of a description in `unit`; lower is cheaper."""

    name: str = ""
    unit: str = ""

    @abstractmethod
    def cost(self, desc: ModelDesc) -> float:
        """The cost of `desc`."""

    def __call__(self, desc: ModelDesc) -> float:
        return self.cost(desc)


@register_cost_model("params")
class ParamsCost(CostModel):
    """Weights of the network, aux towers left out, in millions."""

    name, unit = "params", "M"

    def cost(self, desc: ModelDesc) -> float:
        from descgraph.nn import Model

        return Model(desc, droppath=False).param_count() / 1e6


@register_cost_model("flops")
class FlopsCost(CostModel):
    """FLOPs of one inference on one input (2 x multiply-accumulates of convolutions and linear layers), in millions."""

    name, unit = "flops", "MFLOPs"

    def cost(self, desc: ModelDesc) -> float:
        from descgraph.nn import Model, count_macs

        return 2 * count_macs(Model(desc, droppath=False), desc.input_shape) / 1e6


def get_cost_model(name: str, **kwargs: Any) -> CostModel:
    """A cost model by registered name; keyword arguments go to its class (a LUT path, a thread count...)."""
    return COST_MODELS.get(name)(**kwargs)
