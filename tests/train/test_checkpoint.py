"""Checkpoints: atomic writes, safe loads, one-line errors, RNG states that survive weights_only."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch

from descgraph.conf.schema import TrainerConf
from descgraph.errors import DescgraphError
from descgraph.train import CheckpointError, Trainer, load_checkpoint, rng_state, save_checkpoint, set_rng_state


def _draws() -> tuple:
    return random.random(), float(np.random.rand()), float(np.random.randn()), torch.rand(3).tolist()


def test_rng_states_survive_a_weights_only_round_trip(tmp_path):
    np.random.randn()  # leaves a cached gaussian in numpy's state
    save_checkpoint(tmp_path / "ck.pt", {"rng": rng_state()})
    expected = _draws()
    _draws()
    set_rng_state(load_checkpoint(tmp_path / "ck.pt")["rng"])
    assert _draws() == expected


def test_a_crash_during_save_leaves_the_previous_checkpoint_whole(tmp_path, monkeypatch):
    path = tmp_path / "ck.pt"
    save_checkpoint(path, {"epoch": 1, "w": torch.ones(2)})
    real_save = torch.save

    def crash_halfway(obj, f, *args, **kwargs):
        f.write(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", crash_halfway)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, {"epoch": 2, "w": torch.zeros(2)})
    monkeypatch.setattr(torch, "save", real_save)
    state = load_checkpoint(path)
    assert state["epoch"] == 1 and torch.equal(state["w"], torch.ones(2))
    assert list(tmp_path.iterdir()) == [path]  # no temp file left behind


def test_save_creates_the_folder_and_replaces_the_file(tmp_path):
    path = tmp_path / "deep" / "er" / "ck.pt"
    save_checkpoint(path, {"epoch": 1})
    save_checkpoint(path, {"epoch": 2})
    assert load_checkpoint(path)["epoch"] == 2 and len(list(path.parent.iterdir())) == 1


def _truncated(path):
    save_checkpoint(path, {"w": torch.randn(100)})
    path.write_bytes(path.read_bytes()[:200])


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda p: p.write_bytes(b"not a checkpoint"),
        lambda p: p.write_bytes(b""),
        _truncated,
        lambda p: save_checkpoint(p, [1, 2, 3]),  # type: ignore[arg-type]
        lambda p: p.mkdir(),
    ],
    ids=["garbage", "empty", "truncated", "not-a-dict", "a-folder"],
)
def test_a_corrupt_checkpoint_is_a_one_line_error_naming_the_file(tmp_path, corrupt):
    path = tmp_path / "ck.pt"
    corrupt(path)
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(path)
    assert isinstance(e.value, DescgraphError)
    assert str(path) in str(e.value) and "\n" not in str(e.value)


def test_a_missing_checkpoint_is_a_checkpoint_error(tmp_path):
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "nope.pt")


class _Exploit:
    """Unpickling this would create a file: a weights_only load must refuse it."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_pickled_object_is_refused_not_executed(tmp_path):
    path, marker = tmp_path / "ck.pt", tmp_path / "pwned"
    torch.save({"x": _Exploit(marker)}, path)
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(path)
    assert not marker.exists()


def test_a_checkpoint_of_another_model_is_a_checkpoint_error(tmp_path, make_net, make_loader):
    conf = TrainerConf(epochs=2)
    Trainer(conf, make_net(n_classes=2), checkpoint_path=tmp_path / "ck.pt", progress=False).fit(make_loader(n=32))
    other = Trainer(conf, make_net(n_classes=3), checkpoint_path=tmp_path / "ck.pt", progress=False)
    with pytest.raises(CheckpointError) as e:
        other.fit(make_loader(n=32, n_classes=3))
    assert "ck.pt: does not fit" in str(e.value) and "\n" not in str(e.value)


def test_trainer_checkpoint_holds_what_a_resume_needs(tmp_path, make_net, make_loader):
    conf = TrainerConf(epochs=3, checkpoint_freq=2)
    Trainer(conf, make_net(), checkpoint_path=tmp_path / "ck.pt", progress=False).fit(make_loader(n=32))
    state = load_checkpoint(tmp_path / "ck.pt")
    assert {"epoch", "model", "optimizer", "scheduler", "history", "rng", "extra"} <= set(state)
    assert state["epoch"] == 3 and [r["epoch"] for r in state["history"]] == [0, 1, 2]
    assert state["optimizer"]["state"]  # momentum buffers
