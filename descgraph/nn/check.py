"""Checking a description against the op registry before compiling it."""

from __future__ import annotations

from descgraph._registry import close_matches
from descgraph.desc import ModelDesc
from descgraph.desc.validate import iter_op_descs
from descgraph.errors import DescError


def check_ops(desc: ModelDesc, source: str | None = None) -> None:
    """Raise DescError naming `source` (the file) and the path of the first op that is not registered, or whose
    params its class does not take (`op 'sep_conv_3x3': unexpected param 'evil'`)."""
    from descgraph.ops import OPS, check_params

    where = f"{source}: " if source else ""
    for path, op in iter_op_descs(desc):
        if op.name not in OPS:
            raise DescError(f"{where}{path}.name: unknown op {op.name!r}{close_matches(op.name, OPS.names())}")
        try:
            check_params(op)
        except DescError as e:
            raise DescError(f"{where}{path}.params: {e}") from None
