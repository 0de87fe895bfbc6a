"""The BigNAS eval stage: the saved children (final/<device>/) tested as static models, as deployed.

Children keep the supernet's weights (no retraining), so evaluating is testing; with `--no-search` it
re-tests the children a finished search saved.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from algos.bignas.judge import layout_of, top1
from algos.bignas.supernet import build_child
from descgraph.desc import load_desc
from descgraph.errors import DescgraphError
from descgraph.nas import EvalResult, Evaluater, SearchResult
from descgraph.nas._common import resolve_device
from descgraph.train import load_checkpoint


class ChildEvaluater(Evaluater):
    """Tests each device's saved child on the test split; `dirpath` is the experiment's final/."""

    def evaluate_search(self, result: SearchResult | None, search_dir: Path, loaders=None) -> EvalResult:
        """The children the search saved in this run (`result`), or those in final/ for the conf's devices."""
        if result is not None:
            names = [name for name, entry in result.search_metrics.get("devices", {}).items() if "dir" in entry]
        else:
            devices = [d.name for d in self.conf.nas.search.multi_objective.devices]
            names = [name for name in devices if (self.dirpath / name / "model_desc.yaml").exists()]
            if not names:
                raise DescgraphError(f"{self.dirpath}: no saved children of this conf's devices; run the search first")
        return EvalResult(None, {"devices": {name: self.test_child(self.dirpath / name, loaders) for name in names}})

    def test_child(self, dirpath: Path, loaders) -> dict[str, Any]:
        """A saved child's test accuracy as a static model, at its own resolution, and its folder."""
        desc = load_desc(dirpath / "model_desc.yaml")
        device = resolve_device(self.conf.common.device)
        layout = layout_of(self.conf.nas.search.trainer.channels_last)
        static = build_child(desc, load_checkpoint(dirpath / "model.pt")).to(device, memory_format=layout)

        def to_device(x):
            return x.to(device).contiguous(memory_format=layout)

        return {"test_top1": top1(static, loaders.test, to_device, desc.input_shape[-1])}
