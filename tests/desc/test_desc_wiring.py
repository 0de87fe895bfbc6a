"""Cell wiring: `input_cells` wires a cell's stems to any earlier output; validation, graph, hash and YAML."""

from __future__ import annotations

import pytest
from wiring_examples import one_node_cell, wired_model

from descgraph.builders import build_from_genotype
from descgraph.conf.schema import ModelDescConf
from descgraph.desc import (
    CellDesc,
    ModelDesc,
    load_desc,
    model_graph,
    save_desc,
    validate_model_desc,
)
from descgraph.desc.genotype import parse_genotype
from descgraph.errors import DescError

SHAPE = [4, 8, 8]


def _cell(index: int, n_stems: int, input_cells: list[int] | None = None) -> CellDesc:
    """A cell summing its stems through one node (an identity edge per stem), output that node."""
    return one_node_cell(index, ["identity"] * n_stems, SHAPE, input_cells)


def skip_desc() -> ModelDesc:
    """Four cells: 0 and 1 chained, 2 reads the model stem and cell 0, 3 reads cells 0, 1 and 2."""
    cells = [_cell(0, 1), _cell(1, 1), _cell(2, 2, [-1, 0]), _cell(3, 3, [0, 1, 2])]
    return wired_model(cells, input_size=8, n_classes=5)


def test_stem_inputs_default_to_the_previous_outputs():
    assert _cell(0, 2).stem_inputs(0) == [-2, -1]  # the model stems' s0 and s1, as in DARTS
    assert _cell(5, 2).stem_inputs(5) == [3, 4]
    assert _cell(5, 1).stem_inputs(5) == [4]
    assert _cell(5, 2, [-1, 2]).stem_inputs(5) == [-1, 2]


def test_a_wired_desc_validates_and_its_graph_has_the_skips():
    desc = skip_desc()
    validate_model_desc(desc)
    g = model_graph(desc)
    assert set(g.predecessors("cell_descs[2]")) == {"model_stems[0]", "cell_descs[0]"}
    assert set(g.predecessors("cell_descs[3]")) == {"cell_descs[0]", "cell_descs[1]", "cell_descs[2]"}
    assert set(g.predecessors("cell_descs[1]")) == {"cell_descs[0]"}


@pytest.mark.parametrize(
    ("index", "input_cells", "message"),
    [
        (2, [-1, 2], "cell_descs[2].input_cells: 2 is not an earlier cell (0..1) nor a model stem (-2, -1)"),
        (2, [-3, 0], "cell_descs[2].input_cells: -3 is not an earlier cell"),
        (3, [0, 1], "cell_descs[3].input_cells: 2 inputs for 3 stems"),
    ],
)
def test_wiring_errors_name_the_cell(index, input_cells, message):
    desc = skip_desc()
    desc.cell_descs[index].input_cells = input_cells
    with pytest.raises(DescError) as err:
        validate_model_desc(desc, source="net.yaml")
    assert str(err.value).startswith(f"net.yaml: {message}")


def test_default_wiring_hashes_as_before_and_spelled_out_changes_nothing():
    desc = build_from_genotype(parse_genotype("DARTS_V2"), ModelDescConf(n_cells=5, model_stems={"init_node_ch": 8}))
    before = desc.hash()
    assert all("input_cells" not in c for c in desc.canonical()["cell_descs"])
    for i, cell in enumerate(desc.cell_descs):
        cell.input_cells = [i - 2, i - 1]
    assert desc.hash() == before
    desc.cell_descs[4].input_cells = [1, 3]
    assert desc.hash() != before
    validate_model_desc(desc)


def test_wiring_survives_yaml(tmp_path):
    save_desc(skip_desc(), tmp_path / "skips.yaml")
    back = load_desc(tmp_path / "skips.yaml")
    assert back == skip_desc() and [c.input_cells for c in back.cell_descs] == [[], [], [-1, 0], [0, 1, 2]]
