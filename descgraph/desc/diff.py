"""A structural diff of two descriptions: macro changes apart from changes inside the cells.

The macro is what a scale-up changes: the number of cells, where the reductions are, channels and spatial
sizes, the model stems, the cells' input adapters, aux towers, pool and logits. The cells are compared
by what they compute, with channel counts left out: each distinct cell of a type (a DARTS network has one
normal and one reduction cell) against the cell of the same type and rank in the other description,
node by node (the edges only one side has: a node sums its edges, so their order does not count; an edge
is its op, the op's non-channel params and the states it reads), and their concat.

diff = diff_descs(a, b)
diff.verdict      # "identical", "same cells, different macro", "different cells, same macro", ...
diff.to_dict()    # JSON-able
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from descgraph.desc.model_desc import CellDesc, EdgeDesc, ModelDesc, OpDesc

CHANNEL_PARAMS = ("ch_in", "ch_out", "ch_mid", "ch_se")


@dataclass
class Change:
    """One difference: where (a key path), what A has and what B has (None: absent)."""

    where: str
    a: Any
    b: Any

    def to_dict(self) -> dict[str, Any]:
        return {"where": self.where, "a": self.a, "b": self.b}


@dataclass
class CellChanges:
    """The changes between one cell kind of A and its counterpart in B (cells: the indices of that kind)."""

    title: str
    cells_a: list[int]
    cells_b: list[int]
    changes: list[Change] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "cell": self.title,
            "cells_a": self.cells_a,
            "cells_b": self.cells_b,
            "changes": [c.to_dict() for c in self.changes],
        }


@dataclass
class DescDiff:
    """The result of `diff_descs`."""

    hash_a: str
    hash_b: str
    macro: list[Change]
    cells: list[CellChanges]
    other: list[Change]

    @property
    def identical(self) -> bool:
        """Equal canonical hashes: the same architecture."""
        return self.hash_a == self.hash_b

    @property
    def verdict(self) -> str:
        """One line: identical, or which of cells and macro differ."""
        if self.identical:
            return "identical"
        cells = any(c.changes for c in self.cells)
        if cells and self.macro:
            return "different cells, different macro"
        if cells:
            return "different cells, same macro"
        if self.macro:
            return "same cells, different macro"
        return "same cells and macro, other differences"

    def to_dict(self) -> dict[str, Any]:
        return {
            "identical": self.identical,
            "verdict": self.verdict,
            "hash_a": self.hash_a,
            "hash_b": self.hash_b,
            "macro": [c.to_dict() for c in self.macro],
            "cells": [c.to_dict() for c in self.cells if c.changes],
            "other": [c.to_dict() for c in self.other],
        }


def op_key(op: OpDesc) -> dict[str, Any]:
    """What an op computes, channel counts left out (an MBConv keeps its expansion ratio)."""
    params = {k: v for k, v in sorted(op.params.items()) if k not in CHANNEL_PARAMS}
    if op.params.get("ch_mid") and op.params.get("ch_in"):
        params["expansion"] = round(op.params["ch_mid"] / op.params["ch_in"], 6)
    key: dict[str, Any] = {"op": op.name, **({"params": params} if params else {})}
    if op.children:
        key["children"] = [op_key(c) for c in op.children]
    return key


def edge_key(edge: EdgeDesc) -> dict[str, Any]:
    """An edge as the diff compares it: its op's key and the states it reads."""
    return {**op_key(edge.op_desc), "input_ids": list(edge.input_ids)}


def node_edges(cell: CellDesc, j: int) -> list[dict[str, Any]]:
    """The keys of node j's edges (none for a node the cell lacks), in a fixed order: a node sums its edges."""
    edges = cell.nodes[j].edges if j < len(cell.nodes) else []
    return sorted((edge_key(e) for e in edges), key=repr)


