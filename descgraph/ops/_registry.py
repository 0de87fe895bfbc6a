"""The op registry: every op class under the name descriptions use for it."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from descgraph._registry import Registry

OPS: Registry[type[nn.Module]] = Registry("op")


def register_op(name: str) -> Callable[[type[nn.Module]], type[nn.Module]]:
    """Decorator registering an op class under `name`; a name already taken is a RegistryError."""
    return OPS.register(name)


def op_names() -> list[str]:
    """Every op name, sorted, those of algorithm plugins included."""
    return OPS.names()
