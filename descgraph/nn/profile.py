"""Counting multiply-accumulates (and FLOPs) of a module by running it once at batch 1."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

FLOPS_PER_MAC = 2  # a multiply-accumulate is a multiply and an add


def flops_of(macs: int) -> int:
    """FLOPs of `macs` multiply-accumulates."""
    return FLOPS_PER_MAC * macs


def _conv_macs(m: nn.Conv2d, out: torch.Tensor) -> int:
    k = m.kernel_size[0] * m.kernel_size[1]
    return out[0].numel() * (m.in_channels // m.groups) * k


def count_macs(
    model: nn.Module, input_shape: Sequence[int] | None = None, *, inputs: Sequence[torch.Tensor] | None = None
) -> int:
    """Multiply-accumulates of one forward pass at batch 1: on a zero input of `input_shape` ([C, H, W]), or on
    the first sample of each of `inputs` (a block of several inputs).

    Counts convolutions and linear layers, the terms that dominate; eval mode, so aux towers
    and drop path are left out.
    """
    if inputs is None:
        if input_shape is None:
            raise TypeError("count_macs: give input_shape or inputs")
        weight = next(model.parameters(), None)  # the input takes the model's dtype and device
        like = {"dtype": weight.dtype, "device": weight.device} if weight is not None else {}
        inputs = (torch.zeros(1, *input_shape, **like),)
    total = 0

    def hook(m: nn.Module, _inputs: tuple, out: torch.Tensor) -> None:
        nonlocal total
        if isinstance(m, nn.Conv2d):
            total += _conv_macs(m, out)
        elif isinstance(m, nn.Linear):
            total += m.in_features * m.out_features

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(*(x[:1] for x in inputs))
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    return total


def model_counts(model: nn.Module, input_shape: Sequence[int]) -> dict[str, int]:
    """Weights (without and with the aux towers), architecture parameters, MACs and FLOPs of a Model."""
    macs = count_macs(model, input_shape)
    return {
        "params": model.param_count(with_aux=False),
        "params_with_aux": model.param_count(with_aux=True),
        "arch_params": sum(p.numel() for p in model.arch_params()),
        "macs": macs,
        "flops": flops_of(macs),
    }


def describe(desc) -> dict:
    """The headline facts of a description (`descgraph show`), compiled once to count parameters and MACs."""
    from collections import Counter

    from descgraph.nn.model import Model

    model = Model(desc, droppath=False)
    ops = Counter(e.op_desc.name for c in desc.cell_descs for n in c.nodes for e in n.edges)
    counts = model_counts(model, desc.input_shape)
    return {
        "hash": desc.hash(),
        "input_shape": desc.input_shape,
        "n_classes": desc.n_classes,
        "cells": len(desc.cell_descs),
        "reduction_cells": desc.reduction_cell_ids(),
        "nodes": sum(len(c.nodes) for c in desc.cell_descs),
        "edges": sum(ops.values()),
        "op_histogram": dict(sorted(ops.items())),
        **counts,
    }
