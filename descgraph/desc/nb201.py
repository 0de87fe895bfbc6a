"""NAS-Bench-201 architecture strings, both ways: `|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|...|`.

A cell has 4 nodes; node j (1..3) sums op(i -> j) over every i < j. The string lists node 1's edge,
then node 2's two edges, then node 3's three, each as `op~i`; nodes are joined by `+`. descgraph
holds such an architecture as the tuple of its 6 op names in that order (`EDGES` gives each one's (i, j)).
"""

from __future__ import annotations

from descgraph._registry import close_matches
from descgraph.errors import DescError

# The benchmark's own operation names (Dong and Yang, ICLR 2020, sec. 2.1).
NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
N_NODES = 4
# (from node i, to node j) of each of the 6 edges, in string order.
EDGES = tuple((i, j) for j in range(1, N_NODES) for i in range(j))

NB201Arch = tuple[str, ...]


def parse_nb201(text: str, source: str = "arch") -> NB201Arch:
    """The 6 op names of an architecture string.

    Args:
        text: the string, e.g. `|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|...|`.
        source: what to name in errors (a file and line, a CSV cell...).

    Raises:
        DescError: one line naming `source`, the node and the problem (unknown op, wrong input, wrong count).
    """
    nodes = text.strip().split("+")
    if len(nodes) != N_NODES - 1:
        raise DescError(f"{source}: expected {N_NODES - 1} nodes joined by '+', got {len(nodes)} in {text!r}")
    ops: list[str] = []
    for j, node in enumerate(nodes, start=1):
        if not (node.startswith("|") and node.endswith("|")) or len(node) < 2:
            raise DescError(f"{source}: node {j} {node!r} must be '|op~i|...|'")
        edges = node[1:-1].split("|")
        if len(edges) != j:
            raise DescError(f"{source}: node {j} needs {j} edges (one from each earlier node), got {len(edges)}")
        for i, edge in enumerate(edges):
            ops.append(_parse_edge(edge, i, j, source))
    return tuple(ops)


def _parse_edge(edge: str, i: int, j: int, source: str) -> str:
    op, sep, src = edge.partition("~")
    if not sep or src != str(i):
        raise DescError(f"{source}: node {j} edge {edge!r} must read '<op>~{i}'")
    if op not in NB201_OPS:
        hint = close_matches(op, list(NB201_OPS)) or f" (known: {', '.join(NB201_OPS)})"
        raise DescError(f"{source}: node {j} edge {edge!r}: unknown op {op!r}{hint}")
    return op


def format_nb201(ops: NB201Arch) -> str:
    """The architecture string of 6 op names (the inverse of `parse_nb201`)."""
    if len(ops) != len(EDGES):
        raise DescError(f"arch: expected {len(EDGES)} ops, got {len(ops)}")
    bad = [op for op in ops if op not in NB201_OPS]
    if bad:
        raise DescError(f"arch: unknown op {bad[0]!r} (known: {', '.join(NB201_OPS)})")
    nodes, k = [], 0
    for j in range(1, N_NODES):
        nodes.append("|" + "|".join(f"{ops[k + i]}~{i}" for i in range(j)) + "|")
        k += j
    return "+".join(nodes)
