"""A trainer stops at a non-finite loss, architecture weight or model state, naming the stage, the epoch and
the step, and never writes a checkpoint of a diverged epoch."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from algos.darts import DartsArchTrainer
from descgraph.builders import get_builder
from descgraph.conf import TrainerConf, load_conf
from descgraph.errors import DivergenceError
from descgraph.nn import Model
from descgraph.train import Trainer, load_checkpoint
from descgraph.train.divergence import first_nonfinite_tensor

STEPS = 8  # batches per epoch of make_loader(): 256 points, batches of 32


class NanAtCall(nn.Module):
    """Cross entropy, made NaN at its n-th call (a loss that diverges at one known step)."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n, self.calls = n, 0

    def forward(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        loss = nn.functional.cross_entropy(logits, y)
        return loss * float("nan") if self.calls == self.n else loss


def test_a_nan_loss_stops_at_its_step_and_keeps_the_last_good_checkpoint(tmp_path, make_net, make_loader):
    checkpoint, metrics = tmp_path / "checkpoint.pt", tmp_path / "metrics.jsonl"
    trainer = Trainer(
        TrainerConf(epochs=3), make_net(), criterion=NanAtCall(STEPS + 3), title="search",
        checkpoint_path=checkpoint, metrics_path=metrics, progress=False,
    )  # fmt: skip
    with pytest.raises(DivergenceError) as err:
        trainer.fit(make_loader())
    assert str(err.value) == (
        "search: epoch 2/3, step 3: the loss is not finite: training diverged (learning rate too high?); "
        f"the last good checkpoint, {checkpoint} (after epoch 1), is kept"
    )
    state = load_checkpoint(checkpoint)
    assert state["epoch"] == 1 and first_nonfinite_tensor(state["model"]) is None
    assert len(metrics.read_text().splitlines()) == 1


class InfAfterLastStep(Trainer):
    """A trainer whose last update of the first epoch leaves a weight infinite (its loss was finite)."""

    def clip_and_step(self) -> None:
        super().clip_and_step()
        if self.position == (0, STEPS - 1):
            with torch.no_grad():
                self.model.body.weight[0, 0] = float("inf")


def test_a_weight_left_infinite_by_the_last_step_stops_the_epoch_before_its_checkpoint(tmp_path, make_net, make_loader):
    checkpoint, metrics = tmp_path / "checkpoint.pt", tmp_path / "metrics.jsonl"
    trainer = InfAfterLastStep(
        TrainerConf(epochs=2), make_net(), title="eval", checkpoint_path=checkpoint, metrics_path=metrics,
        progress=False,
    )  # fmt: skip
    with pytest.raises(DivergenceError, match=r"^eval: end of epoch 1/2: body.weight is not finite: .*no checkpoint"):
        trainer.fit(make_loader())
    assert not checkpoint.exists() and metrics.read_text() == ""


def _digits_supernet_and_loaders(nan_val: bool):
    """A 3-cell DARTS supernet of the digits conf, and train / val loaders of random 8x8 images (val all NaN)."""
    macro = ["n_cells=3", "n_reductions=1", "cell.n_nodes=2"]
    conf = load_conf("darts_digits", [f"nas.search.model_desc.{m}" for m in macro] + ["nas.search.trainer.epochs=1"])
    md = conf.nas.search.model_desc
    torch.manual_seed(0)
    model = Model(get_builder(md.builder).build(md), droppath=False)
    x, y = torch.randn(16, 1, 8, 8), torch.randint(0, 10, (16,))
    val = TensorDataset(torch.full_like(x, float("nan")) if nan_val else x, y)
    return conf, model, DataLoader(TensorDataset(x, y), batch_size=8), DataLoader(val, batch_size=8)


@pytest.mark.parametrize("order", ["first", "second"])
def test_an_architecture_step_on_nan_data_stops_before_the_weight_step(order):
    conf, model, train, val = _digits_supernet_and_loaders(nan_val=True)
    conf.nas.search.trainer.order = order
    trainer = DartsArchTrainer(conf.nas.search.trainer, model, title="search", progress=False)
    weights = {k: p.detach().clone() for k, p in model.named_parameters() if "alphas" not in k}
    with pytest.raises(DivergenceError, match=r"^search: epoch 1/1, step 1: the architecture step left non-finite"):
        trainer.fit(train, val)
    assert all(torch.equal(w, dict(model.named_parameters())[k]) for k, w in weights.items())  # no weight step
