"""Model.forward follows each cell's `input_cells`: a cell reads the model stem or any earlier cell."""

from __future__ import annotations

import torch
from wiring_examples import one_node_cell, wired_model

from descgraph.desc import CellDesc
from descgraph.nn import Model

SHAPE = [4, 6, 6]


def _cell(index: int, input_cells: list[int]) -> CellDesc:
    """A 3x3 conv of its first stem plus the other stems as they are."""
    n = max(1, len(input_cells))
    return one_node_cell(index, ["conv_3x3"] + ["identity"] * (n - 1), SHAPE, input_cells)


def test_forward_reads_the_wired_outputs():
    cells = [_cell(0, []), _cell(1, []), _cell(2, [1, -1]), _cell(3, [2, 0, 1])]
    desc = wired_model(cells, input_size=6, n_classes=3)
    torch.manual_seed(0)
    model = Model(desc).eval()
    x = torch.randn(2, 3, 6, 6)
    with torch.no_grad():
        s = model.model_stems[0](x)
        c0 = model.cells[0](s)
        c1 = model.cells[1](c0)
        c2 = model.cells[2](c1, s)
        c3 = model.cells[3](c2, c0, c1)
        expected = model.logits_op(model.pool_op(c3))
        assert torch.allclose(model(x)[0], expected)
        assert not torch.allclose(c3, model.cells[3](c0, c2, c1))  # the first stem is the one convolved
    assert model.cell_inputs == [[-1], [0], [1, -1], [2, 0, 1]]
