"""Counting multiply-accumulates of a module by running it once on a dummy input."""

from __future__ import annotations

import torch
from torch import nn


def _conv_macs(m: nn.Conv2d, out: torch.Tensor) -> int:
    k = m.kernel_size[0] * m.kernel_size[1]
    return out[0].numel() * (m.in_channels // m.groups) * k


def count_macs(model: nn.Module, input_shape: list[int]) -> int:
    """Multiply-accumulates of one forward pass on a single input of `input_shape` ([C, H, W]).

    Counts convolutions and linear layers, the terms that dominate; eval mode, so aux towers
    and drop path are left out.
    """
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
            model(torch.zeros(1, *input_shape))
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    return total
