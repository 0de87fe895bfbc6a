"""DARTS networks built from confs match the original DARTS code's parameter counts."""

from __future__ import annotations

import pytest
import torch

from descgraph.builders import build_from_genotype, get_builder
from descgraph.conf import load_conf
from descgraph.desc import validate_model_desc
from descgraph.desc.genotype import parse_genotype
from descgraph.nn import Model


def _eval_desc(confs_dir, genotype: str, *datasets: str):
    conf = load_conf([confs_dir / "algos" / "darts.yaml", *(confs_dir / "datasets" / f"{d}.yaml" for d in datasets)])
    final = build_from_genotype(parse_genotype(genotype), conf.nas.search.model_desc)
    md = conf.nas.eval.model_desc
    desc = get_builder(md.builder).build(md, template=final)
    validate_model_desc(desc)
    return desc


def _forward_backward(model: Model, desc, batch: int = 2) -> None:
    x = torch.randn(batch, *desc.input_shape)
    model.train()
    logits, aux = model(x)
    assert logits.shape == (batch, desc.n_classes)
    loss = logits.sum() + (aux.sum() if aux is not None else 0)
    loss.backward()
    grads = [p.grad for p in model.weights() if p.requires_grad]
    assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)


# Counts printed by the original DARTS code (quark0/darts, `utils.count_parameters_in_MB` * 1e6).
@pytest.mark.parametrize(
    ("genotype", "params", "params_with_aux"),
    [("DARTS_V2", 3_349_342, 3_825_768), ("DARTS_V1", 3_169_414, None)],
)
def test_darts_cifar10_eval_param_counts(confs_dir, genotype, params, params_with_aux):
    desc = _eval_desc(confs_dir, genotype)
    model = Model(desc, droppath=True)
    assert model.param_count() == params
    if params_with_aux is not None:
        assert model.param_count(with_aux=True) == params_with_aux
    assert len(desc.cell_descs) == 20 and desc.reduction_cell_ids() == [6, 13]


def test_darts_v2_cifar10_forward_backward_with_aux(confs_dir):
    desc = _eval_desc(confs_dir, "DARTS_V2")
    model = Model(desc, droppath=True)
    model.drop_path_prob(0.2)
    x = torch.randn(2, *desc.input_shape)
    logits, aux = model(x)
    assert logits.shape == (2, 10) and aux is not None and aux.shape == (2, 10)
    _forward_backward(model, desc)
    model.eval()
    assert model(x)[1] is None


def test_darts_v1_cifar10_forward_backward(confs_dir):
    desc = _eval_desc(confs_dir, "DARTS_V1")
    _forward_backward(Model(desc), desc)


def test_darts_v2_imagenet_param_count(confs_dir):
    desc = _eval_desc(confs_dir, "DARTS_V2", "imagenet")
    model = Model(desc, droppath=True)
    assert model.param_count() == 4_718_752
    assert desc.input_shape == [3, 224, 224] and desc.n_classes == 1000 and len(desc.cell_descs) == 14


@pytest.mark.slow
def test_darts_v2_imagenet_forward_backward(confs_dir):
    desc = _eval_desc(confs_dir, "DARTS_V2", "imagenet")
    _forward_backward(Model(desc), desc)


def _search_desc(confs_dir):
    conf = load_conf([confs_dir / "algos" / "darts.yaml"])
    md = conf.nas.search.model_desc
    return get_builder(md.builder).build(md)


def test_darts_search_supernet_counts(confs_dir):
    desc = _search_desc(confs_dir)
    validate_model_desc(desc)
    model = Model(desc, droppath=False)
    assert model.param_count() == 1_930_618
    alphas = list(model.arch_params())
    assert len(alphas) == 2 * 14 and all(a.shape == (8,) for a in alphas)
    assert sum(a.numel() for a in alphas) == 2 * 14 * 8
    # optimizers never mix them: no tensor is both a weight and an arch param
    assert not {id(p) for p in model.weights()} & {id(a) for a in alphas}


def test_darts_search_supernet_forward_backward(confs_dir):
    desc = _search_desc(confs_dir)
    model = Model(desc, droppath=False)
    _forward_backward(model, desc)
    assert all(a.grad is not None and torch.isfinite(a.grad).all() for a in model.arch_params())


def test_cells_of_a_type_share_alphas(confs_dir):
    model = Model(_search_desc(confs_dir), droppath=False)
    normal = [c for c in model.cells if not c.desc.is_reduction]
    reduce = [c for c in model.cells if c.desc.is_reduction]
    assert normal[0].dag[0][0].arch_params is normal[-1].dag[0][0].arch_params
    assert reduce[0].dag[3][4].arch_params is reduce[1].dag[3][4].arch_params
    assert normal[0].dag[0][0].arch_params is not reduce[0].dag[0][0].arch_params
