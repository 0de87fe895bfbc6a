"""BigNAS experiment: train the elastic supernet, search children per device, finalize them with their weights.

<expdir>/conf.yaml, log.txt, search/{full_model_desc.yaml, metrics.jsonl, checkpoint.pt, evolution.jsonl,
pareto.yaml, pareto.png}, final/<device>/{model_desc.yaml, model.pt}, summary.json, report.html.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import islice
from typing import Any

import torch
from torch.utils.data import DataLoader

from algos.bignas.conf import BigNASConf
from algos.bignas.pareto import plot_pareto, write_pareto_yaml
from algos.bignas.search import Candidate, SearchOutcome, multi_objective_search
from algos.bignas.space import BigNASSpace
from algos.bignas.supernet import Supernet, build_child, extract_child, recalibrate_bn, resize, save_child
from algos.bignas.trainer import BigNASTrainer
from descgraph.conf import LoaderConf
from descgraph.data import BatchTransform, Loaders, get_loaders, make_loader, split_train_val
from descgraph.desc import ModelDesc
from descgraph.desc.elastic import BigNASConfig, apply_config, elastic_space
from descgraph.desc.io import atomic_write_text
from descgraph.errors import DescgraphError
from descgraph.hw.cost import CostModel, cost_model_from_conf
from descgraph.nas import ExperimentRunner, register_algo
from descgraph.nas._common import resolve_device, save_checked_desc, seed_all
from descgraph.nn import Model
from descgraph.train import MetricsLog, topk_correct
from descgraph.train.seeding import derive_seed, loader_generators
from descgraph.viz import write_report

log = logging.getLogger("descgraph")


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
    splits = loaders.splits
    val_set = split_train_val(splits.train, loader_conf.val_ratio, seed)[1]  # the split get_loaders made
    plain = BatchTransform(splits.mean, splits.std)
    val = make_loader(val_set, loader_conf.test_batch, plain, loader_conf, seed, shuffle=False)
    return ChildData(calib, val, loaders.test)


class ChildJudge:
    """Accuracy with inherited weights after BN recalibration, and costs, of a supernet's children."""

    def __init__(
        self,
        supernet: Supernet,
        data: ChildData,
        device: torch.device,
        cost_models: dict[str, CostModel],
        memory_format: torch.memory_format = torch.contiguous_format,
    ) -> None:
        self.supernet, self.data, self.device, self.memory_format = supernet, data, device, memory_format
        self.cost_models = cost_models

    def to_device(self, x: torch.Tensor) -> torch.Tensor:
        return x.to(self.device).contiguous(memory_format=self.memory_format)

    def recalibrate(self, config: BigNASConfig) -> None:
        recalibrate_bn(self.supernet, config, (self.to_device(x) for x in self.data.calib))

    @torch.no_grad()
    def accuracy(self, config: BigNASConfig, batches: Iterable, recalibrate: bool = True) -> float:
        """Top-1 (percent) of the child inside the supernet on `batches`."""
        if recalibrate:
            self.recalibrate(config)
        self.supernet.activate(config)
        self.supernet.eval()
        return _top1(self.supernet, batches, self.to_device)

    def costs(self, config: BigNASConfig) -> dict[str, float]:
        child = apply_config(self.supernet.desc, config)
        return {name: float(model.cost(child)) for name, model in self.cost_models.items()}

    def candidate(self, config: BigNASConfig) -> Candidate:
        return Candidate(config, self.accuracy(config, self.data.val), self.costs(config))


@torch.no_grad()
def _top1(model: torch.nn.Module, batches: Iterable, to_device, resolution: int | None = None) -> float:
    """Top-1 (percent) over (x, y) batches, each x moved by `to_device` (and resized when given a resolution)."""
    correct, n = 0, 0
    for x, y in batches:
        x = to_device(x) if resolution is None else resize(to_device(x), resolution)
        logits, _ = model(x)
        correct += int(topk_correct(logits, y.to(logits.device), (1,))[0])
        n += len(y)
    return 100.0 * correct / max(n, 1)


