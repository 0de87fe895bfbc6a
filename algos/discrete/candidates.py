"""How a discrete space's architectures become networks to train: a builder and a text form per space."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from descgraph._registry import Registry
from descgraph.builders import build_from_genotype
from descgraph.conf.schema import ModelDescConf
from descgraph.desc import ModelDesc
from descgraph.desc.enas import format_macro_arch
from descgraph.desc.genotype import format_genotype
from descgraph.desc.nb201 import format_nb201


@dataclass(frozen=True)
class Candidates:
    """The networks of a space's architectures.

    Attributes:
        build: (native architecture, macro conf) -> the network's description.
        text: native architecture -> its text (for logs and summaries).
    """

    build: Callable[[Any, ModelDescConf], ModelDesc]
    text: Callable[[Any], str]


CANDIDATES: Registry[Candidates] = Registry("candidate space")


def _build_nb201(arch: Any, conf: ModelDescConf) -> ModelDesc:
    from descgraph.builders.nb201 import build_nb201

    return build_nb201(arch, conf)


def _build_enas_micro(arch: Any, conf: ModelDescConf) -> ModelDesc:
    from descgraph.builders.enas import build_enas_micro

    return build_enas_micro(arch, conf)


def _build_enas_macro(arch: Any, conf: ModelDescConf) -> ModelDesc:
    from descgraph.builders.enas import build_enas_macro

    return build_enas_macro(arch, conf)


CANDIDATES.add("nb201", Candidates(_build_nb201, format_nb201))
CANDIDATES.add("darts", Candidates(build_from_genotype, format_genotype))
CANDIDATES.add("enas_micro", Candidates(_build_enas_micro, format_genotype))
CANDIDATES.add("enas_macro", Candidates(_build_enas_macro, format_macro_arch))
