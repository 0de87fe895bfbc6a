"""Architecture-weight evolution: search/alphas.jsonl as a heatmap (last epoch) and per-edge curves.

Each line of alphas.jsonl is one search epoch:
`{"epoch": e, "cells": [{"cell": id, "cell_type": t, "edges": [{"node": j, "edge": k, "input_ids": [...],
"ops": [...], "weights": [...]}]}]}`, the weights being the softmax of the edge's alphas at the epoch's end.
Cells that share architecture parameters appear once, under the cell that owns them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from descgraph.desc import ModelDesc
from descgraph.errors import DataError
from descgraph.viz._figure import figure, png_bytes, read_jsonl, save_figure
from descgraph.viz.diagrams import EdgeWeights


def load_alphas(path: str | Path) -> list[dict[str, Any]]:
    """The records of an alphas.jsonl file, oldest first; a last line cut short by a kill is dropped."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no architecture weights recorded (a DARTS search writes them)")
    records = read_jsonl(path)
    for n, record in enumerate(records, start=1):
        if not (isinstance(record, dict) and "epoch" in record and "cells" in record):
            raise DataError(f"{path}:{n}: not an alphas record (JSON with 'epoch' and 'cells')")
    return records


@dataclass
class AlphaTable:
    """One cell's weights over epochs: rows are edges (node, input states), columns the candidate ops.

    Attributes:
        cell: id of the cell that owns the weights.
        cell_type: regular or reduction.
        rows: (node index, edge index, input_ids) of each edge.
        ops: the candidate ops, the columns.
        epochs: the epochs recorded.
        weights: [epochs, rows, ops] (NaN where an edge lacks an op).
        chosen: row -> column of the op the final description keeps on that edge (edges it dropped are absent).
    """

    cell: int
    cell_type: str
    rows: list[tuple[int, int, tuple[int, ...]]]
    ops: list[str]
    epochs: list[int]
    weights: np.ndarray
    chosen: dict[int, int] = field(default_factory=dict)

    def row_label(self, r: int) -> str:
        node, _, inputs = self.rows[r]
        return f"{node} <- {','.join(map(str, inputs))}"


def alpha_tables(records: list[dict[str, Any]], final_desc: ModelDesc | None = None) -> list[AlphaTable]:
    """The records as one table per owning cell, with the final description's choices when given."""
    if not records:
        return []
    tables = []
    for c, cell in enumerate(records[-1]["cells"]):
        edges = cell["edges"]
        ops = list(dict.fromkeys(op for e in edges for op in e["ops"]))
        weights = np.full((len(records), len(edges), len(ops)), np.nan)
        for t, record in enumerate(records):
            for r, e in enumerate(record["cells"][c]["edges"]):
                weights[t, r, [ops.index(o) for o in e["ops"]]] = e["weights"]
        rows = [(e["node"], e["edge"], tuple(e["input_ids"])) for e in edges]
        table = AlphaTable(cell["cell"], cell["cell_type"], rows, ops, [r["epoch"] for r in records], weights)
        if final_desc is not None:
            table.chosen = _final_choices(table, final_desc)
        tables.append(table)
    return tables


def _final_choices(table: AlphaTable, final_desc: ModelDesc) -> dict[int, int]:
    """Rows whose edge (same node, same inputs) the final description kept, and the column of its op."""
    cell = final_desc.cell_descs[table.cell]
    kept = {(j, tuple(e.input_ids)): e.op_desc.name for j, n in enumerate(cell.nodes) for e in n.edges}
    return {
        r: table.ops.index(kept[(node, inputs)])
        for r, (node, _, inputs) in enumerate(table.rows)
        if kept.get((node, inputs)) in table.ops
    }


def last_weights(records: list[dict[str, Any]]) -> EdgeWeights:
    """The last epoch's weights as the cell diagrams take them: {cell: {(node, edge): weights}}."""
    if not records:
        return {}
    return {
        cell["cell"]: {(e["node"], e["edge"]): e["weights"] for e in cell["edges"]} for cell in records[-1]["cells"]
    }


def draw_heatmap(ax: Any, table: AlphaTable) -> None:
    """The last epoch's weights (rows: edges, columns: ops); each final choice is a red square, gid `chosen R C`."""
    last = table.weights[-1]
    image = ax.imshow(last, cmap="viridis", vmin=0.0, aspect="auto")
    ax.set_xticks(range(len(table.ops)), table.ops, rotation=45, ha="right", fontsize=7)
    ax.set_yticks(range(len(table.rows)), [table.row_label(r) for r in range(len(table.rows))], fontsize=7)
    for r, col in table.chosen.items():
        ax.scatter([col], [r], marker="s", s=70, facecolors="none", edgecolors="red", linewidths=1.5,
                   gid=f"chosen {r} {col}")  # fmt: skip
    ax.set_title(f"{_kind(table)} cell, epoch {table.epochs[-1]} (red: final choice)", fontsize=9)
    ax.figure.colorbar(image, ax=ax, fraction=0.04)


def _draw_evolution(ax: Any, table: AlphaTable) -> None:
    """One line per (edge, op) would be unreadable: each edge's final op weight over epochs, plus `none`."""
    for r in range(len(table.rows)):
        col = table.chosen.get(r, int(np.nanargmax(table.weights[-1, r])))
        ax.plot(table.epochs, table.weights[:, r, col], lw=1, label=f"{table.row_label(r)} {table.ops[col]}")
    if "none" in table.ops:
        none = table.weights[:, :, table.ops.index("none")].mean(axis=1)
        ax.plot(table.epochs, none, "k--", lw=1.5, label="none (mean)")
    ax.set_xlabel("epoch")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_ylabel("weight")
    ax.set_title(f"{_kind(table)} cell: weight of each edge's chosen op", fontsize=9)
    ax.legend(fontsize=5, ncol=2, loc="upper left")
    ax.grid(alpha=0.3)


def _kind(table: AlphaTable) -> str:
    return "reduction" if table.cell_type == "reduction" else "normal"


def plot_alphas(tables: list[AlphaTable], path: str | Path | None = None):
    """Per cell: the last epoch's heatmap (edges x ops) beside the evolution; writes `path`, else PNG bytes."""
    if not tables:
        raise DataError("no architecture weights to draw")
    height = max(3.2, 0.28 * max(len(t.rows) for t in tables) + 1.2)
    with figure(len(tables), 2, figsize=(12, height * len(tables)), squeeze=False) as (fig, axes):
        for (heat, evolution), table in zip(axes, tables):
            draw_heatmap(heat, table)
            _draw_evolution(evolution, table)
        fig.subplots_adjust(left=0.09, right=0.98, bottom=0.12, top=0.94, wspace=0.3, hspace=0.45)
        return save_figure(fig, path) if path is not None else png_bytes(fig)
