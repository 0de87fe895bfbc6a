"""Macro builders: confs (and templates) to ModelDescs."""

from __future__ import annotations

from descgraph.builders.elastic_mobilenet import ElasticMobileNetBuilder
from descgraph.builders.genotype_builder import GenotypeBuilder, build_from_genotype
from descgraph.builders.model_desc_builder import BUILDERS, ModelDescBuilder, get_builder, register_builder

__all__ = [
    "BUILDERS",
    "ElasticMobileNetBuilder",
    "GenotypeBuilder",
    "ModelDescBuilder",
    "build_from_genotype",
    "get_builder",
    "register_builder",
]
