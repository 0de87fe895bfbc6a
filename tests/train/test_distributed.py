"""Data-parallel training on 2 real gloo ranks equals one process on the same shards, bitwise.

The ranks are spawned processes (tests/distributed_ranks.py) that run the code torchrun's ranks run; each
compares with the same work done in this process, which runs both micro-batches of every global batch.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
import torch.nn.functional as F
from distributed_ranks import run_ranks  # tests/ is on sys.path through its conftest

from algos.darts.architect import second_order_grads
from algos.darts.trainer import DartsArchTrainer
from descgraph.builders import get_builder
from descgraph.conf import load_conf, resolve_conf_path
from descgraph.conf.schema import Conf
from descgraph.data import get_loaders
from descgraph.errors import DistributedError
from descgraph.nas._common import stage_model, stage_trainer
from descgraph.nn import Model
from descgraph.train import Trainer, distributed
from descgraph.train.shards import Sharder

SMALL = [
    "nas.search.model_desc.n_cells=3",
    "nas.search.model_desc.n_reductions=1",
    "nas.search.model_desc.model_stems.init_node_ch=4",
    "nas.search.model_desc.cell.n_nodes=2",
    "nas.search.trainer.order=second",
    "nas.eval.model_desc.n_cells=3",
    "nas.eval.model_desc.n_reductions=1",
    "nas.eval.model_desc.model_stems.init_node_ch=4",
    "nas.eval.trainer.drop_path_prob=0.3",
    "nas.eval.loader.cutout=4",
    "nas.search.trainer.epochs=2",
    "nas.eval.trainer.epochs=2",
    "dataset.max_batches=2",
]


def train_stage(stage_name: str, overrides: tuple[str, ...] = ()) -> dict[str, Any]:
    """Train a small DARTS search or eval stage (drop path, cutout) on digits for 2 epochs of 2 batches, in
    2 shards (darts_digits_shards's `common.shards`); its weights, buffers and metrics records."""
    conf = load_conf([resolve_conf_path("darts_digits_shards")], [*SMALL, "common.threads=1", *overrides])
    search = stage_name == "search"
    stage = conf.nas.search if search else conf.nas.eval
    loaders = get_loaders(stage.loader, seed=conf.common.seed)
    builder = get_builder(stage.model_desc.builder)
    if search:
        model = stage_model(conf, lambda: builder.build(stage.model_desc), None, droppath=False)
    else:
        final = get_builder("darts").build(conf.nas.search.model_desc)  # a supernet's cells stand in for a final
        model = stage_model(conf, lambda: builder.build(stage.model_desc, template=final), None)
    trainer = stage_trainer(conf, DartsArchTrainer if search else Trainer, stage, model, stage_name)
    result = trainer.fit(loaders.train, loaders.val if search else loaders.test)
    return {"state": model.state_dict(), "epochs": result.epochs}


@pytest.mark.slow
@pytest.mark.parametrize(("stage_name", "order"), [("search", "first"), ("search", "second"), ("eval", "first")])
def test_two_ranks_train_the_weights_of_one_process(stage_name, order, tmp_path, one_thread):
    """4 steps in 2 shards: the weights and BN statistics of 2 ranks are those of one process, bit for bit
    (each rank runs one shard, one process both, and the gradients' sum adds the same two numbers)."""
    overrides = (f"nas.search.trainer.order={order}",)
    alone = train_stage(stage_name, overrides)
    ranks = run_ranks(train_stage, 2, tmp_path, stage_name, overrides)
    for rank in ranks:
        for name, value in alone["state"].items():
            torch.testing.assert_close(rank["state"][name], value, atol=0, rtol=0, msg=name)
        for ours, theirs in zip(rank["epochs"], alone["epochs"], strict=True):
            assert ours["train_n"] == theirs["train_n"] and ours["val_n"] == theirs["val_n"]
            for key in ("train_loss", "train_top1", "val_loss", "val_top1"):
                assert ours[key] == pytest.approx(theirs[key], rel=1e-6, abs=1e-6), key


def _tiny_supernet() -> Model:
    """A float64 DARTS supernet of 2 cells with alphas away from uniform."""
    conf = Conf()
    md = conf.nas.search.model_desc
    md.builder, md.n_cells, md.n_reductions, md.cell.n_nodes = "darts", 2, 1, 2
    md.model_stems.init_node_ch, md.model_stems.stem_multiplier = 4, 1
    md.dataset.image_size, md.dataset.channels, md.dataset.n_classes = 8, 1, 3
    torch.manual_seed(0)
    model = Model(get_builder("darts").build(md), droppath=False).double()
    with torch.no_grad():
        for a in model.arch_params():
            a.normal_(0, 0.5)
    return model


def _batches(n: int = 16) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(1)
    xt, xv = (torch.randn(n, 1, 8, 8, generator=g, dtype=torch.float64) for _ in range(2))
    yt, yv = (torch.randint(0, 3, (n,), generator=g) for _ in range(2))
    return (xt, yt), (xv, yv)


def second_order_on_shard() -> list[torch.Tensor]:
    """The architecture gradient of a global batch of 16 in 2 shards: each rank runs its half, one process both."""
    torch.set_num_threads(1)
    model = _tiny_supernet()
    (xt, yt), (xv, yv) = _batches()
    rows = slice(
        distributed.rank() * 16 // distributed.world_size(), (distributed.rank() + 1) * 16 // distributed.world_size()
    )
    return second_order_grads(
        model, F.cross_entropy, (xt[rows], yt[rows]), (xv[rows], yv[rows]), xi=0.1, weight_decay=3e-4,
        micro_batches=Sharder(model, 2),
    )  # fmt: skip


@pytest.mark.slow
def test_second_order_gradient_on_two_ranks_is_the_global_batch_gradient(tmp_path, one_thread):
    alone = second_order_on_shard()
    for grads in run_ranks(second_order_on_shard, 2, tmp_path):
        for ours, theirs in zip(grads, alone):
            assert ((ours - theirs).norm() / theirs.norm()).item() < 1e-5
            assert torch.equal(ours, theirs)  # the same sums of the same two numbers


def tokens_checked(differ: bool) -> str:
    """check_same_on_ranks on a token that is (or is not) the rank; the error's line, or ''."""
    try:
        distributed.check_same_on_ranks(distributed.rank() if differ else 7, "the children of epoch 1")
    except DistributedError as e:
        return str(e)
    return ""


@pytest.mark.slow
def test_ranks_that_drew_other_children_stop_with_one_line(tmp_path):
    assert run_ranks(tokens_checked, 2, tmp_path, False) == ["", ""]
    lines = run_ranks(tokens_checked, 2, tmp_path, True)
    assert lines == [f"rank {r} of 2: the ranks differ in the children of epoch 1" for r in range(2)]
