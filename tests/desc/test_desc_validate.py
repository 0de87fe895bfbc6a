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
