"""Random search space draws: a DARTS-space cell pair sampled uniformly (Li and Talwalkar, 2019)."""

from __future__ import annotations

import random

from descgraph.builders import GenotypeBuilder, register_builder
from descgraph.conf.schema import ModelDescConf
from descgraph.desc import ModelDesc
from descgraph.desc.genotype import Genotype


def random_cell(primitives: list[str], n_nodes: int, rng: random.Random, n_stems: int = 2) -> list[tuple[str, int]]:
    """Per node two ops other than `none`, reading two distinct earlier states."""
    ops = [p for p in primitives if p != "none"]
    pairs = []
    for j in range(n_nodes):
        inputs = rng.sample(range(n_stems + j), 2)
        pairs += [(rng.choice(ops), i) for i in sorted(inputs)]
    return pairs


def random_genotype(primitives: list[str], n_nodes: int, seed: int) -> Genotype:
    """One draw shared by all normal cells and one shared by all reduction cells."""
    rng = random.Random(seed)
    concat = list(range(2, 2 + n_nodes))
    normal = random_cell(primitives, n_nodes, rng)
    return Genotype(
        normal=normal, normal_concat=concat, reduce=random_cell(primitives, n_nodes, rng), reduce_concat=concat
    )


@register_builder("random")
class RandomModelDescBuilder(GenotypeBuilder):
    """A final description with randomly drawn cells; `seed` makes the draw reproducible."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__(genotype=None, edges_per_node=2)
        self.seed = seed

    def build(self, conf: ModelDescConf, template: ModelDesc | None = None) -> ModelDesc:
        if template is not None:
            return super().build(conf, template)
        self.genotype = random_genotype(conf.primitives, conf.cell.n_nodes, self.seed)
        desc = super().build(conf)
        desc.params = {**desc.params, "seed": self.seed}
        return desc
