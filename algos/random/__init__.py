"""Random search (Li and Talwalkar, "Random Search and Reproducibility for NAS", 2019)."""

from __future__ import annotations

from algos.random.builder import RandomModelDescBuilder, random_genotype
from algos.random.finalizers import RandomFinalizers
from algos.random.runner import RandomExperimentRunner

__all__ = ["RandomExperimentRunner", "RandomFinalizers", "RandomModelDescBuilder", "random_genotype"]
