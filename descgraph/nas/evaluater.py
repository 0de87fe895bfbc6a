"""Evaluater: scale a final description to the eval macro, train it from scratch, report test accuracy."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from descgraph.builders import get_builder
from descgraph.conf import Conf
from descgraph.desc import ModelDesc
from descgraph.nas._common import resolve_device, save_checked_desc, seed_all
from descgraph.nn import Model, count_macs
from descgraph.train import Trainer, save_checkpoint


@dataclass
class EvalResult:
    """The evaluated description and its metrics."""

    model_desc: ModelDesc
    metrics: dict[str, Any] = field(default_factory=dict)
    train_metrics: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {**self.metrics, "desc_hash": self.model_desc.hash()}


class Evaluater:
    """Runs the eval stage into `dirpath` (eval/ of the experiment folder)."""

    def __init__(self, conf: Conf, dirpath: Path) -> None:
        self.conf, self.dirpath = conf, Path(dirpath)

    def build_desc(self, final_desc: ModelDesc) -> ModelDesc:
        """The eval network: the final description's cells at the eval macro."""
        md = self.conf.nas.eval.model_desc
        return get_builder(md.builder).build(md, template=final_desc)

    def evaluate(self, final_desc: ModelDesc, loaders=None) -> EvalResult:
        """Train the scaled-up network and measure it on the test split; saves eval/model.pt."""
        stage, seed = self.conf.nas.eval, self.conf.common.seed
        seed_all(seed)
        desc = self.build_desc(final_desc)
        save_checked_desc(desc, self.dirpath / "full_model_desc.yaml")
        device = resolve_device(self.conf.common.device)
        model = Model(desc, droppath=True, affine=True).to(device)
        trainer = Trainer(
            stage.trainer,
            model,
            device=device,
            seed=seed,
            title="eval",
            metrics_path=self.dirpath / "metrics.jsonl",
            checkpoint_path=self.dirpath / "checkpoint.pt",
            resume=self.conf.common.resume,
            aux_weight=stage.model_desc.aux_weight,
            tensorboard=self.conf.common.tensorboard,
        )
        result = trainer.fit(loaders.train, loaders.test)
        save_checkpoint(self.dirpath / "model.pt", model.state_dict())  # atomic, like every checkpoint
        test = trainer.evaluate(loaders.test)
        model.cpu()
        macs = count_macs(model, desc.input_shape)
        metrics = {
            "test_top1": test["top1"],
            "test_top5": test["top5"],
            "test_loss": test["loss"],
            "params": model.param_count(),
            "params_with_aux": model.param_count(with_aux=True),
            "macs": macs,
            "flops": 2 * macs,
            "epochs": len(result.epochs),
        }
        return EvalResult(desc, metrics, result.epochs)
