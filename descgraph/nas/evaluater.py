"""Evaluater: scale a final description to the eval macro, train it from scratch, report test accuracy."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from descgraph.builders import get_builder
from descgraph.conf import Conf
from descgraph.desc import ModelDesc, load_desc
from descgraph.errors import DescgraphError
from descgraph.nas._common import stage_model, stage_trainer
from descgraph.nas.searcher import SearchResult
from descgraph.nn import model_counts
from descgraph.train import Trainer, save_checkpoint


@dataclass
class EvalResult:
    """The evaluated description and its metrics."""

    model_desc: ModelDesc | None
    metrics: dict[str, Any] = field(default_factory=dict)
    train_metrics: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        if self.model_desc is None:
            return dict(self.metrics)
        return {**self.metrics, "desc_hash": self.model_desc.hash()}


class Evaluater:
    """Runs the eval stage into `dirpath` (eval/ of the experiment folder)."""

    def __init__(self, conf: Conf, dirpath: Path) -> None:
        self.conf, self.dirpath = conf, Path(dirpath)

    def evaluate_search(self, result: SearchResult | None, search_dir: Path, loaders=None) -> EvalResult:
        """Evaluate what the search found: `result`'s final description, or (no search in this run) the one
        the search saved in `search_dir`."""
        if result is not None and result.model_desc is not None:
            return self.evaluate(result.model_desc, loaders)
        final_path = Path(search_dir) / "final_model_desc.yaml"
        if not final_path.exists():
            raise DescgraphError(f"{final_path}: no final description; run the search first")
        return self.evaluate(load_desc(final_path), loaders)

    def build_desc(self, final_desc: ModelDesc) -> ModelDesc:
        """The eval network: the final description's cells at the eval macro."""
        md = self.conf.nas.eval.model_desc
        return get_builder(md.builder).build(md, template=final_desc)

    def evaluate(self, final_desc: ModelDesc, loaders=None) -> EvalResult:
        """Train the scaled-up network and measure it on the test split; saves eval/model.pt."""
        stage = self.conf.nas.eval
        path = self.dirpath / "full_model_desc.yaml"
        model = stage_model(self.conf, lambda: self.build_desc(final_desc), path, droppath=True)
        trainer = stage_trainer(self.conf, Trainer, stage, model, "eval", self.dirpath)
        result = trainer.fit(loaders.train, loaders.test)
        save_checkpoint(self.dirpath / "model.pt", model.state_dict())  # atomic, like every checkpoint
        test = trainer.evaluate(loaders.test)
        model.cpu()
        counts = model_counts(model, model.desc.input_shape)
        metrics = {
            "test_top1": test["top1"],
            "test_top5": test["top5"],
            "test_loss": test["loss"],
            **{k: counts[k] for k in ("params", "params_with_aux", "macs", "flops")},
            "epochs": len(result.epochs),
        }
        return EvalResult(model.desc, metrics, result.epochs)
