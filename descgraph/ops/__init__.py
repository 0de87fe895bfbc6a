"""The op registry and every primitive op; `create(op_desc, affine, arch_params)` builds one.

Ops are classes with explicit keyword arguments (`ch_in`, `ch_out`, `stride`, `affine`, ...),
registered by name with `register_op`; `create` is the one place that reads an OpDesc.
"""

from __future__ import annotations

# Importing the op modules registers their ops.
from descgraph.ops import (  # noqa: F401
    basic,
    branches,
    composite,
    convs,
    elastic,
    heads,
    mbconv,
    pools,
    post_ops,
    preprocess,
    sep_convs,
    stems,
)
from descgraph.ops._factory import check_params, create
from descgraph.ops._registry import OPS, op_names, register_op
from descgraph.ops.drop_path import DropPath

__all__ = ["OPS", "DropPath", "check_params", "create", "op_names", "register_op"]
