"""The one place that adapts an OpDesc to an op class's keyword arguments; ops never see descs."""

from __future__ import annotations

import inspect
from typing import Any

from torch import nn

from descgraph.desc import OpDesc
from descgraph.errors import DescError
from descgraph.ops._registry import OPS

# Arguments the factory supplies itself, never an op's params (affine is the ModelDesc's, for all its ops).
SUPPLIED = ("affine", "children", "children_ins", "arch_params")


def create(op_desc: OpDesc, affine: bool = True, arch_params: Any = None) -> nn.Module:
    """Build the module an OpDesc describes.

    Args:
        op_desc: the op's description; its params are the class's keyword arguments.
        affine: whether BN layers learn scale and shift, for ops that take `affine`.
        arch_params: architecture parameters to share, for ops that take `arch_params`.

    Raises:
        RegistryError: the name is not registered, even after loading the algorithm plugins.
        DescError: a param the class does not take, a missing one, or a value the op refuses.
    """
    cls = _lookup(op_desc.name)
    signature = inspect.signature(cls)
    _check_params(op_desc, signature)
    kwargs = {**op_desc.params, **_supplied_kwargs(op_desc, signature, affine, arch_params)}
    try:
        return cls(**kwargs)
    except (ValueError, TypeError) as err:  # every argument but the supplied ones is the desc's: its fault
        raise DescError(f"op {op_desc.name!r}: {err}") from err


def _lookup(name: str) -> type[nn.Module]:
    """The class registered as `name` (the registry loads the algorithm plugins if it is not there)."""
    return OPS.get(name)


def _supplied_kwargs(op_desc: OpDesc, signature: inspect.Signature, affine: bool, arch_params: Any) -> dict:
    """The factory-supplied arguments the class takes; children are built only for classes that take them."""
    takes = signature.parameters
    kwargs: dict[str, Any] = {}
    if "affine" in takes:
        kwargs["affine"] = affine
    if "children" in takes:
        kwargs["children"] = [create(c, affine) for c in op_desc.children]
    if "children_ins" in takes:
        kwargs["children_ins"] = [list(ins) for ins in op_desc.children_ins]  # a copy: never hand out the desc's lists
    if "arch_params" in takes:
        kwargs["arch_params"] = arch_params
    return kwargs


def check_params(op_desc: OpDesc) -> None:
    """Raise DescError when the registered class of `op_desc` does not take its params (see `create`)."""
    _check_params(op_desc, inspect.signature(_lookup(op_desc.name)))


def _check_params(op_desc: OpDesc, signature: inspect.Signature) -> None:
    """Refuse params the class does not take, required ones that are missing, and stray children."""
    name, params = op_desc.name, signature.parameters
    takes = [p for p, v in params.items() if p not in SUPPLIED and v.kind in (v.POSITIONAL_OR_KEYWORD, v.KEYWORD_ONLY)]
    open_ended = any(v.kind is v.VAR_KEYWORD for v in params.values())
    accepts = f"(accepts: {', '.join(takes) or 'no params'})"
    for key in op_desc.params:
        if key not in takes and (key in SUPPLIED or not open_ended):
            raise DescError(f"op {name!r}: unexpected param {key!r} {accepts}")
    for key in takes:
        if params[key].default is inspect.Parameter.empty and key not in op_desc.params:
            raise DescError(f"op {name!r}: missing param {key!r} {accepts}")
    if op_desc.children and "children" not in params:
        raise DescError(f"op {name!r}: has {len(op_desc.children)} children but is not a composite op")
