"""Model: a compiled ModelDesc. forward returns (logits, aux_logits or None)."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import nn

from descgraph import ops
from descgraph.desc import ModelDesc
from descgraph.nn.arch_params import arch_parameters, weight_parameters
from descgraph.nn.aux_tower import AuxTower
from descgraph.nn.cell import Cell
from descgraph.nn.check import check_ops
from descgraph.nn.recompute import run_recomputed


class Model(nn.Module):
    """Model stems, cells wired as in DARTS (cell i reads cells i-2 and i-1) or by their `input_cells`,
    aux towers, pool, logits.

    Args:
        desc: the model's description.
        droppath: whether cell edges get drop path (set its probability with `drop_path_prob`).

    Whether BN layers inside cells learn scale and shift is the description's `affine`.
    """

    def __init__(self, desc: ModelDesc, droppath: bool = True):
        super().__init__()
        check_ops(desc)
        self.desc = desc
        # model stems always learn their BN (DARTS search keeps an affine stem while cells are non-affine)
        self.model_stems = nn.ModuleList(ops.create(s, affine=True) for s in desc.model_stems)
        self.cells, affine = nn.ModuleList(), desc.affine
        by_id: dict[int, Cell] = {}
        for cell_desc in desc.cell_descs:
            source = by_id.get(cell_desc.trainables_from) if cell_desc.trainables_from != cell_desc.id else None
            cell = Cell(cell_desc, affine=affine, droppath=droppath, arch_source=source)
            by_id[cell_desc.id] = cell
            self.cells.append(cell)
        self.aux_towers = nn.ModuleDict()
        for i, cell_desc in enumerate(desc.cell_descs):
            aux = desc.aux_tower(i)
            if aux is not None:
                self.aux_towers[str(i)] = AuxTower(aux, in_size=cell_desc.out_shape[-1])
        self.pool_op = ops.create(desc.pool_op, affine=affine)
        self.logits_op = ops.create(desc.logits_op, affine=affine)
        self.recompute = 0
        # the outputs each cell reads (-2, -1: the model stems), and the last cell reading each one
        self.cell_inputs = [c.stem_inputs(i) for i, c in enumerate(desc.cell_descs)]
        self.last_reader = {k: i for i, inputs in enumerate(self.cell_inputs) for k in inputs}

    def set_recompute(self, n_cells: int) -> None:
        """Recompute the activations of the first `n_cells` cells in backward (-1: every cell).

        Trades one more forward of those cells for their stored activations; the math is unchanged.
        """
        self.recompute = len(self.cells) if n_cells < 0 else n_cells

    def _run_cell(self, i: int, cell: Cell, *xs: torch.Tensor) -> torch.Tensor:
        if i < self.recompute and self.training and torch.is_grad_enabled():
            return run_recomputed(cell, *xs)
        return cell(*xs)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        s0 = self.model_stems[0](x)
        out = self.model_stems[1](s0) if len(self.model_stems) > 1 else s0
        outs, aux_logits = {-2: s0, -1: out}, None
        for i, cell in enumerate(self.cells):
            out = self._run_cell(i, cell, *[outs[k] for k in self.cell_inputs[i]])
            outs = {k: v for k, v in outs.items() if self.last_reader.get(k, -1) > i}  # free what is read no more
            outs[i] = out
            if self.training and str(i) in self.aux_towers:
                aux_logits = self.aux_towers[str(i)](out)
        return self.logits_op(self.pool_op(out)), aux_logits

    def drop_path_prob(self, p: float) -> None:
        """Set the drop-path probability of every edge."""
        for m in self.modules():
            if isinstance(m, ops.DropPath):
                m.p = p

    def weights(self) -> Iterator[nn.Parameter]:
        """Parameters that are not architecture parameters."""
        return weight_parameters(self)

    def arch_params(self) -> Iterator[nn.Parameter]:
        """Architecture parameters, each once even when cells share them."""
        return arch_parameters(self)

    def param_count(self, with_aux: bool = False) -> int:
        """Number of weights (not architecture parameters), with or without the aux towers."""
        aux = {id(p) for p in self.aux_towers.parameters()}
        return sum(p.numel() for p in self.weights() if with_aux or id(p) not in aux)
