"""Learning-rate schedules and optimizers from conf, against the closed-form formulas."""

from __future__ import annotations

import json
import math

import pytest
import torch

from descgraph.conf import load_conf
from descgraph.conf.schema import LrScheduleConf, OptimizerConf, TrainerConf
from descgraph.errors import ConfError
from descgraph.train import Trainer, lr_at, make_optimizer, make_scheduler


def cosine(e: int, epochs: int, lr: float, min_lr: float) -> float:
    """SGDR / DARTS: min_lr + (lr - min_lr) * (1 + cos(pi * e / E)) / 2."""
    return min_lr + (lr - min_lr) * (1 + math.cos(math.pi * e / epochs)) / 2


@pytest.mark.parametrize("e", [0, 4, 9])
def test_cosine_matches_the_closed_form(e):
    conf = LrScheduleConf(type="cosine", min_lr=0.001)
    assert lr_at(e, 10, 0.1, conf) == pytest.approx(cosine(e, 10, 0.1, 0.001), abs=1e-12)


def test_cosine_starts_at_lr_and_ends_near_min_lr():
    conf = LrScheduleConf(type="cosine", min_lr=0.001)
    assert lr_at(0, 50, 0.025, conf) == pytest.approx(0.025)
    assert lr_at(49, 50, 0.025, conf) == pytest.approx(0.001 + 0.024 * (1 + math.cos(math.pi * 49 / 50)) / 2)
    assert lr_at(50, 50, 0.025, conf) == pytest.approx(0.001)


def test_warmup_is_linear_then_the_cosine_runs_over_the_remaining_epochs():
    conf = LrScheduleConf(type="cosine", min_lr=0.0, warmup={"epochs": 4})
    assert [lr_at(e, 10, 0.1, conf) for e in range(4)] == pytest.approx([0.025, 0.05, 0.075, 0.1])
    assert [lr_at(e, 10, 0.1, conf) for e in range(4, 10)] == pytest.approx([cosine(e, 6, 0.1, 0.0) for e in range(6)])


def test_constant_with_and_without_warmup():
    assert [lr_at(e, 5, 0.1, LrScheduleConf(type="constant")) for e in range(5)] == [0.1] * 5
    warm = LrScheduleConf(type="constant", warmup={"epochs": 2})
    assert [lr_at(e, 5, 0.1, warm) for e in range(5)] == pytest.approx([0.05, 0.1, 0.1, 0.1, 0.1])


def test_scheduler_steps_every_group_once_per_epoch():
    a, b = torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([{"params": [a], "lr": 0.1}, {"params": [b], "lr": 0.01}])
    conf = LrScheduleConf(type="cosine", min_lr=0.0, warmup={"epochs": 1})
    scheduler = make_scheduler(opt, 6, conf)
    for e in range(6):
        assert [g["lr"] for g in opt.param_groups] == pytest.approx([lr_at(e, 6, 0.1, conf), lr_at(e, 6, 0.01, conf)])
        opt.step()
        scheduler.step()


def test_trainer_records_the_cosine_rate_of_each_epoch(tmp_path, make_net, make_loader):
    conf = TrainerConf(epochs=4, optimizer={"lr": 0.2}, lr_schedule={"type": "cosine", "min_lr": 0.01})
    Trainer(conf, make_net(), metrics_path=tmp_path / "m.jsonl", progress=False).fit(make_loader(n=64))
    lrs = [json.loads(line)["lr"] for line in (tmp_path / "m.jsonl").read_text().splitlines()]
    assert lrs == pytest.approx([cosine(e, 4, 0.2, 0.01) for e in range(4)], abs=1e-12)


def test_sgd_and_adam_take_their_settings_from_conf():
    p = [torch.nn.Parameter(torch.zeros(2))]
    sgd = make_optimizer(p, OptimizerConf(type="sgd", lr=0.1, momentum=0.8, nesterov=True, decay=1e-4))
    assert isinstance(sgd, torch.optim.SGD)
    assert {k: sgd.defaults[k] for k in ("lr", "momentum", "nesterov", "weight_decay")} == {
        "lr": 0.1,
        "momentum": 0.8,
        "nesterov": True,
        "weight_decay": 1e-4,
    }
    adam = make_optimizer(p, OptimizerConf(type="adam", lr=3e-4, betas=[0.5, 0.999], decay=1e-3))
    assert isinstance(adam, torch.optim.Adam)
    assert adam.defaults["betas"] == (0.5, 0.999) and adam.defaults["weight_decay"] == 1e-3


def test_adam_with_three_betas_is_a_conf_error():
    with pytest.raises(ConfError, match=r"^command line: nas.search.trainer.optimizer.betas: List should have at most"):
        load_conf(["darts_toy"], ["nas.search.trainer.optimizer.betas=[0.9, 0.99, 0.9]"])
