"""Reading an architecture back off a desc: the desc must be the network its builder makes of it."""

from __future__ import annotations

from typing import Any

from descgraph.desc import ModelDesc
from descgraph.errors import DescError

# What makes a desc a given network: what the hash covers but the aux towers (a training choice).
NETWORK_FIELDS = ("input_shape", "n_classes", "model_stems", "cell_descs", "pool_op", "logits_op")


def check_rebuilt(desc: ModelDesc, rebuilt: ModelDesc, what: str) -> None:
    """Raise a DescError naming the first path where `desc` is not `rebuilt` (aux towers aside).

    Args:
        desc: the desc an architecture was read from.
        rebuilt: the network the builder makes of that architecture at the macro of `desc`.
        what: the network, for the message (`the NAS-Bench-201 network of |...|`).
    """
    if all(getattr(rebuilt, f) == getattr(desc, f) for f in NETWORK_FIELDS):
        return
    where = first_difference(_network(rebuilt), _network(desc), "")
    if where is not None:  # None: equal once canonical (an integral float where an int is)
        raise DescError(f"{where}: not as in {what}")


def _network(desc: ModelDesc) -> dict[str, Any]:
    data = desc.canonical()
    return {f: data[f] for f in NETWORK_FIELDS}


def first_difference(expected: Any, got: Any, path: str) -> str | None:
    """The path of the first place where `got` differs from `expected` (both plain data), or None."""
    if isinstance(expected, dict) and isinstance(got, dict):
        for key in [*expected, *(k for k in got if k not in expected)]:
            where = f"{path}.{key}" if path else str(key)
            if key not in expected or key not in got:
                return where
            found = first_difference(expected[key], got[key], where)
            if found is not None:
                return found
        return None
    if isinstance(expected, list) and isinstance(got, list):
        if len(expected) != len(got):
            return f"{path} ({len(got)} entries, expected {len(expected)})"
        found = (first_difference(a, b, f"{path}[{k}]") for k, (a, b) in enumerate(zip(expected, got)))
        return next((f for f in found if f is not None), None)
    return None if expected == got else path
