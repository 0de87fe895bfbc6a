"""ArchTrainer: alphas move only with the alpha optimizer, weights only with the weight optimizer."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from algos.darts import DartsTrainerConf
from descgraph.errors import ConfError, DataError, DescError
from descgraph.train import ArchTrainer, Trainer, load_checkpoint


class Alphas(nn.Module):
    """Stands in for descgraph.nn.ArchParams: a module holding architecture parameters only."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.alphas = nn.Parameter(torch.zeros(n))


class Supernet(nn.Module):
    """softmax(alphas)-weighted sum of two linear maps; `weights()` and `arch_params()` kept apart."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.a, self.b = nn.Linear(2, 2), nn.Linear(2, 2)
        self.arch = Alphas(2)

    def forward(self, x):
        w = torch.softmax(self.arch.alphas, 0)
        return w[0] * self.a(x) + w[1] * self.b(x), None

    def weights(self):
        return (p for name, p in self.named_parameters() if not name.startswith("arch."))

    def arch_params(self):
        return self.arch.parameters()


class SupernetWithoutWeights(Supernet):
    """Only `arch_params()`: the weights are the other parameters."""

    weights = None  # type: ignore[assignment]


def _conf(**kw) -> DartsTrainerConf:
    # a trainer conf with an alpha optimizer: DARTS's search trainer's
    return DartsTrainerConf(**{"epochs": 2, "optimizer": {"lr": 0.1}, **kw})


def _ids(optimizer: torch.optim.Optimizer) -> set[int]:
    return {id(p) for group in optimizer.param_groups for p in group["params"]}


@pytest.mark.parametrize("net", [Supernet, SupernetWithoutWeights])
def test_the_two_optimizers_never_share_a_parameter(net):
    model = net()
    trainer = ArchTrainer(_conf(), model, progress=False)
    alpha = {id(model.arch.alphas)}
    assert _ids(trainer.alpha_optimizer) == alpha
    assert _ids(trainer.optimizer) == {id(p) for p in model.parameters()} - alpha
    assert _ids(Trainer(_conf(), net(), progress=False).optimizer).isdisjoint({id(model.arch.alphas)})


def test_alpha_optimizer_type_comes_from_conf():
    trainer = ArchTrainer(_conf(), Supernet(), progress=False)
    assert isinstance(trainer.alpha_optimizer, torch.optim.Adam)  # DARTS: Adam(3e-4, betas (0.5, 0.999))
    assert trainer.alpha_optimizer.defaults["betas"] == (0.5, 0.999)


def test_weight_step_leaves_alphas_and_arch_step_leaves_weights(make_loader):
    model = Supernet()
    trainer = ArchTrainer(_conf(), model, progress=False)
    x, y = next(iter(make_loader(n=32)))
    alphas, weights = model.arch.alphas.detach().clone(), [p.detach().clone() for p in model.weights()]
    trainer.train_step(x, y)
    assert torch.equal(model.arch.alphas, alphas) and model.arch.alphas.grad is None
    weights = [p.detach().clone() for p in model.weights()]
    trainer.arch_step(x, y, x, y)
    assert not torch.equal(model.arch.alphas, alphas)
    assert all(torch.equal(p, q) for p, q in zip(model.weights(), weights))


def test_first_order_alpha_gradient_is_the_validation_loss_gradient():
    model = Supernet()
    conf = _conf(alpha_optimizer={"type": "sgd", "lr": 1.0, "momentum": 0.0, "decay": 0.0})
    trainer = ArchTrainer(conf, model, progress=False)
    g = torch.Generator().manual_seed(1)
    xv, yv = torch.randn(8, 2, generator=g), torch.randint(0, 2, (8,), generator=g)
    expected = torch.autograd.grad(nn.functional.cross_entropy(model(xv)[0], yv), [model.arch.alphas])[0]
    before = model.arch.alphas.detach().clone()
    trainer.arch_step(torch.randn(8, 2), torch.zeros(8, dtype=torch.long), xv, yv)
    assert torch.allclose(model.arch.alphas.grad, expected)
    assert torch.allclose(model.arch.alphas.detach(), before - expected)  # plain SGD, lr 1


class Pairing(ArchTrainer):
    """Records which train and val batches each architecture step saw."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.pairs: list[tuple[torch.Tensor, torch.Tensor]] = []

    def arch_step(self, x_train, y_train, x_val, y_val):
        self.pairs.append((x_train, x_val))
        super().arch_step(x_train, y_train, x_val, y_val)


