"""The op registry and every primitive op; `create(op_desc, affine, arch_params)` builds one."""

from __future__ import annotations

from descgraph.ops import basic, composite, convs, heads, pools, stems  # noqa: F401  (registers the ops)
from descgraph.ops._factory import OPS, create, op_names, register_op
from descgraph.ops.drop_path import DropPath

__all__ = ["OPS", "DropPath", "create", "op_names", "register_op"]
