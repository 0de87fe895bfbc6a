"""Compiling descriptions into torch modules."""

from __future__ import annotations

from descgraph.nn.arch_params import ArchParams, arch_parameters, split_parameters, weight_parameters
from descgraph.nn.aux_tower import AuxTower
from descgraph.nn.cell import Cell
from descgraph.nn.check import check_ops
from descgraph.nn.dag_edge import DagEdge
from descgraph.nn.model import Model
from descgraph.nn.profile import count_macs, describe, flops_of, model_counts

__all__ = [
    "ArchParams",
    "AuxTower",
    "Cell",
    "DagEdge",
    "Model",
    "arch_parameters",
    "check_ops",
    "count_macs",
    "describe",
    "flops_of",
    "model_counts",
    "split_parameters",
    "weight_parameters",
]
