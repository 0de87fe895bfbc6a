"""Cost models: one number per description (params, FLOPs, latency), chosen by name.

Every cost model has the same interface, `cost(desc) -> float` in its `unit`, so a searcher can use
any of them as an objective or a constraint (`cost <= budget`).
"""

from __future__ import annotations

import inspect
import os
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

from descgraph._registry import Registry
from descgraph.conf.schema import HwConf
from descgraph.desc import ModelDesc
from descgraph.errors import ConfError

if TYPE_CHECKING:
    from descgraph.hw.lut import LatencyTable

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
        from descgraph.nn import Model, count_macs, flops_of

        return flops_of(count_macs(Model(desc, droppath=False), desc.input_shape)) / 1e6


@register_cost_model("lut_latency")
class LutLatencyCost(CostModel):
    """Latency predicted from a hardware cost lookup table (`descgraph lut build`), in milliseconds.

    Args:
        lut: the table file, or a loaded LatencyTable.
    """

    name, unit = "lut_latency", "ms"

    def __init__(self, lut: str | os.PathLike | LatencyTable) -> None:
        from descgraph.hw.lut import LatencyTable, load_table

        if not lut:
            raise ConfError("hw.lut: the lut_latency cost model needs a lookup table (descgraph lut build)")
        self.table = lut if isinstance(lut, LatencyTable) else load_table(lut)

    def cost(self, desc: ModelDesc) -> float:
        from descgraph.hw.lut import predict_latency

        return predict_latency(self.table, desc)


@register_cost_model("latency")
class MeasuredLatencyCost(CostModel):
    """Latency measured end to end with onnxruntime on this machine (median of `runs`), in milliseconds.

    Args:
        threads: intra-op threads.
        batch: batch size.
        runs: timed runs per network.
    """

    name, unit = "latency", "ms"

    def __init__(self, threads: int = 1, batch: int = 1, runs: int = 100) -> None:
        self.threads, self.batch, self.runs = threads, batch, runs

    def cost(self, desc: ModelDesc) -> float:
        from descgraph.hw.lut_build import measure_desc_latency

        return measure_desc_latency(desc, self.batch, self.threads, self.runs)


def get_cost_model(name: str, **kwargs: Any) -> CostModel:
    """A cost model by registered name; keyword arguments go to its class (a LUT path, a thread count...)."""
    return COST_MODELS.get(name)(**kwargs)


def cost_model_from_conf(name: str, hw: HwConf) -> CostModel:
    """The cost model `name` with what it needs from the conf's `hw` section (the table, threads, batch)."""
    cls = COST_MODELS.get(name)
    takes = inspect.signature(cls).parameters
    kwargs = {k: v for k, v in hw.model_dump().items() if k in takes}
    return cls(**kwargs)
