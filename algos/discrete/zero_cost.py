"""Candidates scored by a zero-cost proxy instead of being trained (`nas.search.discrete.evaluator: {proxy: NAME}`),
and the scorer a warm start ranks its pool by (`strategy_params.<name>.warm_start: {proxy: NAME, pool: N}`).

Abdelfattah et al., "Zero-cost proxies for lightweight NAS" (ICLR 2021): a proxy of a candidate's untrained network,
computed from one batch of training images, ranks candidates at a small fraction of a training run's cost. Each
candidate is built as a trained one would be (the conf's `nas.search.model_desc`), its weights initialized from
`common.seed`, and scored on one batch of the search loader's dataset drawn by that seed, so every worker and every
resumed run gives a candidate the same score.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tqdm import tqdm

from algos.discrete.candidates import CANDIDATES
from descgraph.conf import Conf
from descgraph.desc import ModelDesc
from descgraph.nas.discrete import Code, SearchSpace, get_space


@dataclass
class CandidateScorer:
    """Scores the candidates of a discrete run by zero-cost proxies (picklable, so Ray workers build their own).

    Attributes:
        conf: the run's conf (its space, candidates' macro, search dataset, seed and evaluator batch size).
    """

    conf: Conf
    _batches: dict[tuple[int, ...], Any] = field(default_factory=dict, repr=False)

    @property
    def space(self) -> SearchSpace:
        return get_space(self.conf.nas.search.discrete.space)

    def desc(self, code: Code, space: SearchSpace | None = None) -> ModelDesc:
        """The candidate network of `code`, as it would be trained."""
        name = self.conf.nas.search.discrete.space
        arch = (space or self.space).decode(code)
        return CANDIDATES.get(name).build(arch, self.conf.nas.search.model_desc)

    def batch(self, name: str, desc: ModelDesc):
        """The batch proxy `name` reads (None for a data-free one), drawn once per input shape."""
        from descgraph.nas.proxies import PROXIES, proxy_batch

        if not PROXIES.get(name).needs_data:
            return None
        shape = tuple(desc.input_shape)
        if shape not in self._batches:
            stage, seed = self.conf.nas.search, self.conf.common.seed
            size = stage.discrete.evaluator.batch
            self._batches[shape] = proxy_batch(shape, size=size, seed=seed, dataset_conf=stage.loader.dataset)
        return self._batches[shape]

    def score(self, name: str, code: Code, space: SearchSpace | None = None) -> tuple[float, dict[str, Any]]:
        """Proxy `name` of `code`'s candidate, as a trial's (result, extra): `proxy`, `data` (which batch it read),
        `epochs` 0 (nothing was trained), `params` and `time_s`."""
        from descgraph.nas.proxies import NONFINITE, NONFINITE_AS_NUMBER, data_used, init_model, score

        start = time.perf_counter()
        desc = self.desc(code, space)
        batch = self.batch(name, desc)
        model = init_model(desc, self.conf.common.seed)  # the weights `score` would initialize a description with
        value = score(name, model, batch, seed=self.conf.common.seed)
        extra = {
            "proxy": name,
            "data": data_used(name, batch),
            "epochs": 0,
            "params": model.param_count(),
            "time_s": round(time.perf_counter() - start, 3),
        }
        return (value if value != NONFINITE else NONFINITE_AS_NUMBER), extra  # trials.jsonl holds numbers

    def evaluator(self, name: str):
        """code -> (result, extra): a trial scored by proxy `name` (the evaluator of a worker)."""
        space = self.space
        return lambda code: self.score(name, code, space)

    def __call__(self, name: str, codes: Sequence[Code]) -> list[float]:
        """The scores of `codes` by proxy `name` (a `ProxyScorer`: what a warm start ranks its pool by), with a
        progress bar."""
        space = self.space
        return [
            self.score(name, code, space)[0]
            for code in tqdm(codes, desc=f"warm start: {name}", disable=None, leave=False, dynamic_ncols=True)
        ]
