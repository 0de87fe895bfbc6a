"""The op registry and the one place that adapts an OpDesc to an op class's keyword arguments."""

from __future__ import annotations

import inspect

from torch import nn

from descgraph._registry import Registry
from descgraph.desc import OpDesc
from descgraph.errors import DescError

OPS: Registry[type[nn.Module]] = Registry("op")


def register_op(name: str):
    """Decorator registering an op class under `name`."""
    return OPS.register(name)


def op_names() -> list[str]:
    """Every registered op name, sorted."""
    return OPS.names()


def _lookup(name: str) -> type[nn.Module]:
    if name not in OPS:
        from descgraph._plugins import load_plugins

        load_plugins()  # an algorithm package may register it (e.g. DARTS's mixed_op)
    return OPS.get(name)


def create(op_desc: OpDesc, affine: bool = True, arch_params=None) -> nn.Module:
    """Build the module an OpDesc describes.

    Args:
        op_desc: the op's description; its params are the class's keyword arguments.
        affine: whether BN layers learn scale and shift (a model-wide choice, not in the desc).
        arch_params: architecture parameters to share, for ops that take them.
    """
    cls = _lookup(op_desc.name)
    accepted = inspect.signature(cls.__init__).parameters
    kwargs = dict(op_desc.params)
    extras = {
        "affine": affine,
        "children": [create(c, affine) for c in op_desc.children],
        "children_ins": op_desc.children_ins,
        "arch_params": arch_params,
    }
    kwargs.update({k: v for k, v in extras.items() if k in accepted and k not in kwargs})
    _check_kwargs(op_desc.name, kwargs, accepted)
    return cls(**kwargs)


def _check_kwargs(name: str, kwargs: dict, accepted) -> None:
    names = [p for p in accepted if p != "self"]
    for key in kwargs:
        if key not in accepted:
            raise DescError(f"op {name!r}: unexpected param {key!r} (accepts: {', '.join(names)})")
    for p in names:
        param = accepted[p]
        if param.default is inspect.Parameter.empty and param.kind is param.POSITIONAL_OR_KEYWORD and p not in kwargs:
            raise DescError(f"op {name!r}: missing param {p!r}")
