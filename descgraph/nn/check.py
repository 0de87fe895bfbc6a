"""Checking a description against the op registry before compiling it."""

from __future__ import annotations

from descgraph._registry import close_matches
from descgraph.desc import ModelDesc
from descgraph.desc.validate import iter_op_descs
from descgraph.errors import DescError


def check_op_names(desc: ModelDesc, source: str | None = None) -> None:
    """Raise DescError naming the path of the first op whose name is not registered."""
    from descgraph.ops import OPS

    for path, op in iter_op_descs(desc):
        if op.name not in OPS:
            where = f"{source}: " if source else ""
            hint = close_matches(op.name, OPS.names())
            raise DescError(f"{where}{path}.name: unknown op {op.name!r}{hint}")
