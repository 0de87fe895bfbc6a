"""BigNAS finalizers: each device's pick becomes a static child, its weights sliced from the supernet."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch

from algos.bignas.judge import ChildJudge
from algos.bignas.search import Candidate, SearchOutcome
from algos.bignas.supernet import build_child, extract_child, resize, save_child
from descgraph.desc import ModelDesc
from descgraph.desc.elastic import BigNASConfig
from descgraph.nas import Finalizers
from descgraph.nn import Model

log = logging.getLogger("descgraph")


class ChildFinalizers(Finalizers):
    """Recalibrate a pick's BN, extract it (static description and sliced weights), save it in final/<device>/."""

    def finalize_child(self, judge: ChildJudge, config: BigNASConfig) -> tuple[ModelDesc, dict[str, torch.Tensor]]:
        """The child as a static description and its weights (BN statistics re-estimated for it)."""
        judge.recalibrate(config)
        return extract_child(judge.supernet, config)

    def finalize_devices(self, judge: ChildJudge, outcome: SearchOutcome, final_dir: Path) -> dict[str, Any]:
        """Each device's child saved to final/<device>/; infeasible devices say why."""
        results = {}
        for device in outcome.devices:
            entry: dict[str, Any] = {"budget": device.constraints}
            if device.pick is None:
                entry["error"] = device.error or f"device {device.name!r}: no child evaluated within its budgets"
                log.warning("%s", entry["error"])
            else:
                entry.update(self.save_device_child(judge, Path(final_dir) / device.name, device.pick))
            results[device.name] = entry
        return results

    def save_device_child(self, judge: ChildJudge, dirpath: Path, pick: Candidate) -> dict[str, Any]:
        """Extract and save; its search-val accuracy, costs, and largest difference from the supernet."""
        desc, state = self.finalize_child(judge, pick.config)
        static = build_child(desc, state).to(judge.device, memory_format=judge.memory_format)  # keys fit first
        save_child(dirpath, desc, state)
        return {
            "dir": str(dirpath),
            "cost": pick.costs,
            "val_top1": pick.accuracy,
            "extraction_max_abs_diff": max_diff(judge, static, pick.config),
            "config": pick.config.model_dump(mode="json"),
        }


@torch.no_grad()
def max_diff(judge: ChildJudge, static: Model, config: BigNASConfig) -> float:
    """Largest |static - supernet| logit on the first test batch, both in eval mode."""
    x = resize(judge.to_device(next(iter(judge.data.test))[0]), config.resolution)
    judge.supernet.activate(config)
    judge.supernet.eval()
    return float((static(x)[0] - judge.supernet(x)[0]).abs().max())
