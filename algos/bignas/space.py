"""The children of an elastic supernet as a discrete search space, and how training samples them.

Decisions, in code order: the resolution; per stage its depth and width; per block of the stage's
largest depth its kernel and expansion ratio. Blocks past a child's depth do not exist in it, so
their decisions are zeroed in a code's `canonical` form: codes differing only there are one child.
"""

from __future__ import annotations

import random

from descgraph.desc.elastic import BigNASConfig, ElasticSpaceDesc, largest_config, smallest_config
from descgraph.nas.discrete import Code, Decision, SearchSpace


class BigNASSpace(SearchSpace):
    """The BigNASConfigs of one elastic space.

    Args:
        space: the elastic choices (descgraph.desc.elastic.elastic_space of the supernet).
    """

    def __init__(self, space: ElasticSpaceDesc) -> None:
        self.space = space
        self._decisions = [Decision("resolution", tuple(space.resolutions))]
        for i, stage in enumerate(space.stages):
            self._decisions += [
                Decision(f"stage {i} depth", tuple(stage.depths)),
                Decision(f"stage {i} width", tuple(stage.width_multipliers)),
            ]
            for j in range(max(stage.depths)):
                self._decisions += [
                    Decision(f"stage {i} block {j} kernel", tuple(stage.kernel_sizes)),
                    Decision(f"stage {i} block {j} expansion", tuple(stage.expansion_ratios)),
                ]

    def decisions(self) -> list[Decision]:
        return self._decisions

    def decode(self, code: Code) -> BigNASConfig:
        values = iter(d.choices[c] for d, c in zip(self._decisions, self.check_code(code)))
        resolution, depths, widths, kernels, ratios = next(values), [], [], [], []
        for stage in self.space.stages:
            depths.append(next(values))
            widths.append(next(values))
            blocks = [(next(values), next(values)) for _ in range(max(stage.depths))][: depths[-1]]
            kernels.append([k for k, _ in blocks])
            ratios.append([e for _, e in blocks])
        return BigNASConfig(
            resolution=resolution, depths=depths, widths=widths, kernel_sizes=kernels, expansion_ratios=ratios
        )

    def encode(self, arch: BigNASConfig) -> Code:
        values = [arch.resolution]
        for i, stage in enumerate(self.space.stages):
            values += [arch.depths[i], arch.widths[i]]
            for j in range(max(stage.depths)):
                active = j < arch.depths[i]
                values += [arch.kernel_sizes[i][j], arch.expansion_ratios[i][j]] if active else [None, None]
        return tuple(0 if v is None else d.choices.index(v) for d, v in zip(self._decisions, values))

    def canonical(self, code: Code) -> Code:
        """The code with the decisions of blocks past each stage's depth zeroed: one code per child."""
        return self.encode(self.decode(code))

    def key(self, code: Code) -> str:
        return super().key(self.canonical(code))

    def mutate(self, code: Code, rng: random.Random) -> Code:
        """A code of another child: a changed decision of a block past its stage's depth changes nothing, so redraw."""
        key, new = self.key(code), code
        for _ in range(self.max_tries):
            new = super().mutate(code, rng)
            if self.key(new) != key:
                break
        return new

    def largest(self) -> BigNASConfig:
        return largest_config(self.space)

    def smallest(self) -> BigNASConfig:
        return smallest_config(self.space)

    def sample_config(self, rng: random.Random) -> BigNASConfig:
        """A uniformly drawn child."""
        return self.decode(self.sample(rng))


def sandwich_sample(space: BigNASSpace, rng: random.Random, n: int = 2) -> list[BigNASConfig]:
    """The largest child, the smallest and `n` uniformly drawn ones (BigNAS sec. 3.1, the sandwich rule)."""
    return [space.largest(), space.smallest(), *(space.sample_config(rng) for _ in range(n))]
