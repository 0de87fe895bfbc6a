"""DARTS genotypes and NAS-Bench-201 strings to descriptions and back.

A genotype becomes the final description at a conf's macro (the DARTS conf's search macro unless one
is given), as `descgraph genotype` builds it; an NB201 string the benchmark's network on one of its
datasets. Back, a description gives its notation only when that notation can hold its structure.
"""

from __future__ import annotations

from descgraph.builders import build_from_genotype, build_nb201, desc_to_nb201, nb201_model_conf
from descgraph.conf.schema import ModelDescConf
from descgraph.desc import CellDesc, ModelDesc, validate_model_desc
from descgraph.desc.genotype import Genotype, format_genotype, model_to_genotype, parse_genotype
from descgraph.desc.nb201 import NB201Arch, format_nb201
from descgraph.errors import DescError

EDGES_PER_NODE = 2  # DARTS sec. 2.4: every node keeps two incoming edges


def darts_macro(stage: str = "search", conf: list[str] | None = None) -> ModelDescConf:
    """The model-desc conf of a stage of the bundled DARTS conf (or of `conf`: files, names, key=value)."""
    from descgraph.conf import load_conf

    items = conf or ["darts"]
    paths, overrides = [x for x in items if "=" not in x], [x for x in items if "=" in x]
    loaded = load_conf(paths or ["darts"], overrides)
    return (loaded.nas.search if stage == "search" else loaded.nas.eval).model_desc


def check_genotype(genotype: Genotype, edges_per_node: int = EDGES_PER_NODE) -> None:
    """Every node has `edges_per_node` pairs reading earlier states; concat names existing states.

    Raises:
        DescError: one line naming the cell type, the pair and what is wrong.
    """
    for kind, pairs, concat in (
        ("normal", genotype.normal, genotype.normal_concat),
        ("reduce", genotype.reduce, genotype.reduce_concat),
    ):
        if len(pairs) % edges_per_node:
            raise DescError(f"genotype: {kind}: {len(pairs)} pairs, not {edges_per_node} per node")
        n_states = 2 + len(pairs) // edges_per_node
        for i, (op, state) in enumerate(pairs):
            node_state = 2 + i // edges_per_node
            if not 0 <= state < node_state:
                raise DescError(
                    f"genotype: {kind}[{i}]: ({op!r}, {state}) reads state {state}, "
                    f"which is not earlier than its node (state {node_state})"
                )
        bad = [s for s in concat if not 0 <= s < n_states]
        if bad:
            raise DescError(f"genotype: {kind}_concat: state {bad[0]} does not exist (states 0..{n_states - 1})")


def from_genotype(genotype: Genotype | str, conf: ModelDescConf | None = None) -> ModelDesc:
    """The final description of a genotype (a `Genotype`, its literal or a name such as `DARTS_V2`).

    Args:
        genotype: the genotype.
        conf: the macro; the DARTS conf's search macro when None.
    """
    if isinstance(genotype, str):
        genotype = parse_genotype(genotype)
    check_genotype(genotype)
    desc = build_from_genotype(genotype, conf if conf is not None else darts_macro())
    validate_model_desc(desc)
    return desc


def _check_genotype_cell(cell: CellDesc, path: str) -> None:
    """A cell a genotype can hold: two stems, nodes of two single-input edges, a concatenation."""
    if len(cell.stems) != 2:
        raise DescError(f"{path}.stems: {len(cell.stems)} stems; a genotype's cells read the two previous cells")
    if cell.post_op.name != "concate_channels":
        raise DescError(f"{path}.post_op: {cell.post_op.name}; a genotype's cells concatenate their states")
    for j, node in enumerate(cell.nodes):
        if len(node.edges) != EDGES_PER_NODE:
            raise DescError(f"{path}.nodes[{j}].edges: {len(node.edges)} edges; a genotype's nodes have 2")
        for k, edge in enumerate(node.edges):
            if len(edge.input_ids) != 1:
                raise DescError(f"{path}.nodes[{j}].edges[{k}].input_ids: a genotype's edges read one state")


def to_genotype(desc: ModelDesc) -> Genotype:
    """The genotype of a final cell network: its first regular and first reduction cell.

    Raises:
        DescError: a cell that a genotype cannot hold (other stems, node fan-in, post op) or a mixed op.
    """
    for i, cell in enumerate(desc.cell_descs):
        _check_genotype_cell(cell, f"cell_descs[{i}]")
    genotype = model_to_genotype(desc)
    check_genotype(genotype)
    return genotype


def from_nb201(arch: NB201Arch | str, dataset: str = "cifar10", conf: ModelDescConf | None = None) -> ModelDesc:
    """The NAS-Bench-201 network of an architecture string (or 6 op names) on one of its datasets."""
    return build_nb201(arch, conf if conf is not None else nb201_model_conf(dataset))


def to_nb201(desc: ModelDesc) -> str:
    """The architecture string of a NAS-Bench-201 network (`desc_to_nb201` checks the whole network)."""
    return format_nb201(desc_to_nb201(desc))


__all__ = [
    "check_genotype",
    "darts_macro",
    "format_genotype",
    "from_genotype",
    "from_nb201",
    "to_genotype",
    "to_nb201",
]
