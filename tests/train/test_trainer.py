"""Trainer: learning, evaluation, drop path ramp, clipping, aux loss, hooks, metrics, seeding, resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from tqdm import tqdm

from descgraph.conf.schema import TrainerConf
from descgraph.train import Trainer, load_checkpoint, seed_epoch

REPO = Path(__file__).resolve().parents[2]


def _conf(**kw) -> TrainerConf:
    return TrainerConf(**{"epochs": 4, "optimizer": {"type": "sgd", "lr": 0.2, "decay": 0.0}, **kw})


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _without_time(records: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "time_s"} for r in records]


def test_learns_a_separable_problem_and_writes_one_line_per_epoch(tmp_path, make_net, make_loader):
    trainer = Trainer(_conf(), make_net(), metrics_path=tmp_path / "m.jsonl", title="toy", progress=False)
    result = trainer.fit(make_loader(), make_loader(seed=1))
    assert result.last["val_top1"] > 95 and result.best_val_top1 == max(r["val_top1"] for r in result.epochs)
    lines = _lines(tmp_path / "m.jsonl")
    assert lines == result.epochs and [r["epoch"] for r in lines] == [0, 1, 2, 3]
    fields = {"epoch", "title", "lr", "time_s", "train_loss", "train_top1", "train_top5", "train_n"}
    assert fields | {"val_loss", "val_top1", "val_top5", "val_n"} <= set(lines[0]) and lines[0]["title"] == "toy"
    assert lines[0]["train_n"] == 256 and lines[0]["val_n"] == 256


def test_without_validation_there_is_no_val_field_and_no_best(make_net, make_loader):
    result = Trainer(_conf(epochs=1), make_net(), progress=False).fit(make_loader(n=64))
    assert result.best_val_top1 is None and not any(k.startswith("val_") for k in result.last)


def test_evaluate_matches_a_hand_computation_and_caps_top5(make_net, make_loader):
    model, loader = make_net(n_classes=3), make_loader(n=50, batch_size=16, n_classes=3)
    trainer = Trainer(_conf(), model, progress=False)
    x, y = loader.dataset.tensors
    with torch.no_grad():
        logits = model(x)[0]
    metrics = trainer.evaluate(loader)
    assert metrics["n"] == 50 and metrics["top5"] == 100.0  # only 3 classes: top-5 is top-3
    assert metrics["top1"] == pytest.approx(100.0 * float((logits.argmax(1) == y).float().mean()))
    assert metrics["loss"] == pytest.approx(float(nn.functional.cross_entropy(logits, y)), rel=1e-6)
    assert model.training  # evaluate restores the mode it found


def test_drop_path_ramps_linearly_over_the_epochs(make_net, make_loader):
    model = make_net()
    Trainer(_conf(drop_path_prob=0.2), model, progress=False).fit(make_loader(n=64))
    assert model.drop_path_values == pytest.approx([0.0, 0.05, 0.1, 0.15])


@pytest.mark.parametrize("clip", [0.01, 0.5])
def test_gradient_clipping_bounds_the_weights_norm(make_net, clip):
    model = make_net()
    trainer = Trainer(_conf(grad_clip=clip), model, progress=False)
    trainer.train_step(torch.randn(8, 2) * 100, torch.zeros(8, dtype=torch.long))
    norm = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in model.parameters()]))
    assert float(norm) == pytest.approx(clip, rel=1e-4)  # these gradients are far above both bounds


def test_zero_grad_clip_leaves_gradients_alone(make_net):
    model, x, y = make_net(), torch.randn(8, 2) * 100, torch.zeros(8, dtype=torch.long)
    expected = torch.autograd.grad(nn.functional.cross_entropy(model(x)[0], y), list(model.parameters()))
    Trainer(_conf(grad_clip=0), model, progress=False).train_step(x, y)
    assert all(torch.allclose(p.grad, g) for p, g in zip(model.parameters(), expected))


def test_aux_weight_enters_the_loss(make_net):
    model = make_net(aux=True)
    x, y = torch.randn(8, 2), torch.randint(0, 2, (8,))
    ce = nn.functional.cross_entropy
    with torch.no_grad():
        expected = ce(model.body(x), y) + 0.4 * ce(model.aux_head(x), y)
    out = Trainer(_conf(), model, progress=False, aux_weight=0.4).train_step(x, y)
    assert not out["loss"].requires_grad and float(out["loss"]) == pytest.approx(float(expected))
    assert model.aux_head.weight.grad is not None  # the aux head is trained through the weighted term


def test_the_criterion_is_pluggable(make_net):
    model, x, y = make_net(), torch.randn(8, 2), torch.randint(0, 2, (8,))
    smooth = nn.CrossEntropyLoss(label_smoothing=0.3)
    with torch.no_grad():
        expected = smooth(model(x)[0], y)
    out = Trainer(_conf(), model, criterion=smooth, progress=False).train_step(x, y)
    assert float(out["loss"]) == pytest.approx(float(expected))


class Recording(Trainer):
    """A training agent that logs its hooks and adds a field to the metrics."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.calls: list[tuple] = []

    def on_epoch_start(self, epoch: int) -> None:
        self.calls.append(("start", epoch))

    def train_step(self, x, y):
        self.calls.append(("step", len(y)))
        return super().train_step(x, y)

    def on_epoch_end(self, epoch: int, metrics: dict) -> None:
        self.calls.append(("end", epoch, metrics["epoch"]))
        metrics["note"] = f"epoch {epoch}"


