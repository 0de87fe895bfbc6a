"""Architecture parameters, kept apart from weights so optimizers never mix them."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import nn


class ArchParams(nn.Module):
    """A named set of architecture parameters (for example a mixed op's alphas).

    It is a module so the parameters move with `.to()` and are saved in the state dict; `Model`
    tells them apart from weights by this class. Two cells that share architecture parameters
    hold the same ArchParams instance.
    """

    def __init__(self, **params: torch.Tensor) -> None:
        super().__init__()
        for name, value in params.items():
            self.register_parameter(name, value if isinstance(value, nn.Parameter) else nn.Parameter(value))

    def __getitem__(self, name: str) -> nn.Parameter:
        return self._parameters[name]


def arch_parameters(module: nn.Module) -> Iterator[nn.Parameter]:
    """Every architecture parameter under `module`, each once even when shared."""
    seen: set[int] = set()
    for m in module.modules():
        if isinstance(m, ArchParams):
            for p in m.parameters(recurse=False):
                if id(p) not in seen:
                    seen.add(id(p))
                    yield p


def split_parameters(module: nn.Module) -> tuple[dict[str, nn.Parameter], dict[str, nn.Parameter]]:
    """The named weights and the named architecture parameters of `module`, each tensor once, in
    `named_parameters` order. Architecture parameters are what `module.arch_params()` gives when the module
    has that method, else every parameter of the ArchParams under it.
    """
    arch_params = getattr(module, "arch_params", None)
    arch = {id(p) for p in (arch_params() if callable(arch_params) else arch_parameters(module))}
    weights: dict[str, nn.Parameter] = {}
    alphas: dict[str, nn.Parameter] = {}
    for name, p in module.named_parameters():
        (alphas if id(p) in arch else weights)[name] = p
    return weights, alphas


def weight_parameters(module: nn.Module) -> Iterator[nn.Parameter]:
    """Every parameter under `module` that is not an architecture parameter, each once (see `split_parameters`)."""
    return iter(split_parameters(module)[0].values())