def test_each_train_batch_is_paired_with_the_next_val_batch_cycling_the_val_loader(make_loader):
    trainer = Pairing(_conf(epochs=1), Supernet(), progress=False)
    train, val = make_loader(n=96, batch_size=16), make_loader(n=32, seed=1, batch_size=16)
    trainer.fit(train, val)
    assert len(trainer.pairs) == 6
    val_x = [xv for _, xv in trainer.pairs]
    first_pass, second_pass = torch.cat(val_x[:2]), torch.cat(val_x[2:4])
    assert sorted(first_pass[:, 0].tolist()) == sorted(val.dataset.tensors[0][:, 0].tolist())
    assert sorted(second_pass[:, 0].tolist()) == sorted(first_pass[:, 0].tolist())  # a new pass, a new order
    assert not torch.equal(first_pass, second_pass)


class KilledAtEpoch2(ArchTrainer):
    def on_epoch_start(self, epoch: int) -> None:
        if epoch == 2:
            raise KeyboardInterrupt


def test_alpha_optimizer_is_checkpointed_and_a_resumed_search_equals_an_uninterrupted_one(tmp_path, make_loader):
    def run(folder: Path, trainer_class=ArchTrainer):
        model = Supernet()
        paths = {"checkpoint_path": folder / "ck.pt", "metrics_path": folder / "m.jsonl"}
        trainer = trainer_class(_conf(epochs=4), model, seed=3, progress=False, **paths)
        trainer.fit(make_loader(n=64), make_loader(n=48, seed=1))
        return model, trainer

    alone, _ = run(tmp_path / "a")
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "b", KilledAtEpoch2)
    saved = load_checkpoint(tmp_path / "b" / "ck.pt")["extra"]["alpha_optimizer"]
    assert {"exp_avg", "exp_avg_sq"} <= set(saved["state"][0])
    resumed, trainer = run(tmp_path / "b")
    assert trainer.start_epoch == 2 and [r["epoch"] for r in trainer.history] == [0, 1, 2, 3]
    assert all(torch.equal(p, q) for p, q in zip(alone.state_dict().values(), resumed.state_dict().values()))


def test_a_plain_trainer_checkpoint_does_not_fit_an_arch_trainer(tmp_path, make_loader):
    from descgraph.train import CheckpointError

    Trainer(_conf(epochs=1), Supernet(), checkpoint_path=tmp_path / "ck.pt", progress=False).fit(make_loader(n=32))
    trainer = ArchTrainer(_conf(epochs=2), Supernet(), checkpoint_path=tmp_path / "ck.pt", progress=False)
    with pytest.raises(CheckpointError, match="missing 'alpha_optimizer'"):
        trainer.fit(make_loader(n=32), make_loader(n=32, seed=1))


def test_architecture_steps_need_a_validation_loader(make_loader):
    with pytest.raises(ConfError, match="search-val"):
        ArchTrainer(_conf(), Supernet(), progress=False).fit(make_loader(n=32))


def test_a_validation_loader_without_batches_is_a_data_error(make_loader):
    with pytest.raises(DataError, match="yields no batches"):
        ArchTrainer(_conf(), Supernet(), progress=False).fit(make_loader(n=32), [])


def test_a_model_without_architecture_parameters_is_refused(make_net):
    # a DescgraphError: the CLI prints one line, not a traceback
    with pytest.raises(DescError, match="no architecture parameters"):
        ArchTrainer(_conf(), make_net(), progress=False)
