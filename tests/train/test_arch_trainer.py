"""ArchTrainer: alphas move only with the alpha optimizer, weights only with the weight optimizer."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from descgraph.conf.schema import TrainerConf
from descgraph.nn import ArchParams, arch_parameters, weight_parameters
from descgraph.train import ArchTrainer


class Mixed(nn.Module):
    """softmax(alpha)-weighted sum of two linear maps, with arch params apart from weights."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Linear(2, 2), nn.Linear(2, 2)
        self.arch = ArchParams(alphas=torch.zeros(2))

    def forward(self, x):
        w = torch.softmax(self.arch["alphas"], 0)
        return w[0] * self.a(x) + w[1] * self.b(x), None

    def weights(self):
        return weight_parameters(self)

    def arch_params(self):
        return arch_parameters(self)


def _loader(seed: int) -> DataLoader:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(64, 2, generator=g)
    return DataLoader(TensorDataset(x, (x[:, 0] > 0).long()), batch_size=16, shuffle=True, generator=torch.Generator())


def test_optimizers_never_mix_and_alphas_move():
    torch.manual_seed(0)
    model = Mixed()
    trainer = ArchTrainer(TrainerConf(epochs=2), model, progress=False)
    weight_ids = {id(p) for g in trainer.optimizer.param_groups for p in g["params"]}
    alpha_ids = {id(p) for g in trainer.alpha_optimizer.param_groups for p in g["params"]}
    assert alpha_ids == {id(model.arch["alphas"])} and not weight_ids & alpha_ids
    before = model.arch["alphas"].detach().clone()
    trainer.fit(_loader(0), _loader(1))
    assert not torch.equal(before, model.arch["alphas"].detach())
    assert "alpha_optimizer" in trainer.extra_state()


def test_first_order_step_uses_the_validation_gradient():
    torch.manual_seed(0)
    model = Mixed()
    conf = TrainerConf(alpha_optimizer={"type": "sgd", "lr": 1.0, "momentum": 0.0, "decay": 0.0})
    trainer = ArchTrainer(conf, model, progress=False)
    xv, yv = torch.randn(8, 2), torch.randint(0, 2, (8,))
    expected = torch.autograd.grad(nn.functional.cross_entropy(model(xv)[0], yv), [model.arch["alphas"]])[0]
    before = model.arch["alphas"].detach().clone()
    trainer.arch_step(torch.randn(8, 2), torch.zeros(8, dtype=torch.long), xv, yv)
    assert torch.allclose(model.arch["alphas"].detach(), before - expected)
