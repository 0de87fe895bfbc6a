"""Cell and network diagrams, drawn as the DARTS paper draws cells.

Inputs on the left (c_{k-2}, c_{k-1}), the nodes in topological order, every edge labelled with its op,
and the concatenated output c_{k} on the right. Each distinct cell is drawn once (a DARTS network has a
normal and a reduction cell). A network whose cells each hold one node (ENAS macro layers) is drawn as one
DAG of its layers instead, every edge labelled with the op that reads it. A supernet's mixed ops are
labelled with their strongest candidate other than `none` and its weight, when the weights are given.

The picture is made from `Diagram.graph`, a networkx graph whose nodes carry `label` and `layer` and
whose edges carry `label`: what is drawn can be checked against the description through it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx

from descgraph.desc import CellDesc, ModelDesc, OpDesc
from descgraph.viz._figure import figure, save_figure

OUT = "out"
# weights of a supernet: {owner cell id: {(node index, edge index): softmax over the mixed op's children}}
EdgeWeights = Mapping[int, Mapping[tuple[int, int], Sequence[float]]]


@dataclass
class Diagram:
    """One picture: a title and the labelled graph it is drawn from."""

    title: str
    graph: nx.MultiDiGraph


def strongest(op: OpDesc, weights: Sequence[float]) -> tuple[str, float]:
    """The candidate a DARTS finalizer keeps (the heaviest other than `none`) and its weight."""
    names = [c.name for c in op.children]
    best = max((i for i, n in enumerate(names) if n != "none"), key=lambda i: weights[i], default=None)
    return (names[best], float(weights[best])) if best is not None else ("none", float(max(weights)))


def op_label(op: OpDesc, weights: Sequence[float] | None = None) -> str:
    """How an op is written on its edge: the name, with the block's shape for MBConv-style blocks."""
    p = op.params
    if op.children:
        if weights is None:
            return f"mixed ({len(op.children)} ops)"
        name, w = strongest(op, weights)
        return f"{name} {w:.2f}"
    if op.name == "mbconv":
        stride = f" s{p['stride']}" if p.get("stride", 1) != 1 else ""
        return f"mbconv k{p['kernel']} e{p['ch_mid'] / p['ch_in']:g} w{p['ch_out']}{stride}"
    if op.name == "conv_bn_act":
        return f"conv {p['kernel']}x{p['kernel']} w{p['ch_out']}"
    return op.name


def _stem_labels(n_stems: int) -> list[str]:
    return [f"c_{{k-{n_stems - i}}}" for i in range(n_stems)]


def cell_diagram(cell: CellDesc, title: str, weights: Mapping[tuple[int, int], Sequence[float]] | None = None):
    """The diagram of one cell: stems, nodes 0..n-1, labelled edges, the output and the states it concatenates."""
    g = nx.MultiDiGraph()
    n_stems = len(cell.stems)
    for s, label in enumerate(_stem_labels(n_stems)):
        g.add_node(s, label=label, kind="input")
    for j, node in enumerate(cell.nodes):
        g.add_node(n_stems + j, label=str(j), kind="node")
        for k, edge in enumerate(node.edges):
            label = op_label(edge.op_desc, (weights or {}).get((j, k)))
            for src in edge.input_ids:
                g.add_edge(src, n_stems + j, label=label, node=j, edge=k)
    g.add_node(OUT, label="c_{k}", kind="output")
    for s in cell.concat or range(n_stems, cell.n_states):
        g.add_edge(s, OUT, label="", node=None, edge=None)
    _set_layers(g)
    return Diagram(title, g)


def is_layer_network(desc: ModelDesc) -> bool:
    """Whether every cell is a single node (a chain of layers such as ENAS macro) and is best drawn whole."""
    return len(desc.cell_descs) > 1 and all(len(c.nodes) == 1 for c in desc.cell_descs)


def network_diagram(desc: ModelDesc, title: str = "network") -> Diagram:
    """Layers as nodes (the model stem first), each edge labelled with the op its layer applies to that input."""
    g = nx.MultiDiGraph()
    g.add_node(-1, label="stem", kind="input")
    for i, cell in enumerate(desc.cell_descs):
        g.add_node(i, label=f"{i}" + (" (red.)" if cell.is_reduction else ""), kind="node")
        reads = cell.stem_inputs(i)
        for k, edge in enumerate(cell.nodes[0].edges):
            for s in edge.input_ids:
                g.add_edge(max(reads[s], -1), i, label=op_label(edge.op_desc), node=0, edge=k)
    g.add_node(OUT, label="out", kind="output")
    g.add_edge(len(desc.cell_descs) - 1, OUT, label="", node=None, edge=None)
    _set_layers(g)
    return Diagram(title, g)


def _set_layers(g: nx.MultiDiGraph) -> None:
    """Node `layer`: inputs 0, then every other node one column per topological position, the output last."""
    order = [n for n in nx.topological_sort(g) if g.nodes[n]["kind"] == "node"]
    column = {n: i + 1 for i, n in enumerate(order)}
    for n, data in g.nodes(data=True):
        data["layer"] = 0 if data["kind"] == "input" else column.get(n, len(order) + 1)


def _cell_title(cell: CellDesc, ids: list[int]) -> str:
    kind = "reduction" if cell.is_reduction else "normal"
    where = f"cell {ids[0]}" if len(ids) == 1 else f"cells {', '.join(map(str, ids))}"
    return f"{kind} cell ({where})"