@register_algo("bignas", conf=BigNASConf)
class BigNASExperimentRunner(ExperimentRunner):
    """Sandwich-train the supernet, evolve children for every device, save each device's child and weights."""

    def trainer_class(self) -> type[BigNASTrainer]:
        return BigNASTrainer

    def search_loaders(self) -> Loaders:
        """Search-train and search-val (BigNASConf asks for a share), even with 0 epochs: children are scored on it."""
        return get_loaders(self.conf.nas.search.loader, seed=self.conf.common.seed)  # children are judged on data

    def run(self, search: bool = True, eval: bool = True) -> dict[str, Any]:
        """Train, search and finalize in one go (a rerun resumes training from its checkpoint)."""
        if not (search and eval):
            raise DescgraphError(
                "bignas: --no-search and --no-eval do not apply; the run trains, searches and finalizes"
            )
        start = time.perf_counter()
        stage, seed = self.conf.nas.search, self.conf.common.seed
        devices = stage.multi_objective.targets()
        loaders = self.search_loaders()
        self._prepare_expdir()
        seed_all(seed)
        supernet, space = self.build_supernet()
        data = child_data(loaders, stage.loader, stage.trainer.sandwich.calib_batches, seed)
        train = self.train_supernet(supernet, space, loaders, data)
        judge = self.make_judge(supernet, data, devices)
        summary: dict[str, Any] = {"algo": self.conf.algo, "seed": seed, "search": train}
        summary["largest"] = self.child_summary(judge, space.largest())
        summary["smallest"] = self.child_summary(judge, space.smallest())
        outcome = self.search_children(judge, space, devices)
        summary["evolution"] = outcome.summary()
        summary["devices"] = self.finalize_devices(judge, outcome)
        summary["wall_s"] = round(time.perf_counter() - start, 2)
        atomic_write_text(self.expdir / "summary.json", json.dumps(summary, indent=2) + "\n")
        write_report(self.expdir)
        return summary

    def build_supernet(self) -> tuple[Supernet, BigNASSpace]:
        """The supernet of `nas.search.model_desc` (saved as search/full_model_desc.yaml) and its children."""
        desc = self.model_desc_builder().build(self.conf.nas.search.model_desc)
        save_checked_desc(desc, self.expdir / "search" / "full_model_desc.yaml")
        return Supernet(Model(desc, droppath=False)), BigNASSpace(elastic_space(desc))

    def make_judge(self, supernet: Supernet, data: ChildData, devices: list) -> ChildJudge:
        """A judge with every cost model the devices' constraints and the Pareto front name."""
        mo, trainer = self.conf.nas.search.multi_objective, self.conf.nas.search.trainer
        names = sorted({mo.pareto_cost, *(model for _, constraints in devices for model in constraints)})
        layout = torch.channels_last if trainer.channels_last else torch.contiguous_format
        device = resolve_device(self.conf.common.device)
        return ChildJudge(supernet, data, device, {name: self.cost_model(name) for name in names}, layout)

    def cost_model(self, name: str) -> CostModel:
        """A cost model of the devices' constraints or the Pareto front, by registered name (`hw` gives a LUT)."""
        return cost_model_from_conf(name, self.conf.hw)

    def train_supernet(self, supernet: Supernet, space: BigNASSpace, loaders: Loaders, data: ChildData) -> dict:
        """Sandwich training with checkpoints; returns the last epoch's headline numbers."""
        stage = self.conf.nas.search
        trainer = BigNASTrainer(
            stage.trainer,
            supernet,
            space=space,
            device=resolve_device(self.conf.common.device),
            seed=self.conf.common.seed,
            title="search",
            metrics_path=self.expdir / "search" / "metrics.jsonl",
            checkpoint_path=self.expdir / "search" / "checkpoint.pt",
            resume=self.conf.common.resume,
        )
        result = trainer.fit(loaders.train, data.val)
        keep = ("train_loss", "train_top1", "val_top1", "val_smallest_top1")
        return {"epochs": len(result.epochs), **{k: result.last[k] for k in keep if k in result.last}}

    def child_summary(self, judge: ChildJudge, config: BigNASConfig) -> dict[str, Any]:
        """A child's test accuracy with inherited weights (BN recalibrated), its costs and config."""
        return {
            "test_top1": judge.accuracy(config, judge.data.test),
            "costs": judge.costs(config),
            "config": config.model_dump(mode="json"),
        }

    def search_children(self, judge: ChildJudge, space: BigNASSpace, devices: list) -> SearchOutcome:
        """The evolution, its per-generation records in evolution.jsonl, the front in pareto.yaml and pareto.png."""
        mo, search_dir = self.conf.nas.search.multi_objective, self.expdir / "search"
        records = MetricsLog(search_dir / "evolution.jsonl")
        records.rewrite([])
        units = {name: model.unit for name, model in judge.cost_models.items()}
        outcome = multi_objective_search(
            space,
            judge.candidate,
            devices,
            mo.population_size,
            mo.generations,
            pareto_cost=mo.pareto_cost,
            mutation_prob=mo.mutation_prob,
            crossover_share=mo.crossover_share,
            parents=mo.parents,
            time_limit_s=mo.time_limit_s,
            seed=derive_seed(self.conf.common.seed, -3),
            units=units,
            on_generation=records.append,
        )
        write_pareto_yaml(outcome, search_dir / "pareto.yaml", mo.pareto_cost)
        plot_pareto(outcome, search_dir / "pareto.png", mo.pareto_cost, units[mo.pareto_cost])
        return outcome

    def finalize_devices(self, judge: ChildJudge, outcome: SearchOutcome) -> dict[str, Any]:
        """Each device's child saved to final/<device>/ and tested as a static model; infeasible devices say why."""
        results = {}
        for device in outcome.devices:
            entry: dict[str, Any] = {"budget": device.constraints}
            if device.pick is None:
                entry["error"] = device.error or f"device {device.name!r}: no child evaluated within its budgets"
                log.warning("%s", entry["error"])
            else:
                entry.update(self.finalize_child(judge, device.name, device.pick))
            results[device.name] = entry
        return results

    def finalize_child(self, judge: ChildJudge, name: str, pick: Candidate) -> dict[str, Any]:
        """Recalibrate, extract, save; the static child's test accuracy and its largest difference from the supernet."""
        judge.recalibrate(pick.config)
        desc, state = extract_child(judge.supernet, pick.config)
        static = build_child(desc, state).to(judge.device, memory_format=judge.memory_format)  # keys fit before saving
        dirpath = self.expdir / "final" / name
        save_child(dirpath, desc, state)
        return {
            "dir": str(dirpath),
            "cost": pick.costs,
            "val_top1": pick.accuracy,
            "test_top1": _top1(static, judge.data.test, judge.to_device, pick.config.resolution),
            "extraction_max_abs_diff": self._max_diff(judge, static, pick.config, desc),
            "config": pick.config.model_dump(mode="json"),
        }

    @torch.no_grad()
    def _max_diff(self, judge: ChildJudge, static: Model, config: BigNASConfig, desc: ModelDesc) -> float:
        """Largest |static - supernet| logit on the first test batch, both in eval mode."""
        x = resize(judge.to_device(next(iter(judge.data.test))[0]), config.resolution)
        judge.supernet.activate(config)
        judge.supernet.eval()
        return float((static(x)[0] - judge.supernet(x)[0]).abs().max())
