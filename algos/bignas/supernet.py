"""The elastic supernet at work: activate a child, recalibrate its BN, extract and save it.

The supernet is an ordinary `descgraph.nn.Model` of an elastic description; `activate` sets every
elastic op to the static op of a child (from `apply_config`), so one forward runs that child.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from descgraph.desc import ModelDesc, save_desc, validate_model_desc
from descgraph.desc.elastic import BigNASConfig, apply_config
from descgraph.nn import Model
from descgraph.ops.elastic import ElasticOp
from descgraph.train import save_checkpoint
from descgraph.train.shards import Sharder

CACHED_CHILDREN = 16  # child descriptions kept: training reuses a few, a search visits thousands once


class Supernet(nn.Module):
    """A compiled elastic supernet that runs one child at a time: `activate(config)`, then call it.

    forward resizes its input to the active child's resolution, then returns `(logits, None)` like a
    Model, so a Trainer trains (and evaluates) whichever child is active.

    Args:
        model: the Model of an elastic supernet description.
    """

    def __init__(self, model: Model) -> None:
        super().__init__()
        self.model = model
        self.resolution = model.desc.input_shape[-1]
        self._children: dict[str, tuple[ModelDesc, list[tuple[ElasticOp, dict | None]]]] = {}

    @property
    def desc(self) -> ModelDesc:
        return self.model.desc

    def child_desc(self, config: BigNASConfig) -> ModelDesc:
        """The static description of a child."""
        return self._child(config)[0]

    def _child(self, config: BigNASConfig) -> tuple[ModelDesc, list[tuple[ElasticOp, dict | None]]]:
        """A child's description and what each elastic op runs as, kept for the last few children."""
        key = config.key()
        if key not in self._children:
            if len(self._children) >= CACHED_CHILDREN:  # a search visits thousands of children once each
                self._children.pop(next(iter(self._children)))
            child = apply_config(self.desc, config)
            self._children[key] = (child, self._plan(child))
        return self._children[key]

    def _plan(self, child: ModelDesc) -> list[tuple[ElasticOp, dict | None]]:
        plan = []
        for (i, j), op in elastic_ops(self.model).items():
            if i >= len(child.cell_descs):  # the logits op
                plan.append((op, dict(child.logits_op.params)))
                continue
            nodes = child.cell_descs[i].nodes
            plan.append((op, dict(nodes[j].edges[0].op_desc.params) if j < len(nodes) else None))
        return plan

    def activate(self, config: BigNASConfig) -> ModelDesc:
        """Make the supernet run this child; returns the child's static description."""
        child, plan = self._child(config)
        for op, params in plan:
            op.activate(params)
        self.resolution = config.resolution
        return child

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        return self.model(resize(x, self.resolution))


def elastic_ops(model: Model) -> dict[tuple[int, int], ElasticOp]:
    """Elastic ops by (cell, node); the logits op, when elastic, under (number of cells, 0)."""
    found: dict[tuple[int, int], ElasticOp] = {}
    for i, cell in enumerate(model.cells):
        for j, edges in enumerate(cell.dag):
            if isinstance(edges[0].op, ElasticOp):
                found[(i, j)] = edges[0].op
    if isinstance(model.logits_op, ElasticOp):
        found[(len(model.cells), 0)] = model.logits_op
    return found


def resize(x: torch.Tensor, resolution: int) -> torch.Tensor:
    """Bilinear resize of a batch to resolution x resolution (BigNAS trains each child at its own resolution)."""
    if x.shape[-1] == resolution and x.shape[-2] == resolution:
        return x
    return F.interpolate(x, size=(resolution, resolution), mode="bilinear", align_corners=False)


@torch.no_grad()
def recalibrate_bn(supernet: Supernet, config: BigNASConfig, batches: Iterable[torch.Tensor], shards: int = 0) -> None:
    """Reset every BN's statistics and re-estimate them for one child as exact averages over `batches`.

    The running statistics collected while many children trained share the same buffers and fit none
    of them; BigNAS (sec. 3.3) and once-for-all recalibrate them per child before it is evaluated. Each
    batch (this rank's shard of it) runs in its micro-batches, as training does (`common.shards`), so the
    statistics are the same on any number of ranks.
    """
    model = supernet.model
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [bn.momentum for bn in bns]
    was_training = model.training
    try:
        for bn in bns:
            bn.reset_running_stats()
            bn.momentum = None  # a cumulative average over the batches
        model.train()
        supernet.activate(config)
        sharder = Sharder(model, shards)
        for x in batches:
            for xb, _, _ in sharder(x, x):
                supernet(xb)
    finally:
        for bn, momentum in zip(bns, momenta):
            bn.momentum = momentum
        model.train(was_training)


def child_state_dict(supernet: Supernet) -> dict[str, torch.Tensor]:
    """The active child's weights, keyed for `Model(child_desc)`: sliced from the elastic ops, copied from the rest."""
    state: dict[str, torch.Tensor] = {}
    prefixes = []
    for name, module in supernet.model.named_modules():
        if isinstance(module, ElasticOp) and not name.startswith(tuple(prefixes)):  # an op, not one inside another
            prefixes.append(f"{name}.")
            if module.is_active:
                state.update({f"{name}.{k}": v for k, v in module.active_state_dict().items()})
    for key, value in supernet.model.state_dict().items():
        if not key.startswith(tuple(prefixes)):
            state[key] = value.detach().clone(memory_format=torch.contiguous_format)
    return state


def extract_child(supernet: Supernet, config: BigNASConfig) -> tuple[ModelDesc, dict[str, torch.Tensor]]:
    """A child as a static description and its weights sliced from the supernet (BN as last calibrated)."""
    desc = supernet.activate(config)
    return desc, child_state_dict(supernet)


def build_child(desc: ModelDesc, state: dict[str, torch.Tensor]) -> Model:
    """`Model(desc)` holding `state`, in eval mode; every key must fit."""
    model = Model(desc, droppath=False)
    model.load_state_dict(state)
    return model.eval()


def save_child(dirpath: str | Path, desc: ModelDesc, state: dict[str, torch.Tensor]) -> None:
    """`model_desc.yaml` and `model.pt` side by side, both written atomically; model.pt loads with weights_only."""
    dirpath = Path(dirpath)
    validate_model_desc(desc, source=str(dirpath / "model_desc.yaml"))
    save_desc(desc, dirpath / "model_desc.yaml")
    save_checkpoint(dirpath / "model.pt", state)
