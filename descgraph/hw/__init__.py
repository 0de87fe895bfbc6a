"""Hardware: cost models (params, FLOPs, latency) that searches use as objectives or constraints."""

from __future__ import annotations

from descgraph.hw.cost import COST_MODELS, CostModel, cost_model_from_conf, get_cost_model, register_cost_model

__all__ = ["COST_MODELS", "CostModel", "cost_model_from_conf", "get_cost_model", "register_cost_model"]