def _only_in(edges: list[dict[str, Any]], other: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The edges of `edges` that `other` lacks, counted as a multiset."""
    left = list(other)
    out = []
    for e in edges:
        if e in left:
            left.remove(e)
        else:
            out.append(e)
    return out


def cell_changes(a: CellDesc, b: CellDesc) -> list[Change]:
    """Per node, the edges only A has and those only B has; then the concat and the post op."""
    changes = []
    for j in range(max(len(a.nodes), len(b.nodes))):
        ea, eb = node_edges(a, j), node_edges(b, j)
        if ea != eb:
            changes.append(Change(f"nodes[{j}]", _only_in(ea, eb), _only_in(eb, ea)))
    if _concat(a) != _concat(b):
        changes.append(Change("concat", _concat(a), _concat(b)))
    if op_key(a.post_op) != op_key(b.post_op):
        changes.append(Change("post_op", op_key(a.post_op), op_key(b.post_op)))
    return changes


def _concat(cell: CellDesc) -> list[int]:
    return list(cell.concat) or list(range(len(cell.stems), cell.n_states))


def _cell_form(cell: CellDesc) -> str:
    """A cell as cell_changes sees it (two cells of one form have no changes)."""
    nodes = [node_edges(cell, j) for j in range(len(cell.nodes))]
    return repr((cell.cell_type.value, nodes, _concat(cell), op_key(cell.post_op)))


def distinct_cells(desc: ModelDesc) -> dict[str, list[tuple[CellDesc, list[int]]]]:
    """{cell type: [(first cell of a form, indices of the cells of that form)]}, in order of appearance."""
    forms: dict[str, tuple[CellDesc, list[int]]] = {}
    for i, cell in enumerate(desc.cell_descs):
        forms.setdefault(_cell_form(cell), (cell, []))[1].append(i)
    by_type: dict[str, list[tuple[CellDesc, list[int]]]] = {}
    for cell, ids in forms.values():
        by_type.setdefault(cell.cell_type.value, []).append((cell, ids))
    return by_type


def _kind_title(cell_type: str, rank: int, count: int) -> str:
    name = "normal" if cell_type == "regular" else cell_type
    return f"{name} cell" if count == 1 else f"{name} cell #{rank + 1}"


def compare_cells(a: ModelDesc, b: ModelDesc) -> list[CellChanges]:
    """Each distinct cell of A against the one of the same type and rank in B."""
    kinds_a, kinds_b = distinct_cells(a), distinct_cells(b)
    result = []
    for cell_type in dict.fromkeys([*kinds_a, *kinds_b]):
        la, lb = kinds_a.get(cell_type, []), kinds_b.get(cell_type, [])
        for r in range(max(len(la), len(lb))):
            title = _kind_title(cell_type, r, max(len(la), len(lb)))
            if r >= len(la) or r >= len(lb):
                cell, ids = (la + lb)[r] if r < len(la) else lb[r]
                side = (None, "present") if r >= len(la) else ("present", None)
                result.append(CellChanges(title, ids if r < len(la) else [], ids if r >= len(la) else [],
                                          [Change("cell", *side)]))  # fmt: skip
                continue
            (ca, ia), (cb, ib) = la[r], lb[r]
            result.append(CellChanges(title, ia, ib, cell_changes(ca, cb)))
    return result


def macro_of(desc: ModelDesc) -> dict[str, Any]:
    """What a scale-up changes, by name."""
    return {
        "input_shape": desc.input_shape,
        "n_classes": desc.n_classes,
        "model_stems": [op_key(s) | {"ch_out": s.ch_out} for s in desc.model_stems],
        "cells": len(desc.cell_descs),
        "reduction_cells": desc.reduction_cell_ids(),
        "cell_out_shapes": [c.out_shape for c in desc.cell_descs],
        "cell_inputs": [c.stem_inputs(i) for i, c in enumerate(desc.cell_descs)],
        "cell_stems": [[s.name for s in c.stems] for c in desc.cell_descs],
        "aux_towers": [i for i in range(len(desc.cell_descs)) if desc.aux_tower(i) is not None],
        "pool_op": op_key(desc.pool_op),
        "logits_op": op_key(desc.logits_op),
    }


def _first_difference(a: Any, b: Any, path: str = "") -> str | None:
    """The key path of the first place two canonical forms differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            found = _first_difference(a.get(key), b.get(key), f"{path}.{key}" if path else key)
            if found is not None:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            found = _first_difference(x, y, f"{path}[{i}]")
            if found is not None:
                return found
        return None
    return None if a == b else path


def diff_descs(a: ModelDesc, b: ModelDesc) -> DescDiff:
    """The structural diff of two descriptions (see the module docstring)."""
    ma, mb = macro_of(a), macro_of(b)
    macro = [Change(key, ma[key], mb[key]) for key in ma if ma[key] != mb[key]]
    result = DescDiff(a.hash(), b.hash(), macro, compare_cells(a, b), [])
    if not result.identical and not macro and not any(c.changes for c in result.cells):
        where = _first_difference(a.canonical(), b.canonical())
        result.other.append(Change(where or "(canonical form)", "differs", "differs"))
    return result


def format_diff(diff: DescDiff, name_a: str = "A", name_b: str = "B") -> str:
    """The diff as text lines: the verdict, the hashes, macro changes, then each cell kind's changes."""
    lines = [f"{diff.verdict}", f"  A {name_a}: hash {diff.hash_a[:12]}", f"  B {name_b}: hash {diff.hash_b[:12]}"]
    if diff.identical:
        return "\n".join(lines)
    lines.append("macro: " + ("same" if not diff.macro else f"{len(diff.macro)} change(s)"))
    lines += [f"  {c.where}: {_short(c.a)}  ->  {_short(c.b)}" for c in diff.macro]
    for cell in diff.cells:
        where = f"A cells {cell.cells_a or '-'}, B cells {cell.cells_b or '-'}"
        lines.append(f"{cell.title} ({where}): " + ("same" if not cell.changes else f"{len(cell.changes)} change(s)"))
        lines += [f"  {c.where}: {_short(c.a)}  ->  {_short(c.b)}" for c in cell.changes]
    lines += [f"other: {c.where} differs" for c in diff.other]
    return "\n".join(lines)


def _short(value: Any) -> str:
    """Edges as `op <- inputs`, anything else as its repr."""
    if isinstance(value, list) and value and all(isinstance(v, dict) and "input_ids" in v for v in value):
        return ", ".join(_short(v) for v in value)
    if isinstance(value, dict) and "op" in value and "input_ids" in value:
        extra = {k: v for k, v in value.items() if k not in ("op", "input_ids")}
        return f"{value['op']} <- {value['input_ids']}" + (f" {extra}" if extra else "")
    return "absent" if value is None or value == [] else str(value)
