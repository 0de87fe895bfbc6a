"""The lookup-table space of an elastic supernet: every static block a child can hold, and random children.

A child's block depends on the input resolution, the widths of its stage and the stage before (its input
channels), its kernel and its expansion ratio, never on the depths (only the first block of a stage
strides, and a stage's output width is its own). So children at every resolution, every kernel and
expansion for all blocks at once, the deepest depths, and every (previous, own) width pair hold every
block a child can have.
"""

from __future__ import annotations

import itertools
import random

from algos.bignas.space import BigNASSpace
from descgraph.builders import get_builder
from descgraph.desc import ModelDesc
from descgraph.desc.elastic import BigNASConfig, ElasticSpaceDesc, apply_config, elastic_space
from descgraph.hw.lut import Block
from descgraph.hw.lut_space import LutSpace, register_lut_space


@register_lut_space("elastic_mobilenet")
class ElasticLutSpace(LutSpace):
    """The blocks of a BigNAS space, at the search stage's supernet (children are cut from it)."""

    def name(self) -> str:
        md = self.conf.nas.search.model_desc
        space = self.elastic()
        return f"{md.builder}: {len(space.stages)} stages, resolutions {space.resolutions}"

    def supernet(self) -> ModelDesc:
        md = self.conf.nas.search.model_desc
        return get_builder(md.builder).build(md)

    def elastic(self) -> ElasticSpaceDesc:
        return elastic_space(self.supernet())

    def covering_configs(self) -> list[BigNASConfig]:
        """Children that between them hold every block a child can have (see the module docstring)."""
        space = self.elastic()
        n_widths = max(len(s.width_multipliers) for s in space.stages)
        configs = []
        for r, a, b, k, e in itertools.product(
            space.resolutions, range(n_widths), range(n_widths), *_shared_choices(space)
        ):
            widths = [
                s.width_multipliers[(a if i % 2 else b) % len(s.width_multipliers)] for i, s in enumerate(space.stages)
            ]
            configs.append(
                BigNASConfig(
                    resolution=r,
                    depths=[max(s.depths) for s in space.stages],
                    widths=widths,
                    kernel_sizes=[[_pick(s.kernel_sizes, k)] * max(s.depths) for s in space.stages],
                    expansion_ratios=[[_pick(s.expansion_ratios, e)] * max(s.depths) for s in space.stages],
                )
            )
        return configs

    def blocks(self) -> list[Block]:
        from descgraph.hw.sites import op_sites, sum_sites

        supernet, found = self.supernet(), {}
        for config in self.covering_configs():
            child = apply_config(supernet, config)
            for site in op_sites(child):
                block = Block("op", site.op, site.in_shapes)
                found.setdefault(block.key(), block)
            for s in sum_sites(child):
                block = Block("add", None, (s.shape, s.shape))
                found.setdefault(block.key(), block)
        return list(found.values())

    def sample(self, seed: int) -> ModelDesc:
        supernet = self.supernet()
        config = BigNASSpace(elastic_space(supernet)).sample_config(random.Random(seed))
        return apply_config(supernet, config)


def _shared_choices(space: ElasticSpaceDesc) -> tuple[range, range]:
    """Indices over the kernel sizes and the expansion ratios of the stage with the most of each."""
    return range(max(len(s.kernel_sizes) for s in space.stages)), range(
        max(len(s.expansion_ratios) for s in space.stages)
    )


def _pick(values: list, index: int):
    return values[index % len(values)]