def desc_diagrams(desc: ModelDesc, weights: EdgeWeights | None = None) -> list[Diagram]:
    """The diagrams of a description: its distinct cells in order of appearance, or its layers drawn whole."""
    if is_layer_network(desc):
        return [network_diagram(desc)]
    distinct: dict[str, tuple[CellDesc, list[int], Diagram]] = {}
    for i, cell in enumerate(desc.cell_descs):
        diagram = cell_diagram(cell, "", (weights or {}).get(cell.trainables_from))
        key = repr((cell.cell_type, sorted(diagram.graph.edges(data="label"), key=repr)))
        distinct.setdefault(key, (cell, [], diagram))[1].append(i)
    for cell, ids, diagram in distinct.values():
        diagram.title = _cell_title(cell, ids)
    return [d for _, _, d in distinct.values()]


def _positions(g: nx.MultiDiGraph) -> dict[Any, tuple[float, float]]:
    """Columns by layer; inside a column, nodes spread around the middle (inputs stacked, others zigzag)."""
    columns: dict[int, list[Any]] = {}
    for n in g.nodes:
        columns.setdefault(g.nodes[n]["layer"], []).append(n)
    pos = {}
    for layer, nodes in columns.items():
        for r, n in enumerate(nodes):
            zigzag = 1.1 * (-1) ** layer if len(nodes) == 1 and g.nodes[n]["kind"] == "node" else 0.0
            pos[n] = (2.2 * layer, (len(nodes) - 1) / 2 - 1.4 * r + zigzag)
    return pos


def _on_arc(p0: tuple[float, float], p2: tuple[float, float], rad: float, t: float) -> tuple[float, float]:
    """The point at `t` of matplotlib's arc3 curve from p0 to p2 (a quadratic Bezier), so labels sit on their edge."""
    (x0, y0), (x2, y2) = p0, p2
    cx, cy = (x0 + x2) / 2 + rad * (y2 - y0), (y0 + y2) / 2 - rad * (x2 - x0)
    a, b, c = (1 - t) ** 2, 2 * t * (1 - t), t**2
    return a * x0 + b * cx + c * x2, a * y0 + b * cy + c * y2


def draw_diagram(ax: Any, diagram: Diagram) -> None:
    """Draw a diagram on an axes; each edge label is a text artist whose gid is `edge U->V K`."""
    g, pos = diagram.graph, _positions(diagram.graph)
    colors = {"input": "#a6cee3", "node": "#b2df8a", "output": "#fdbf6f"}
    for u, v, k, label in g.edges(keys=True, data="label"):
        rad = 0.12 * (k + 1) * (1 if pos[u][1] <= pos[v][1] else -1)
        ax.annotate("", xy=pos[v], xytext=pos[u], zorder=1, arrowprops={
            "arrowstyle": "-|>", "color": "0.4", "lw": 1, "shrinkA": 14, "shrinkB": 14,
            "connectionstyle": f"arc3,rad={rad}"})  # fmt: skip
        if label:
            x, y = _on_arc(pos[u], pos[v], rad, t=0.45)
            ax.text(x, y, label, fontsize=7, ha="center", va="center", zorder=3, gid=f"edge {u}->{v} {k}",
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85})  # fmt: skip
    for n, data in g.nodes(data=True):
        ax.text(*pos[n], f"${data['label']}$" if "_" in data["label"] else data["label"], fontsize=9,
                ha="center", va="center", zorder=4, gid=f"node {n}",
                bbox={"boxstyle": "round,pad=0.35", "fc": colors[data["kind"]], "ec": "0.3"})  # fmt: skip
    xs, ys = [p[0] for p in pos.values()], [p[1] for p in pos.values()]
    ax.set_xlim(min(xs) - 0.8, max(xs) + 0.8)
    ax.set_ylim(min(ys) - 0.8, max(ys) + 0.8)
    ax.set_title(diagram.title, fontsize=10)
    ax.axis("off")


def plot_diagrams(diagrams: list[Diagram], path: str | Path | None = None):
    """Draw diagrams stacked in one figure; writes `path` (PNG, SVG or PDF by suffix) when given.

    Returns the figure's PNG bytes when no path is given, else the path.
    """
    from descgraph.viz._figure import png_bytes

    width = max(6.0, 1.7 * max(d.graph.nodes[OUT]["layer"] + 1 for d in diagrams))
    heights = [max(3.0, 1.1 * _tallest_column(d.graph)) for d in diagrams]
    with figure(len(diagrams), 1, figsize=(width, sum(heights)), squeeze=False,
                gridspec_kw={"height_ratios": heights}) as (fig, axes):  # fmt: skip
        for ax, diagram in zip(axes[:, 0], diagrams):
            draw_diagram(ax, diagram)
        fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=0.95, hspace=0.15)
        return save_figure(fig, path) if path is not None else png_bytes(fig)


def _tallest_column(g: nx.MultiDiGraph) -> int:
    layers = [g.nodes[n]["layer"] for n in g.nodes]
    return max(layers.count(x) for x in set(layers))


def plot_desc(desc: ModelDesc, path: str | Path | None = None, weights: EdgeWeights | None = None):
    """Draw every distinct cell (or the layers) of a description; see `plot_diagrams` for what it returns."""
    return plot_diagrams(desc_diagrams(desc, weights), path)
