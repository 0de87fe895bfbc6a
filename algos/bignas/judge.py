"""How children of a trained supernet are judged: accuracy with inherited weights after BN recalibration,
on held-out data drawn once, and costs under cost models."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import islice

import torch
from torch.utils.data import DataLoader

from algos.bignas.search import Candidate
from algos.bignas.space import BigNASSpace
from algos.bignas.supernet import Supernet, recalibrate_bn, resize
from descgraph.conf import Conf
from descgraph.conf.schema import LoaderConf
from descgraph.data import BatchTransform, Loaders, get_loaders, make_loader, split_train_val
from descgraph.desc import ModelDesc
from descgraph.desc.elastic import BigNASConfig, apply_config, elastic_space
from descgraph.hw.cost import CostModel
from descgraph.nas._common import resolve_device
from descgraph.nas.discrete import Code
from descgraph.nn import Model
from descgraph.train import topk_correct
from descgraph.train.distributed import sum_over_ranks
from descgraph.train.seeding import derive_seed, loader_generators


@dataclass
class ChildData:
    """What children are judged on: BN calibration batches (held), search-val and test loaders, unaugmented."""

    calib: list[torch.Tensor]
    val: DataLoader
    test: DataLoader


def child_data(loaders: Loaders, loader_conf: LoaderConf, calib_batches: int, seed: int) -> ChildData:
    """Calibration batches drawn once (seeded, so every child and a resumed run get the same), plain search-val."""
    with torch.random.fork_rng():
        torch.manual_seed(derive_seed(seed, -2))
        for generator in loader_generators(loaders.train):
            generator.manual_seed(derive_seed(seed, -2))
        calib = [x for x, _ in islice(loaders.train, calib_batches)]
    return ChildData(calib, plain_val(loaders, loader_conf, seed), loaders.test)


def plain_val(loaders: Loaders, loader_conf: LoaderConf, seed: int) -> DataLoader:
    """Search-val (the split get_loaders made), unaugmented."""
    splits = loaders.splits
    val_set = split_train_val(splits.train, loader_conf.val_ratio, seed)[1]
    plain = BatchTransform(splits.mean, splits.std)
    return make_loader(val_set, loader_conf.test_batch, plain, loader_conf, seed, shuffle=False)


def layout_of(channels_last: bool) -> torch.memory_format:
    return torch.channels_last if channels_last else torch.contiguous_format


class ChildJudge:
    """Accuracy with inherited weights after BN recalibration, and costs, of a supernet's children.

    On data-parallel ranks each rank judges on its shards of the data; BN recalibration runs in
    `shards` micro-batches and correct counts are summed over the ranks, so every rank gets the
    one-process accuracy.
    """

    def __init__(
        self,
        supernet: Supernet,
        data: ChildData,
        device: torch.device,
        cost_models: dict[str, CostModel],
        memory_format: torch.memory_format = torch.contiguous_format,
        shards: int = 0,
    ) -> None:
        self.supernet, self.data, self.device, self.memory_format = supernet, data, device, memory_format
        self.cost_models, self.shards = cost_models, shards

    def to_device(self, x: torch.Tensor) -> torch.Tensor:
        return x.to(self.device).contiguous(memory_format=self.memory_format)

    def recalibrate(self, config: BigNASConfig) -> None:
        recalibrate_bn(self.supernet, config, (self.to_device(x) for x in self.data.calib), self.shards)

    @torch.no_grad()
    def accuracy(self, config: BigNASConfig, batches: Iterable, recalibrate: bool = True) -> float:
        """Top-1 (percent) of the child inside the supernet on `batches`."""
        if recalibrate:
            self.recalibrate(config)
        self.supernet.activate(config)
        self.supernet.eval()
        return top1(self.supernet, batches, self.to_device)

    def costs(self, config: BigNASConfig) -> dict[str, float]:
        child = apply_config(self.supernet.desc, config)
        return {name: float(model.cost(child)) for name, model in self.cost_models.items()}

    def candidate(self, config: BigNASConfig) -> Candidate:
        return Candidate(config, self.accuracy(config, self.data.val), self.costs(config))

    def child_summary(self, config: BigNASConfig) -> dict:
        """A child's test accuracy with inherited weights (BN recalibrated), its costs and config."""
        return {
            "test_top1": self.accuracy(config, self.data.test),
            "costs": self.costs(config),
            "config": config.model_dump(mode="json"),
        }


@torch.no_grad()
def top1(model: torch.nn.Module, batches: Iterable, to_device, resolution: int | None = None) -> float:
    """Top-1 (percent) over (x, y) batches, each x moved by `to_device` (and resized when given a resolution);
    on data-parallel ranks, over every rank's batches."""
    correct, n = 0, 0
    for x, y in batches:
        x = to_device(x) if resolution is None else resize(to_device(x), resolution)
        logits, _ = model(x)
        correct += int(topk_correct(logits, y.to(logits.device), (1,))[0])
        n += len(y)
    correct, n = (int(v) for v in sum_over_ranks(torch.tensor([correct, n], dtype=torch.int64)).tolist())
    return 100.0 * correct / max(n, 1)


@dataclass(frozen=True)
class ChildScorer:
    """Builds a worker's evaluator of children: the trained supernet rebuilt from its description and
    weights, the driver's calibration batches, search-val from the worker's own loaders. Pickled to Ray actors.

    Attributes:
        conf: the effective conf (device, seed, the search stage's loader).
        desc: the supernet's description.
        state: the trained supernet's weights.
        calib: the BN calibration batches.
    """

    conf: Conf
    desc: ModelDesc
    state: dict[str, torch.Tensor]
    calib: list[torch.Tensor]

    def __call__(self) -> Callable[[Code], tuple[float, dict]]:
        stage, device = self.conf.nas.search, resolve_device(self.conf.common.device)
        model = Model(self.desc, droppath=False)
        model.load_state_dict(self.state)
        supernet, space = Supernet(model.to(device)), BigNASSpace(elastic_space(self.desc))
        loaders = get_loaders(stage.loader, seed=self.conf.common.seed)
        val = plain_val(loaders, stage.loader, self.conf.common.seed)
        judge = ChildJudge(supernet, ChildData(self.calib, val, loaders.test), device, {},
                           layout_of(stage.trainer.channels_last), self.conf.common.shards)  # fmt: skip
        return lambda code: (judge.accuracy(space.decode(code), val), {})
