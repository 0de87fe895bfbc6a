"""BigNAS (Yu et al., "BigNAS: Scaling Up Neural Architecture Search with Big Single-Stage Models", ECCV 2020).

One elastic supernet (descgraph.builders.elastic_mobilenet, descgraph.ops.elastic) is trained with
sandwich sampling and in-place distillation, so its children are good without retraining; an
evolutionary search then picks the best child per device budget, extracted with its weights.
"""

from __future__ import annotations

from algos.bignas import lut  # noqa: F401  (registers the elastic lookup-table space)
from algos.bignas.conf import BigNASConf, BigNASSearchConf, BigNASTrainerConf, MultiObjectiveConf, SandwichConf
from algos.bignas.runner import BigNASExperimentRunner
from algos.bignas.search import Candidate, SearchOutcome, multi_objective_search, pareto_front
from algos.bignas.searcher import BigNASSearcher
from algos.bignas.space import BigNASSpace, sandwich_sample
from algos.bignas.supernet import Supernet, build_child, extract_child, recalibrate_bn, save_child
from algos.bignas.trainer import BigNASTrainer, compute_distillation_loss

__all__ = [
    "BigNASConf",
    "BigNASExperimentRunner",
    "BigNASSearchConf",
    "BigNASSearcher",
    "BigNASSpace",
    "BigNASTrainer",
    "BigNASTrainerConf",
    "Candidate",
    "MultiObjectiveConf",
    "SandwichConf",
    "SearchOutcome",
    "Supernet",
    "build_child",
    "compute_distillation_loss",
    "extract_child",
    "multi_objective_search",
    "pareto_front",
    "recalibrate_bn",
    "sandwich_sample",
    "save_child",
]
