"""Macro builders: confs (and templates) to ModelDescs, and the zoo's search spaces (NAS-Bench-201, ENAS)."""

from __future__ import annotations

from descgraph.builders.elastic_mobilenet import ElasticMobileNetBuilder
from descgraph.builders.enas import (
    build_enas_macro,
    build_enas_micro,
    desc_to_enas_macro,
    desc_to_enas_micro,
)
from descgraph.builders.genotype_builder import GenotypeBuilder, build_from_genotype
from descgraph.builders.model_desc_builder import BUILDERS, ModelDescBuilder, get_builder, register_builder
from descgraph.builders.nb201 import build_nb201, desc_to_nb201, nb201_model_conf

__all__ = [
    "BUILDERS",
    "ElasticMobileNetBuilder",
    "GenotypeBuilder",
    "ModelDescBuilder",
    "build_enas_macro",
    "build_enas_micro",
    "build_from_genotype",
    "build_nb201",
    "desc_to_enas_macro",
    "desc_to_enas_micro",
    "desc_to_nb201",
    "get_builder",
    "nb201_model_conf",
    "register_builder",
]
