"""Model mechanics: arch params apart from weights, sharing through trainables_from, drop path, MACs."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from descgraph.builders import build_from_genotype, get_builder
from descgraph.conf import load_conf
from descgraph.desc.genotype import parse_genotype
from descgraph.errors import DescError
from descgraph.nn import Model, count_macs
from descgraph.ops import DropPath


@pytest.fixture(scope="module")
def toy_conf(confs_dir):
    return load_conf([confs_dir / "algos" / "darts_toy.yaml"])


@pytest.fixture(scope="module")
def toy_search_desc(toy_conf):
    md = toy_conf.nas.search.model_desc
    return get_builder(md.builder).build(md)


def test_weights_and_arch_params_are_disjoint_and_complete(toy_search_desc):
    model = Model(toy_search_desc, droppath=False)
    weights, alphas = list(model.weights()), list(model.arch_params())
    assert {id(p) for p in weights}.isdisjoint(id(a) for a in alphas)
    assert {id(p) for p in model.parameters()} == {id(p) for p in weights} | {id(a) for a in alphas}
    optimizer = torch.optim.SGD(model.weights(), lr=0.1)
    assert sum(p.numel() for g in optimizer.param_groups for p in g["params"]) == model.param_count()


def test_shared_alphas_get_gradient_from_every_cell(toy_search_desc):
    """Two cells of one type read one alpha tensor, so its gradient sums both cells' contributions."""
    model = Model(toy_search_desc, droppath=False)
    logits, _ = model(torch.randn(2, *toy_search_desc.input_shape))
    logits.sum().backward()
    regular = [c for c in model.cells if not c.desc.is_reduction]
    assert len(regular) >= 2
    shared = regular[0].dag[0][0].arch_params["alphas"]
    assert shared is regular[1].dag[0][0].arch_params["alphas"]
    assert shared.grad is not None and shared.grad.abs().sum() > 0


def test_state_dict_round_trip_keeps_sharing(toy_search_desc):
    a = Model(toy_search_desc, droppath=False)
    b = Model(toy_search_desc, droppath=False)
    b.load_state_dict(a.state_dict())
    x = torch.randn(2, *toy_search_desc.input_shape)
    a.eval(), b.eval()
    torch.testing.assert_close(a(x)[0], b(x)[0])
    regular = [c for c in b.cells if not c.desc.is_reduction]
    assert regular[0].dag[0][0].arch_params is regular[1].dag[0][0].arch_params


def test_drop_path_prob_reaches_every_non_identity_edge(toy_conf):
    desc = build_from_genotype(parse_genotype("DARTS_V2"), toy_conf.nas.eval.model_desc)
    model = Model(desc, droppath=True)
    model.drop_path_prob(0.3)
    drops = [m for m in model.modules() if isinstance(m, DropPath)]
    n_edges = sum(len(n.edges) for c in desc.cell_descs for n in c.nodes)
    identities = sum(
        1
        for c in desc.cell_descs
        for n in c.nodes
        for e in n.edges
        if e.op_desc.name == "skip_connect" and e.op_desc.stride == 1
    )
    assert len(drops) == n_edges - identities and all(d.p == 0.3 for d in drops)
    assert not any(isinstance(m, DropPath) for m in Model(desc, droppath=False).modules())


def test_count_macs_of_a_single_conv_by_hand():
    conv = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.Flatten(), nn.Linear(8 * 16, 5))
    assert count_macs(conv, [3, 4, 4]) == 4 * 4 * 8 * 3 * 9 + 8 * 16 * 5


def test_edge_less_node_is_refused(toy_search_desc):
    desc = toy_search_desc.clone()
    desc.cell_descs[0].nodes[0].edges = []
    with pytest.raises(DescError, match="no edges"):
        Model(desc)


def test_unknown_op_names_its_path(toy_search_desc):
    desc = toy_search_desc.clone()
    desc.cell_descs[1].nodes[0].edges[1].op_desc.children[2].name = "avg_pool_3x4"
    with pytest.raises(
        DescError, match=r"cell_descs\[1\]\.nodes\[0\]\.edges\[1\]\.op_desc\.children\[2\]\.name.*avg_pool_3x3"
    ):
        Model(desc)
