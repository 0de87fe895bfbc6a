"""Discrete search with trained candidates: regularized evolution (`rea`, Real et al. 2019) and REINFORCE
(`reinforce`, Williams 1992) over a discrete space, each candidate trained briefly and scored on search-val.
"""

from __future__ import annotations

from algos.discrete.candidates import CANDIDATES, Candidates
from algos.discrete.conf import DiscreteConf, DiscreteSearchConf, DiscreteStageConf
from algos.discrete.runner import DiscreteSearchRunner
from algos.discrete.searcher import DiscreteSearcher

__all__ = [
    "CANDIDATES",
    "Candidates",
    "DiscreteConf",
    "DiscreteSearchConf",
    "DiscreteSearchRunner",
    "DiscreteSearcher",
    "DiscreteStageConf",
]
