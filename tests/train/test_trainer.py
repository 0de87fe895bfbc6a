"""Trainer: learning, schedules, drop path ramp, clipping, aux loss, metrics, checkpoints, resume."""

from __future__ import annotations

import json
import math

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from descgraph.conf.schema import LrScheduleConf, TrainerConf
from descgraph.train import CheckpointError, Trainer, load_checkpoint, lr_at, save_checkpoint


class Tiny(nn.Module):
    """(logits, aux) like descgraph.nn.Model, with a recorded drop-path probability."""

    def __init__(self, aux: bool = False) -> None:
        super().__init__()
        self.body = nn.Linear(2, 2)
        self.head = nn.Linear(2, 2) if aux else None
        self.drop_path_values: list[float] = []

    def forward(self, x):
        return self.body(x), (self.head(x) if self.head is not None and self.training else None)

    def drop_path_prob(self, p: float) -> None:
        self.drop_path_values.append(p)


def _data(n: int = 256, seed: int = 0) -> DataLoader:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 2, generator=g)
    y = (x[:, 0] + x[:, 1] > 0).long()
    return DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True, generator=torch.Generator())


def _conf(**kw) -> TrainerConf:
    return TrainerConf(**{"epochs": 4, "optimizer": {"type": "sgd", "lr": 0.2, "decay": 0.0}, **kw})


def test_learns_a_separable_problem_and_writes_metrics(tmp_path):
    torch.manual_seed(0)
    trainer = Trainer(_conf(), Tiny(), metrics_path=tmp_path / "m.jsonl", progress=False)
    result = trainer.fit(_data(), _data(seed=1))
    assert result.last["val_top1"] > 95 and result.best_val_top1 >= result.last["val_top1"]
    lines = [json.loads(x) for x in (tmp_path / "m.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in lines] == [0, 1, 2, 3]
    assert {"train_loss", "train_top1", "train_top5", "val_loss", "val_top1", "lr", "time_s", "title"} <= set(lines[0])


def test_cosine_schedule_matches_the_closed_form():
    conf = LrScheduleConf(type="cosine", min_lr=0.001)
    for e in (0, 3, 9):
        assert lr_at(e, 10, 0.1, conf) == pytest.approx(0.001 + (0.1 - 0.001) * (1 + math.cos(math.pi * e / 10)) / 2)
    warm = LrScheduleConf(type="cosine", min_lr=0.0, warmup={"epochs": 2})
    assert [round(lr_at(e, 10, 0.1, warm), 6) for e in (0, 1, 2)] == [0.05, 0.1, 0.1]


def test_drop_path_ramps_linearly():
    model = Tiny()
    Trainer(_conf(drop_path_prob=0.2), model, progress=False).fit(_data())
    assert model.drop_path_values == pytest.approx([0.0, 0.05, 0.1, 0.15])


def test_gradient_clipping_bounds_the_norm():
    model = Tiny()
    trainer = Trainer(_conf(grad_clip=0.01), model, progress=False)
    trainer.train_step(torch.randn(8, 2) * 100, torch.zeros(8, dtype=torch.long))
    norm = torch.sqrt(sum((p.grad**2).sum() for p in model.parameters()))
    assert norm <= 0.01 + 1e-6


def test_aux_weight_enters_the_loss():
    torch.manual_seed(0)
    model = Tiny(aux=True)
    x, y = torch.randn(8, 2), torch.randint(0, 2, (8,))
    trainer = Trainer(_conf(aux_weight=0.4), model, progress=False)
    loss, _ = trainer.compute_loss(x, y)
    ce = nn.functional.cross_entropy
    with torch.no_grad():
        expected = ce(model.body(x), y) + 0.4 * ce(model.head(x), y)
    assert float(loss.detach()) == pytest.approx(float(expected))


def test_checkpoint_is_atomic_and_corruption_is_one_line(tmp_path, monkeypatch):
    path = tmp_path / "ck.pt"
    save_checkpoint(path, {"epoch": 1, "w": torch.ones(2)})

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, {"epoch": 2})
    monkeypatch.undo()
    assert load_checkpoint(path)["epoch"] == 1 and list(tmp_path.iterdir()) == [path]
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(path)
    assert "ck.pt" in str(e.value) and "\n" not in str(e.value)


class _Stop(Exception):
    pass


def test_resume_after_a_crash_equals_an_uninterrupted_run(tmp_path):
    def run(folder, stop_after=None):
        torch.manual_seed(0)
        model = Tiny()
        trainer = Trainer(
            _conf(), model, seed=5, metrics_path=folder / "m.jsonl", checkpoint_path=folder / "ck.pt", progress=False
        )
        if stop_after is not None:

            def boom(epoch, record):
                if epoch == stop_after:
                    raise _Stop

            trainer.on_epoch_end = boom
        try:
            trainer.fit(_data(), _data(seed=1))
        except _Stop:
            return None
        return model

    alone = run(tmp_path / "a")
    assert run(tmp_path / "b", stop_after=2) is None  # epoch 2's line is written, its checkpoint is not
    resumed = run(tmp_path / "b")
    for p, q in zip(alone.parameters(), resumed.parameters()):
        assert torch.equal(p, q)

    def lines(folder):
        return [
            {k: v for k, v in json.loads(x).items() if k != "time_s"}
            for x in (folder / "m.jsonl").read_text().splitlines()
        ]

    assert lines(tmp_path / "a") == lines(tmp_path / "b")
