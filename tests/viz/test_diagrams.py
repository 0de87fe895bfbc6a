"""`descgraph plot` on the papers' networks: every drawn edge and op label is read back from the figure's
artists and checked against what the architecture's own notation (genotype, NB201 string, ENAS layers,
BigNAS config) says, derived here without the description."""

from __future__ import annotations

import ast
import re
from collections import Counter

import pytest
import yaml
from PIL import Image

from descgraph.builders import build_nb201, nb201_model_conf
from descgraph.cli import main
from descgraph.conf import load_conf, resolve_conf_path
from descgraph.desc import load_desc
from descgraph.desc.genotype import parse_genotype
from descgraph.viz._figure import figure
from descgraph.viz.diagrams import desc_diagrams, draw_diagram

NB201_ARCH = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
NB201_NAMES = {"nor_conv_3x3": "conv_3x3", "nor_conv_1x1": "conv_1x1", "avg_pool_3x3": "avg_pool_3x3",
               "skip_connect": "skip_connect"}  # fmt: skip
BIGNAS_CONFIG = {
    "resolution": 12,
    "depths": [1, 2, 1, 2],
    "widths": [1.0, 0.75, 0.5, 1.0],
    "kernel_sizes": [[3], [5, 3], [3], [3, 5]],
    "expansion_ratios": [[1], [4, 2], [2], [4, 4]],
}


def drawn(diagram) -> tuple[Counter, dict]:
    """(Counter of (from, to, label) over the edge labels drawn, {node id: drawn label}) from the axes' texts."""
    with figure() as (_, ax):
        draw_diagram(ax, diagram)
        texts = [(t.get_gid(), t.get_text()) for t in ax.texts if t.get_gid()]
    edges = Counter()
    nodes = {}
    for gid, text in texts:
        kind, _, rest = gid.partition(" ")
        if kind == "edge":
            u, v = rest.split(" ")[0].split("->")
            edges[(u, v, text)] += 1
        else:
            nodes[rest] = text.strip("$")
    return edges, nodes


def check_png(path) -> None:
    with Image.open(path) as image:
        assert image.format == "PNG" and image.width > 200 and image.height > 100


@pytest.fixture(scope="module")
def plotted(tmp_path_factory):
    """plot(desc path) -> the PNG `descgraph plot` wrote."""
    out = tmp_path_factory.mktemp("plots")

    def plot(desc_path):
        png = out / f"{desc_path.stem}.png"
        assert main(["plot", str(desc_path), "-o", str(png)]) == 0
        check_png(png)
        return png

    return plot


