"""DARTS genotypes: parsing the literal DARTS prints (safely), formatting it, and reading one off a desc."""

from __future__ import annotations

import ast
from typing import NamedTuple

from descgraph.desc.model_desc import CellDesc, ModelDesc
from descgraph.errors import DescError

# The DARTS search space's candidate ops (DARTS `genotypes.PRIMITIVES`), in the paper's order.
DARTS_PRIMITIVES = (
    "none",
    "max_pool_3x3",
    "avg_pool_3x3",
    "skip_connect",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
)


class Genotype(NamedTuple):
    """A DARTS genotype: (op, input state) pairs per cell type, and the states each cell concatenates."""

    normal: list[tuple[str, int]]
    normal_concat: list[int]
    reduce: list[tuple[str, int]]
    reduce_concat: list[int]


# quark0/darts cnn/genotypes.py
DARTS_V1 = Genotype(
    normal=[
        ("sep_conv_3x3", 1),
        ("sep_conv_3x3", 0),
        ("skip_connect", 0),
        ("sep_conv_3x3", 1),
        ("skip_connect", 0),
        ("sep_conv_3x3", 1),
        ("sep_conv_3x3", 0),
        ("skip_connect", 2),
    ],
    normal_concat=[2, 3, 4, 5],
    reduce=[
        ("max_pool_3x3", 0),
        ("max_pool_3x3", 1),
        ("skip_connect", 2),
        ("max_pool_3x3", 0),
        ("max_pool_3x3", 0),
        ("skip_connect", 2),
        ("skip_connect", 2),
        ("avg_pool_3x3", 0),
    ],
    reduce_concat=[2, 3, 4, 5],
)
DARTS_V2 = Genotype(
    normal=[
        ("sep_conv_3x3", 0),
        ("sep_conv_3x3", 1),
        ("sep_conv_3x3", 0),
        ("sep_conv_3x3", 1),
        ("sep_conv_3x3", 1),
        ("skip_connect", 0),
        ("skip_connect", 0),
        ("dil_conv_3x3", 2),
    ],
    normal_concat=[2, 3, 4, 5],
    reduce=[
        ("max_pool_3x3", 0),
        ("max_pool_3x3", 1),
        ("skip_connect", 2),
        ("max_pool_3x3", 1),
        ("max_pool_3x3", 0),
        ("skip_connect", 2),
        ("skip_connect", 2),
        ("max_pool_3x3", 1),
    ],
    reduce_concat=[2, 3, 4, 5],
)
NAMED = {"DARTS_V1": DARTS_V1, "DARTS_V2": DARTS_V2, "DARTS": DARTS_V2}


def _fail(msg: str) -> None:
    raise DescError(f"genotype: {msg}")


def _concat(node: ast.expr, field: str, max_states: int) -> list[int]:
    """A concat list: a literal list/tuple of ints, or range(a, b) of at most `max_states` states."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range" and not node.keywords:
        bounds = [_int(a, field) for a in node.args]
        try:
            states = range(*bounds)
        except (TypeError, ValueError) as e:
            _fail(f"{field}: {e}")
        if len(states) > max_states:
            _fail(f"{field}: {len(states)} states, but a cell of these edges has at most {max_states}")
        return list(states)
    try:
        value = ast.literal_eval(node)
    except (ValueError, SyntaxError):
        _fail(f"{field}: expected a list of states or range(a, b)")
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, int) for v in value):
        _fail(f"{field}: expected a list of states or range(a, b)")
    return list(value)


def _int(node: ast.expr, field: str) -> int:
    if isinstance(node, ast.Constant) and isinstance(node.value, int):
        return node.value
    _fail(f"{field}: expected an integer")


def _pairs(node: ast.expr, field: str) -> list[tuple[str, int]]:
    try:
        value = ast.literal_eval(node)
    except (ValueError, SyntaxError):
        _fail(f"{field}: expected a list of (op_name, input_state) pairs")
    if not isinstance(value, (list, tuple)):
        _fail(f"{field}: expected a list of (op_name, input_state) pairs")
    out = []
    for i, pair in enumerate(value):
        ok = (
            isinstance(pair, (list, tuple)) and len(pair) == 2 and isinstance(pair[0], str) and isinstance(pair[1], int)
        )
        if not ok:
            _fail(f"{field}[{i}]: expected (op_name, input_state) pair, got {pair!r}")
        out.append((pair[0], pair[1]))
    return out


def parse_genotype(text: str) -> Genotype:
    """Parse `Genotype(normal=[...], normal_concat=..., reduce=[...], reduce_concat=...)` or a name.

    The text is parsed with `ast`, never evaluated: only literals and `range(a, b)` are accepted.
    """
    text = text.strip()
    if text in NAMED:
        return NAMED[text]
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError as e:
        _fail(f"not a Genotype(...) literal or a known name ({', '.join(NAMED)}): {e.msg}")
    if not (isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name) and tree.func.id == "Genotype"):
        _fail(f"expected Genotype(...) or one of {', '.join(NAMED)}")
    fields = dict(zip(Genotype._fields, tree.args))
    for kw in tree.keywords:
        if kw.arg not in Genotype._fields:
            _fail(f"unknown field {kw.arg!r} (fields: {', '.join(Genotype._fields)})")
        fields[kw.arg] = kw.value
    missing = [f for f in Genotype._fields if f not in fields]
    if missing:
        _fail(f"missing field {missing[0]!r}")
    normal, reduce = _pairs(fields["normal"], "normal"), _pairs(fields["reduce"], "reduce")
    return Genotype(  # a cell has its two stems and at most one node per edge
        normal=normal,
        normal_concat=_concat(fields["normal_concat"], "normal_concat", 2 + len(normal)),
        reduce=reduce,
        reduce_concat=_concat(fields["reduce_concat"], "reduce_concat", 2 + len(reduce)),
    )


def format_genotype(g: Genotype) -> str:
    """The DARTS-style literal; parse_genotype(format_genotype(g)) == g."""
    return (
        f"Genotype(normal={list(map(tuple, g.normal))!r}, normal_concat={list(g.normal_concat)!r}, "
        f"reduce={list(map(tuple, g.reduce))!r}, reduce_concat={list(g.reduce_concat)!r})"
    )


def cells_to_genotype(normal: CellDesc, reduce: CellDesc | None, path: str = "cell_descs") -> Genotype:
    """Read (op name, input state) pairs and concat lists off a final normal and reduction cell."""

    def pairs(cell: CellDesc) -> list[tuple[str, int]]:
        out = []
        for j, node in enumerate(cell.nodes):
            for k, edge in enumerate(node.edges):
                if edge.op_desc.children:
                    raise DescError(
                        f"{path}[{cell.id}].nodes[{j}].edges[{k}]: a searched (mixed) op has no genotype; "
                        "finalize the model first"
                    )
                out.append((edge.op_desc.name, edge.input_ids[0]))
        return out

    def concat(cell: CellDesc) -> list[int]:
        return list(cell.concat) or list(range(len(cell.stems), cell.n_states))

    return Genotype(
        normal=pairs(normal),
        normal_concat=concat(normal),
        reduce=pairs(reduce) if reduce is not None else [],
        reduce_concat=concat(reduce) if reduce is not None else [],
    )


def model_to_genotype(desc: ModelDesc) -> Genotype:
    """The genotype of a final description: its first regular and first reduction cell."""
    normal = next((c for c in desc.cell_descs if not c.is_reduction), None)
    if normal is None:
        raise DescError("cell_descs: no regular cell to read a genotype from")
    return cells_to_genotype(normal, next((c for c in desc.cell_descs if c.is_reduction), None))