def test_train_step_and_hooks_are_pluggable(tmp_path, make_net, make_loader):
    trainer = Recording(_conf(epochs=2), make_net(), metrics_path=tmp_path / "m.jsonl", progress=False)
    trainer.fit(make_loader(n=64))
    per_epoch = [("step", 32), ("step", 32)]
    assert trainer.calls == [("start", 0), *per_epoch, ("end", 0, 0), ("start", 1), *per_epoch, ("end", 1, 1)]
    assert [r["note"] for r in _lines(tmp_path / "m.jsonl")] == ["epoch 0", "epoch 1"]


def test_seed_epoch_fixes_the_data_order_and_the_global_generators(make_loader):
    loader = make_loader(n=64)

    def order_and_draws(epoch):
        seed_epoch(7, epoch, [loader])
        order = torch.cat([y for _, y in loader]).tolist()
        return order, torch.rand(1).item(), np.random.rand(), __import__("random").random()

    assert order_and_draws(3) == order_and_draws(3)
    assert order_and_draws(3)[0] != order_and_draws(4)[0]


def test_progress_bars_are_quiet_off_a_terminal_and_shown_when_asked(capfd, make_net, make_loader):
    Trainer(_conf(epochs=1), make_net()).fit(make_loader(n=64))
    assert capfd.readouterr().err == ""
    Trainer(_conf(epochs=1), make_net(), progress=True).fit(make_loader(n=64))
    assert "train 1/1" in capfd.readouterr().err


class Interrupted(Trainer):
    """Raises KeyboardInterrupt at the 3rd batch of `kill_epoch`, or at the start of `kill_epoch` + 1."""

    def __init__(self, *args, kill_epoch: int, mid_epoch: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.kill_epoch, self.mid_epoch, self.epoch, self.batch = kill_epoch, mid_epoch, -1, 0

    def on_epoch_start(self, epoch: int) -> None:
        self.epoch, self.batch = epoch, 0
        if not self.mid_epoch and epoch == self.kill_epoch + 1:
            raise KeyboardInterrupt

    def train_step(self, x, y):
        self.batch += 1
        if self.mid_epoch and (self.epoch, self.batch) == (self.kill_epoch, 3):
            raise KeyboardInterrupt
        return super().train_step(x, y)


def test_ctrl_c_propagates_and_closes_the_progress_bars(make_net, make_loader):
    trainer = Interrupted(_conf(), make_net(), kill_epoch=1, mid_epoch=True, progress=True)
    with pytest.raises(KeyboardInterrupt):
        trainer.fit(make_loader(n=128), make_loader(seed=1))
    assert len(tqdm._instances) == 0


@pytest.mark.parametrize("mid_epoch", [True, False], ids=["killed-mid-epoch-3", "killed-after-epoch-3-unsaved"])
def test_a_resumed_run_equals_an_uninterrupted_one(tmp_path, make_net, make_loader, mid_epoch):
    """Killed in epoch index 2 (or after it, before its checkpoint), resumed from the checkpoint of epoch 2."""

    def run(folder: Path, trainer_class=Trainer, **kw):
        model = make_net(dropout=0.2)
        paths = {"metrics_path": folder / "m.jsonl", "checkpoint_path": folder / "ck.pt"}
        trainer = trainer_class(_conf(checkpoint_freq=2), model, seed=5, progress=False, **paths, **kw)
        return model, trainer.fit(make_loader(), make_loader(seed=1))

    alone, alone_result = run(tmp_path / "a")
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "b", Interrupted, kill_epoch=2, mid_epoch=mid_epoch)
    assert load_checkpoint(tmp_path / "b" / "ck.pt")["epoch"] == 2
    assert len(_lines(tmp_path / "b" / "m.jsonl")) == (2 if mid_epoch else 3)
    resumed, resumed_result = run(tmp_path / "b")
    assert all(torch.equal(p, q) for p, q in zip(alone.state_dict().values(), resumed.state_dict().values()))
    assert _without_time(_lines(tmp_path / "a" / "m.jsonl")) == _without_time(_lines(tmp_path / "b" / "m.jsonl"))
    assert _without_time(resumed_result.epochs) == _without_time(alone_result.epochs)
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["ck.pt", "m.jsonl"]  # no temp files