def test_darts_v2_cells_are_drawn_as_the_genotype_says(tmp_path, plotted):
    path = tmp_path / "darts_v2.yaml"
    assert main(["genotype", "DARTS_V2", "-o", str(path)]) == 0
    plotted(path)
    genotype = parse_genotype("DARTS_V2")
    normal, reduction = desc_diagrams(load_desc(path))
    assert normal.title.startswith("normal cell") and reduction.title.startswith("reduction cell")
    for diagram, pairs in ((normal, genotype.normal), (reduction, genotype.reduce)):
        edges, nodes = drawn(diagram)
        # genotype pair i feeds intermediate node i // 2, whose state id is 2 + i // 2
        assert edges == Counter((str(src), str(2 + i // 2), op) for i, (op, src) in enumerate(pairs))
        assert nodes == {"0": "c_{k-2}", "1": "c_{k-1}", "2": "0", "3": "1", "4": "2", "5": "3", "out": "c_{k}"}
        assert {u for u, v in diagram.graph.edges() if v == "out"} == {2, 3, 4, 5}  # concat = range(2, 6)


def test_nb201_cell_is_drawn_as_the_string_says(tmp_path, plotted):
    from descgraph.desc import save_desc

    path = tmp_path / "nb201.yaml"
    save_desc(build_nb201(NB201_ARCH, nb201_model_conf()), path)
    plotted(path)
    diagrams = desc_diagrams(load_desc(path))
    assert [d.title.split(" (")[0] for d in diagrams] == ["normal cell", "reduction cell"]  # cells, residual blocks
    edges, nodes = drawn(diagrams[0])
    expected = Counter()
    for j, node in enumerate(NB201_ARCH.strip("|").split("|+|"), start=1):
        for edge in node.split("|"):
            op, i = edge.split("~")
            expected[(str(i), str(j), NB201_NAMES[op])] += 1  # NB201 node i is state i: node 0 is the cell input
    assert edges == expected
    assert nodes["0"] == "c_{k-1}" and {u for u, v in diagrams[0].graph.edges() if v == "out"} == {3}


def test_enas_macro_network_is_drawn_as_its_layers(tmp_path, plotted, confs_dir):
    conf_path = confs_dir / "spaces" / "enas_macro.yaml"
    path = tmp_path / "enas_macro.yaml"
    assert main(["build", str(conf_path), "-o", str(path)]) == 0
    plotted(path)
    (diagram,) = desc_diagrams(load_desc(path))
    edges, nodes = drawn(diagram)
    layers = ast.literal_eval(yaml.safe_load(conf_path.read_text())["nas"]["search"]["model_desc"]["arch"])
    expected = Counter()
    for i, (op, skips) in enumerate(layers):
        expected[(str(i - 1), str(i), op)] += 1  # layer 0 reads the stem (-1), layer i reads layer i-1
        for j in skips:  # skip 0 is the stem's output, skip j > 0 layer j-1's
            expected[(str(j - 1), str(i), "identity")] += 1
    assert edges == expected
    assert nodes["-1"] == "stem" and nodes["out"] == "out"


def test_bignas_child_stages_show_kernel_expansion_and_width(tmp_path, plotted):
    supernet, config, child = tmp_path / "supernet.yaml", tmp_path / "config.yaml", tmp_path / "child.yaml"
    assert main(["build", "bignas_toy", "-o", str(supernet)]) == 0
    config.write_text(yaml.safe_dump(BIGNAS_CONFIG))
    assert main(["child", str(supernet), str(config), "-o", str(child)]) == 0
    plotted(child)
    desc = load_desc(child)
    diagrams = desc_diagrams(desc)
    assert len(diagrams) == len(BIGNAS_CONFIG["depths"]) + 1  # one per stage, then the head
    for s, diagram in enumerate(diagrams[:-1]):
        edges, _ = drawn(diagram)
        blocks = sorted(edges, key=lambda e: int(e[0]))
        assert [(u, v) for u, v, _ in blocks] == [(str(b), str(b + 1)) for b in range(BIGNAS_CONFIG["depths"][s])]
        widths = [shape[0] for shape in desc.cell_descs[s].node_shapes]  # the channels each block outputs
        for b, (_, _, label) in enumerate(blocks):
            k, e, w = re.match(r"mbconv k(\d+) e([\d.]+) w(\d+)", label).groups()
            assert int(k) == BIGNAS_CONFIG["kernel_sizes"][s][b]
            assert float(e) == BIGNAS_CONFIG["expansion_ratios"][s][b]
            assert int(w) == widths[b]


def test_supernet_edges_show_their_strongest_op_and_weight(confs_dir):
    from descgraph._plugins import load_plugins
    from descgraph.builders import get_builder

    load_plugins()
    md = load_conf([resolve_conf_path("darts_digits")]).nas.search.model_desc
    supernet = get_builder(md.builder).build(md)
    ops = [c.name for c in supernet.cell_descs[0].nodes[0].edges[0].op_desc.children]
    # every edge of cell 0 favours sep_conv_5x5 at 0.3, except that `none` is heavier still on one edge
    weights = [0.1 if op != "sep_conv_5x5" else 0.3 for op in ops]
    heavy_none = [0.35 if op == "none" else w for op, w in zip(ops, weights)]
    cell0 = {(j, k): (heavy_none if (j, k) == (0, 0) else weights)
             for j, n in enumerate(supernet.cell_descs[0].nodes) for k in range(len(n.edges))}  # fmt: skip
    diagram = desc_diagrams(supernet, {0: cell0})[0]
    edges, _ = drawn(diagram)
    assert set(label for _, _, label in edges) == {"sep_conv_5x5 0.30"}  # the finalizer's pick, never `none`
    assert sum(edges.values()) == sum(len(n.edges) for n in supernet.cell_descs[0].nodes)


@pytest.mark.parametrize("suffix", [".svg", ".pdf"])
def test_plot_writes_the_format_of_the_suffix(tmp_path, suffix):
    path = tmp_path / "darts_v2.yaml"
    assert main(["genotype", "DARTS_V2", "-o", str(path)]) == 0
    out = tmp_path / f"cells{suffix}"
    assert main(["plot", str(path), "-o", str(out)]) == 0
    head = out.read_bytes()[:200]
    assert (b"<svg" in head) if suffix == ".svg" else head.startswith(b"%PDF")


def test_plot_refuses_an_unknown_format_in_one_line(tmp_path, capsys):
    path = tmp_path / "darts_v2.yaml"
    assert main(["genotype", "DARTS_V2", "-o", str(path)]) == 0
    assert main(["plot", str(path), "-o", str(tmp_path / "cells.gif")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cells.gif" in err and ".png" in err
