"""Validation names the path of what is wrong."""

from __future__ import annotations

import pytest

from descgraph.builders import build_from_genotype
from descgraph.conf.schema import ModelDescConf
from descgraph.desc import ModelDesc, validate_model_desc
from descgraph.desc.genotype import parse_genotype
from descgraph.errors import DescError


@pytest.fixture()
def desc() -> ModelDesc:
    md = ModelDescConf(n_cells=3, n_reductions=1, model_stems={"init_node_ch": 8}, aux_weight=0.4)
    return build_from_genotype(parse_genotype("DARTS_V2"), md)


def _edit(desc, fn):
    fn(desc)
    return desc


CASES = [
    (
        lambda d: d.cell_descs[1].nodes[1].edges[0].__setattr__("input_ids", [7]),
        "cell_descs[1].nodes[1].edges[0].input_ids: state 7 does not exist (cell has 6)",
    ),
    (
        lambda d: d.cell_descs[0].nodes[0].edges[0].__setattr__("input_ids", [2]),
        "cell_descs[0].nodes[0].edges[0].input_ids: state 2 is not earlier",
    ),
    (
        lambda d: d.cell_descs[0].nodes[1].edges[1].op_desc.params.__setitem__("ch_in", 3),
        "cell_descs[0].nodes[1].edges[1].op_desc.params.ch_in",
    ),
    (lambda d: d.cell_descs[2].__setattr__("concat", [2, 3]), "cell_descs[2].out_shape"),
    (lambda d: d.cell_descs[2].__setattr__("concat", [2, 9]), "cell_descs[2].concat: state 9 does not exist"),
    (lambda d: d.aux_tower_descs[2].__setattr__("ch_in", 5), "aux_tower_descs[2].ch_in"),
    (lambda d: d.logits_op.params.__setitem__("ch_in", 5), "logits_op.params.ch_in"),
    (lambda d: d.cell_descs[1].__setattr__("trainables_from", 2), "cell_descs[1].trainables_from"),
    (lambda d: d.cell_descs[2].__setattr__("id", 1), "cell_descs[2].id"),
    (lambda d: d.cell_descs[0].nodes[0].edges[0].__setattr__("input_ids", [0, 1]), "takes 1"),
    (lambda d: d.cell_descs[1].stems[0].params.__setitem__("ch_in", 7), "cell_descs[1].stems[0].params.ch_in"),
    (lambda d: d.cell_descs[0].node_shapes[0].__setitem__(1, 5), "cell_descs[0].nodes[0].edges[0].op_desc"),
]


@pytest.mark.parametrize(("edit", "message"), CASES, ids=[m.split(":")[0] for _, m in CASES])
def test_invalid_descs_name_the_path(desc, edit, message):
    validate_model_desc(desc)
    edit(desc)
    with pytest.raises(DescError) as e:
        validate_model_desc(desc, source="net.yaml")
    assert message in str(e.value) and str(e.value).startswith("net.yaml: ") and "\n" not in str(e.value)


@pytest.mark.parametrize("size", range(1, 11))
@pytest.mark.parametrize("stride", [1, 2, 3, 4])
def test_the_aux_map_check_agrees_with_torch(size, stride):
    """`pooled_size` (what validation reads) says 2x2 or more exactly when torch can run the tower on the map."""
    import torch

    from descgraph.desc import AuxTowerDesc
    from descgraph.nn.aux_tower import AuxTower

    aux = AuxTowerDesc(ch_in=4, n_classes=3, stride=stride)
    tower = AuxTower(aux, in_size=size).eval()
    try:
        runs = tower(torch.randn(1, 4, size, size)).shape == (1, 3)
    except RuntimeError:
        runs = False
    assert (aux.pooled_size(size) >= 2) == runs


def test_an_aux_tower_on_a_map_too_small_for_it_is_refused_with_the_stride_that_fits():
    """DARTS's tower (pool stride 3) after the second reduction of 8x8 digits reads a 2x2 map: refused before any
    network is built, naming the stride that fits; with it the network runs."""
    import torch

    from descgraph.nn import Model

    digits = {"name": "digits", "channels": 1, "image_size": 8, "n_classes": 10}
    md = ModelDescConf(n_cells=5, n_reductions=2, aux_weight=0.4, model_stems={"init_node_ch": 4}, dataset=digits)
    desc = build_from_genotype(parse_genotype("DARTS_V2"), md)
    with pytest.raises(DescError) as e:
        validate_model_desc(desc, source="net.yaml")
    assert str(e.value) == (
        "net.yaml: aux_tower_descs[3].stride: 3 leaves a 1x1 map of cell 3's 2x2 output for the tower's 2x2 conv; "
        "it needs a stride of at most 1 (a conf's aux_tower_stride), or no aux tower (aux_weight: 0)"
    )
    desc = build_from_genotype(parse_genotype("DARTS_V2"), md.model_copy(update={"aux_tower_stride": 1}))
    validate_model_desc(desc)
    logits, aux_logits = Model(desc).train()(torch.randn(2, 1, 8, 8))  # the tower runs in training
    assert logits.shape == aux_logits.shape == (2, 10)
