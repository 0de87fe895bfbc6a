"""Recomputing cells in backward changes memory, not math: same loss, gradients and BN statistics."""

from __future__ import annotations

import torch

from descgraph.builders import get_builder
from descgraph.conf.schema import ModelDescConf
from descgraph.nn import Model


def _run(recompute: int):
    md = ModelDescConf(
        builder="darts",
        n_cells=3,
        n_reductions=1,
        model_stems={"init_node_ch": 4},
        cell={"n_nodes": 2},
        dataset={"image_size": 8},
    )
    torch.manual_seed(0)
    model = Model(get_builder("darts").build(md), droppath=False)
    model.set_recompute(recompute)
    x, y = torch.randn(4, 3, 8, 8), torch.randint(0, 10, (4,))
    loss = torch.nn.functional.cross_entropy(model(x)[0], y)
    loss.backward()
    grads = [p.grad.clone() for p in model.parameters()]
    buffers = {k: v.clone() for k, v in model.state_dict().items() if "running" in k or "num_batches" in k}
    return loss.detach(), grads, buffers


def test_recompute_keeps_loss_gradients_and_bn_statistics():
    loss, grads, buffers = _run(0)
    loss_r, grads_r, buffers_r = _run(-1)
    assert torch.equal(loss, loss_r)
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(grads, grads_r))
    assert buffers.keys() == buffers_r.keys()
    assert all(torch.equal(buffers[k], buffers_r[k]) for k in buffers)
