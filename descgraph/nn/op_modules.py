"""The compiled module of every op in a Model, under the same paths as `descgraph.desc.validate.iter_op_descs`."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import nn

from descgraph.desc import OpDesc


def iter_op_modules(model: nn.Module) -> Iterator[tuple[str, OpDesc, nn.Module]]:
    """Yield (path, OpDesc, module) for every top-level op of a Model, in model order."""
    desc = model.desc
    for i, stem in enumerate(model.model_stems):
        yield f"model_stems[{i}]", desc.model_stems[i], stem
    for i, cell in enumerate(model.cells):
        for k, stem in enumerate(cell.stems):
            yield f"cell_descs[{i}].stems[{k}]", cell.desc.stems[k], stem
        for j, edges in enumerate(cell.dag):
            for k, edge in enumerate(edges):
                yield f"cell_descs[{i}].nodes[{j}].edges[{k}].op_desc", edge.desc.op_desc, edge.op
        yield f"cell_descs[{i}].post_op", cell.desc.post_op, cell.post_op
    yield "pool_op", desc.pool_op, model.pool_op
    yield "logits_op", desc.logits_op, model.logits_op


def capture_op_inputs(model: nn.Module, x: torch.Tensor) -> dict[str, tuple[torch.Tensor, ...]]:
    """The inputs each op receives in one eval-mode forward pass of `x`, by path (ops that did not run are absent)."""
    captured: dict[str, tuple[torch.Tensor, ...]] = {}

    def hook_for(path: str):
        def hook(_module: nn.Module, inputs: tuple) -> None:
            captured.setdefault(path, tuple(t.detach().clone() for t in inputs))

        return hook

    handles = [m.register_forward_pre_hook(hook_for(path)) for path, _, m in iter_op_modules(model)]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(x)
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    return captured