class Counting(Trainer):
    steps = 0

    def train_step(self, x, y):
        Counting.steps += 1
        return super().train_step(x, y)


def test_a_finished_checkpoint_returns_the_stored_result_without_training(tmp_path, make_net, make_loader):
    paths = {"metrics_path": tmp_path / "m.jsonl", "checkpoint_path": tmp_path / "ck.pt"}
    first = Trainer(_conf(epochs=2), make_net(), progress=False, **paths).fit(make_loader(n=64))
    model = make_net()
    again = Counting(_conf(epochs=2), model, progress=False, **paths).fit(make_loader(n=64))
    assert Counting.steps == 0 and again == first and len(_lines(tmp_path / "m.jsonl")) == 2
    assert torch.equal(model.body.weight, torch.load(tmp_path / "ck.pt", weights_only=True)["model"]["body.weight"])


def test_resume_false_starts_afresh(tmp_path, make_net, make_loader):
    paths = {"metrics_path": tmp_path / "m.jsonl", "checkpoint_path": tmp_path / "ck.pt"}
    Trainer(_conf(epochs=2), make_net(), progress=False, **paths).fit(make_loader(n=64))
    result = Trainer(_conf(epochs=3), make_net(), progress=False, resume=False, **paths).fit(make_loader(n=64))
    assert [r["epoch"] for r in _lines(tmp_path / "m.jsonl")] == [0, 1, 2] == [r["epoch"] for r in result.epochs]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="AMP runs on CUDA only")
def test_amp_on_cuda_trains(make_net, make_loader):
    trainer = Trainer(_conf(epochs=1), make_net(), device="cuda", progress=False)
    assert trainer.scaler is not None
    assert trainer.fit(make_loader(n=64)).last["train_n"] == 64


def test_no_amp_on_the_cpu(make_net):
    assert Trainer(_conf(amp=True), make_net(), progress=False).scaler is None


# --- a real kill: SIGKILL from outside, in the middle of epoch 3 --------------------------------------

_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import torch
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset
    from descgraph.conf.schema import TrainerConf
    from descgraph.train import Trainer

    folder, stall_epoch = Path(sys.argv[1]), int(sys.argv[2])

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 2))

        def forward(self, x):
            return self.body(x), None

    class Stalling(Trainer):
        def on_epoch_start(self, epoch):
            self.epoch, self.batch = epoch, 0

        def train_step(self, x, y):
            self.batch += 1
            if (self.epoch, self.batch) == (stall_epoch, 3):
                (folder / "stalled").touch()
                time.sleep(120)
            return super().train_step(x, y)

    def loader(seed):
        x = torch.randn(256, 2, generator=torch.Generator().manual_seed(seed))
        data = TensorDataset(x, (x[:, 0] + x[:, 1] > 0).long())
        return DataLoader(data, batch_size=32, shuffle=True, generator=torch.Generator())

    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = Net()
    conf = TrainerConf(epochs=4, optimizer={"lr": 0.1})
    paths = {"metrics_path": folder / "m.jsonl", "checkpoint_path": folder / "ck.pt"}
    Stalling(conf, model, seed=3, progress=False, **paths).fit(loader(0), loader(1))
    torch.save(model.state_dict(), folder / "final.pt")
    """
)


def _run_script(script: Path, folder: Path, stall_epoch: int) -> subprocess.Popen:
    folder.mkdir(exist_ok=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, str(script), str(folder), str(stall_epoch)], cwd=REPO, env=env)


@pytest.mark.slow
def test_a_run_killed_with_sigkill_mid_epoch_resumes_to_the_same_result(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(_SCRIPT)
    assert _run_script(script, tmp_path / "a", -1).wait(timeout=120) == 0
    killed = _run_script(script, tmp_path / "b", 2)
    deadline = time.monotonic() + 120
    while not (tmp_path / "b" / "stalled").exists():
        assert killed.poll() is None and time.monotonic() < deadline, "the run ended before stalling"
        time.sleep(0.05)
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=30)
    assert load_checkpoint(tmp_path / "b" / "ck.pt")["epoch"] == 2 and not (tmp_path / "b" / "final.pt").exists()
    assert _run_script(script, tmp_path / "b", -1).wait(timeout=120) == 0
    alone, resumed = (torch.load(tmp_path / d / "final.pt", weights_only=True) for d in ("a", "b"))
    assert all(torch.equal(alone[k], resumed[k]) for k in alone)
    assert _without_time(_lines(tmp_path / "a" / "m.jsonl")) == _without_time(_lines(tmp_path / "b" / "m.jsonl"))
