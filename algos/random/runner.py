"""Random search: a randomly drawn architecture, no search training, then the usual evaluation."""

from __future__ import annotations

from algos.random.builder import RandomModelDescBuilder
from descgraph.nas import ExperimentRunner, register_algo


@register_algo("random")
class RandomExperimentRunner(ExperimentRunner):
    """The search stage only draws (seeded by common.seed); the eval stage trains the draw from scratch."""

    def model_desc_builder(self) -> RandomModelDescBuilder:
        return RandomModelDescBuilder(seed=self.conf.common.seed)

    def trainer_class(self) -> None:
        return None
