"""DARTS architecture gradients against finite differences, and the finalizer against DARTS_V2."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from algos.darts import DartsTrainerConf
from algos.darts.architect import second_order_grads
from algos.darts.finalizers import DartsFinalizers
from descgraph.builders import get_builder
from descgraph.conf.schema import Conf
from descgraph.desc.genotype import model_to_genotype, parse_genotype
from descgraph.nn import Model
from descgraph.train import ArchTrainer

SMOOTH_PRIMITIVES = ["none", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "dil_conv_3x3"]


def _tiny_supernet(n_cells: int = 2, n_nodes: int = 2, ch: int = 4, size: int = 8) -> Model:
    """A float64 DARTS supernet whose ReLUs are Softplus and which has no max pool.

    Finite differences of gradients are only meaningful for a smooth loss: across ReLU and max-pool
    kinks the gradient jumps, and DARTS's own eps = 0.01 / ||grad|| would cross thousands of them.
    """
    conf = Conf()
    md = conf.nas.search.model_desc
    md.builder, md.n_cells, md.n_reductions, md.cell.n_nodes = "darts", n_cells, 1, n_nodes
    md.model_stems.init_node_ch, md.model_stems.stem_multiplier = ch, 1
    md.dataset.image_size, md.dataset.channels, md.dataset.n_classes = size, 1, 3
    md.primitives = SMOOTH_PRIMITIVES
    torch.manual_seed(0)
    model = Model(get_builder("darts").build(md), droppath=False).double()
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, nn.ReLU):
                setattr(module, name, nn.Softplus(beta=4.0))
    with torch.no_grad():  # alphas away from uniform, so the landscape is not flat
        for a in model.arch_params():
            a.normal_(0, 0.5)
    return model


def _batches(seed: int = 1, n: int = 16, size: int = 8):
    g = torch.Generator().manual_seed(seed)
    xt, xv = (torch.randn(n, 1, size, size, generator=g, dtype=torch.float64) for _ in range(2))
    yt, yv = (torch.randint(0, 3, (n,), generator=g) for _ in range(2))
    return (xt, yt), (xv, yv)


def _loss(model, params, x, y):
    return F.cross_entropy(functional_call(model, params, (x,))[0], y)


def _first_order(model: Model, x: torch.Tensor, y: torch.Tensor) -> list[torch.Tensor]:
    return list(torch.autograd.grad(F.cross_entropy(model(x)[0], y), list(model.arch_params())))


def test_first_order_step_follows_the_validation_loss_gradient():
    model = _tiny_supernet()
    (xt, yt), (xv, yv) = _batches()
    expected = _first_order(model, xv, yv)
    trainer = ArchTrainer(DartsTrainerConf(epochs=1), model, progress=False)
    trainer.arch_step(xt, yt, xv, yv)  # DARTS first order is ArchTrainer's own step
    for a, e in zip(model.arch_params(), expected):
        torch.testing.assert_close(a.grad, e)


def test_second_order_gradient_matches_finite_differences():
    """d/da L_val(w - xi * (grad_w L_train(w, a) + wd * w), a), by central differences in a."""
    model = _tiny_supernet()
    train, val = _batches()
    xi, wd = 0.5, 3e-4
    alphas = list(model.arch_params())
    arch_ids = {id(a) for a in alphas}
    named = dict(model.named_parameters())
    w_names = [n for n, p in named.items() if id(p) not in arch_ids]
    a_names = [n for n, p in named.items() if id(p) in arch_ids]

    def objective(alpha_values):
        params = {**{n: named[n] for n in w_names}, **dict(zip(a_names, alpha_values))}
        w = [params[n] for n in w_names]
        g = torch.autograd.grad(_loss(model, params, *train), w)
        unrolled = {n: p.detach() - xi * (gi + wd * p.detach()) for n, p, gi in zip(w_names, w, g)}
        return float(_loss(model, {**unrolled, **dict(zip(a_names, alpha_values))}, *val))

    analytic = torch.cat(
        [g.flatten() for g in second_order_grads(model, F.cross_entropy, train, val, xi, weight_decay=wd)]
    )
    base = [a.detach().clone() for a in alphas]
    numeric, h = [], 1e-5
    for i, a in enumerate(base):
        for j in range(a.numel()):
            plus = [b.clone() for b in base]
            minus = [b.clone() for b in base]
            plus[i].view(-1)[j] += h
            minus[i].view(-1)[j] -= h
            numeric.append((objective(plus) - objective(minus)) / (2 * h))
    numeric = torch.tensor(numeric, dtype=torch.float64)
    rel = (analytic - numeric).norm() / numeric.norm()
    assert rel < 1e-2, float(rel)
    # and it differs from the first-order gradient: the unrolled term matters at this xi
    first = torch.cat([g.flatten() for g in _first_order(model, *val)])
    assert (first - numeric).norm() / numeric.norm() > 5 * rel


def _alphas_for(model: Model, genotype) -> None:
    """Set alphas so that each node's genotype edges carry their op with the largest weights."""
    primitives = [c.name for c in model.cells[0].desc.nodes[0].edges[0].op_desc.children]
    for cell in (
        next(c for c in model.cells if not c.desc.is_reduction),
        next(c for c in model.cells if c.desc.is_reduction),
    ):
        pairs = genotype.reduce if cell.desc.is_reduction else genotype.normal
        with torch.no_grad():
            for j, edges in enumerate(cell.dag):
                chosen = {src: op for op, src in pairs[2 * j : 2 * j + 2]}
                for k, edge in enumerate(edges):
                    a = edge.op.alphas
                    a.fill_(0.0)
                    a[primitives.index("none")] = 5.0  # `none` strongest everywhere: the finalizer must skip it
                    if k in chosen:
                        a[primitives.index(chosen[k])] = 3.0 - 0.1 * list(chosen).index(k)
                    else:
                        a[primitives.index("sep_conv_5x5")] = 1.0


@pytest.mark.parametrize("name", ["DARTS_V2", "DARTS_V1"])
def test_finalizer_recovers_the_genotype_from_hand_set_alphas(name):
    conf = Conf()
    md = conf.nas.search.model_desc
    md.builder, md.model_stems.init_node_ch = "darts", 4
    model = Model(get_builder("darts").build(md), droppath=False)
    genotype = parse_genotype(name)
    _alphas_for(model, genotype)
    final = DartsFinalizers(max_final_edges=2).finalize_model(model)
    got = model_to_genotype(final)
    assert sorted(got.normal) == sorted(genotype.normal) and sorted(got.reduce) == sorted(genotype.reduce)
    for j in range(4):  # per node, the same pair of (op, input)
        assert sorted(got.normal[2 * j : 2 * j + 2]) == sorted(genotype.normal[2 * j : 2 * j + 2])
        assert sorted(got.reduce[2 * j : 2 * j + 2]) == sorted(genotype.reduce[2 * j : 2 * j + 2])
    assert "bn_after" not in str(final.model_dump())
