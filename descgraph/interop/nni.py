"""NNI 3.0's exported architecture dicts, both ways, in the keys NNI's model-space hub writes and reads.

Cell spaces (`nni.nas.hub.pytorch.nasnet`: DARTS, ENAS, PNAS): a cell labelled `normal` or `reduce`
holds nodes numbered from 2 (states 0 and 1 are the two previous cells); node i's k-th edge is
`<label>/op_<i>_<k>` (an op name) reading `<label>/input_<i>_<k>` (a one-element list of a state,
as NNI 3.0 writes it; NNI 2's bare int is read too). Spaces made with several widths or depths add
`width` and `depth`. The DARTS space concatenates all nodes; ENAS and PNAS are 5-node cells, ENAS
concatenating the nodes no other node reads (`loose_end`).

NAS-Bench-201 (`nni.nas.hub.pytorch.nasbench201`): `cell/<i>_<j>` is the op on the edge from node i to
node j, in NNI's names (`conv_3x3` is the benchmark's `nor_conv_3x3`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from descgraph._registry import close_matches
from descgraph.conf.schema import ModelDescConf
from descgraph.desc import ModelDesc
from descgraph.desc.genotype import DARTS_PRIMITIVES, Genotype
from descgraph.desc.nb201 import EDGES, format_nb201, parse_nb201
from descgraph.errors import DescError
from descgraph.interop.notations import darts_macro, from_genotype, from_nb201, to_genotype, to_nb201

PREDECESSORS = 2  # NNI's cells read the two previous cells, as DARTS's
LABELS = {"normal": "normal", "reduce": "reduce"}  # NNI's cell label -> Genotype field


@dataclass(frozen=True)
class CellSpace:
    """One of NNI's NASNet-style cell spaces: nodes per cell, its merge op, its candidate ops."""

    n_nodes: int
    merge_op: str
    ops: tuple[str, ...]


# nni/nas/hub/pytorch/nasnet.py (v3.0): DARTS_OPS, ENAS_OPS, PNAS_OPS and their cells.
CELL_SPACES = {
    "darts": CellSpace(4, "all", DARTS_PRIMITIVES[1:]),  # DARTS_OPS: DARTS's primitives but 'none'
    "enas": CellSpace(5, "loose_end", ("skip_connect", "sep_conv_3x3", "sep_conv_5x5", "avg_pool_3x3", "max_pool_3x3")),
    "pnas": CellSpace(
        5,
        "all",
        (
            "sep_conv_3x3",
            "sep_conv_5x5",
            "sep_conv_7x7",
            "conv_7x1_1x7",
            "skip_connect",
            "avg_pool_3x3",
            "max_pool_3x3",
            "dil_conv_3x3",
        ),
    ),
}
NB201_SPACE = "nb201"
SPACES = (*CELL_SPACES, NB201_SPACE)
MACRO_KEYS = ("width", "depth")
# nni/nas/hub/pytorch/nasbench201.py PRIMITIVES, against the benchmark's names
NNI_TO_NB201 = {
    "none": "none",
    "skip_connect": "skip_connect",
    "conv_1x1": "nor_conv_1x1",
    "conv_3x3": "nor_conv_3x3",
    "avg_pool_3x3": "avg_pool_3x3",
}
NB201_TO_NNI = {v: k for k, v in NNI_TO_NB201.items()}


def _space(space: str) -> str:
    if space not in SPACES:
        raise DescError(
            f"nni: unknown space {space!r}{close_matches(space, list(SPACES)) or ''} (known: {', '.join(SPACES)})"
        )
    return space


def cell_keys(space: str) -> list[str]:
    """Every key of a cell space's arch dict (without `width` and `depth`), in the order NNI's hub lists them."""
    cs = CELL_SPACES[space]
    return [
        f"{label}/{kind}_{i}_{k}"
        for label in LABELS
        for i in range(PREDECESSORS, PREDECESSORS + cs.n_nodes)
        for kind in ("op", "input")
        for k in range(2)
    ]


def nb201_keys() -> list[str]:
    """The keys of a NAS-Bench-201 arch dict, in NNI's order (node by node)."""
    return [f"cell/{i}_{j}" for i, j in EDGES]


def _check_keys(arch: dict[str, Any], expected: list[str], optional: tuple[str, ...], space: str) -> None:
    if not isinstance(arch, dict):
        raise DescError(f"nni: an architecture dict is a mapping, got {type(arch).__name__}")
    missing = [k for k in expected if k not in arch]
    if missing:
        raise DescError(f"nni: {missing[0]}: missing ({len(missing)} keys of the {space} space missing)")
    unknown = [k for k in arch if k not in expected and k not in optional]
    if unknown:
        hint = close_matches(str(unknown[0]), expected) or ""
        raise DescError(f"nni: {unknown[0]}: not a key of the {space} space{hint}")


def _input(value: Any, key: str, node: int) -> int:
    state = value[0] if isinstance(value, list) and len(value) == 1 else value
    if not isinstance(state, int) or isinstance(state, bool):
        raise DescError(f"nni: {key}: {value!r}; expected a one-element list of a state, e.g. [0]")
    if not 0 <= state < node:
        raise DescError(f"nni: {key}: state {state} is not earlier than node {node}")
    return state


def nni_to_genotype(arch: dict[str, Any], space: str = "darts") -> Genotype:
    """The genotype of a cell space's arch dict (keys checked: none missing, none unknown)."""
    cs = CELL_SPACES[_space(space)]
    _check_keys(arch, cell_keys(space), MACRO_KEYS, space)
    cells: dict[str, Any] = {}
    for label, field in LABELS.items():
        pairs, used = [], set()
        for i in range(PREDECESSORS, PREDECESSORS + cs.n_nodes):
            for k in range(2):
                op, key = arch[f"{label}/op_{i}_{k}"], f"{label}/op_{i}_{k}"
                if op not in cs.ops:
                    raise DescError(f"nni: {key}: {op!r} is not an op of the {space} space ({', '.join(cs.ops)})")
                state = _input(arch[f"{label}/input_{i}_{k}"], f"{label}/input_{i}_{k}", i)
                pairs.append((op, state))
                used.add(state)
        nodes = range(PREDECESSORS, PREDECESSORS + cs.n_nodes)
        cells[field] = pairs
        cells[f"{field}_concat"] = [n for n in nodes if cs.merge_op == "all" or n not in used]
    return Genotype(**cells)


def _macro(arch: dict[str, Any], conf: ModelDescConf | None) -> ModelDescConf:
    """The conf's macro (the DARTS search macro by default) with the dict's `width` and `depth`, if any."""
    conf = (conf if conf is not None else darts_macro()).model_copy(deep=True)
    for key in MACRO_KEYS:
        if key in arch and (not isinstance(arch[key], int) or isinstance(arch[key], bool) or arch[key] < 1):
            raise DescError(f"nni: {key}: {arch[key]!r}; expected a positive integer")
    try:
        if "width" in arch:
            conf.model_stems.init_node_ch = arch["width"]
        if "depth" in arch:
            conf.n_cells = arch["depth"]
    except ValidationError as e:  # a bound of the macro conf (channels, cells)
        key = "width" if e.errors()[0]["loc"][-1] == "init_node_ch" else "depth"
        raise DescError(f"nni: {key}: {arch[key]!r}; {e.errors()[0]['msg']}") from None
    return conf


def from_nni(arch: dict[str, Any], space: str = "darts", conf: ModelDescConf | None = None) -> ModelDesc:
    """The description of an NNI arch dict.

    Args:
        arch: the dict, e.g. `{'normal/op_2_0': 'sep_conv_3x3', 'normal/input_2_0': [0], ...}`.
        space: `darts`, `enas`, `pnas` (cells at `conf`'s macro, the DARTS search macro by default, with
            the dict's `width` and `depth`) or `nb201` (the benchmark's CIFAR-10 network unless `conf`).

    Raises:
        DescError: a missing or unknown key, an op outside the space, an input that is not earlier.
    """
    if _space(space) == NB201_SPACE:
        return from_nb201(nni_to_nb201(arch), conf=conf)
    return from_genotype(nni_to_genotype(arch, space), _macro(arch, conf))


def nni_to_nb201(arch: dict[str, Any]) -> str:
    """The NAS-Bench-201 string of an arch dict of NNI's `NasBench201` space."""
    _check_keys(arch, nb201_keys(), (), NB201_SPACE)
    ops = []
    for key in nb201_keys():
        if arch[key] not in NNI_TO_NB201:
            raise DescError(f"nni: {key}: {arch[key]!r} is not an op of the nb201 space ({', '.join(NNI_TO_NB201)})")
        ops.append(NNI_TO_NB201[arch[key]])
    return format_nb201(tuple(ops))


def nb201_to_nni(arch: str) -> dict[str, str]:
    """The arch dict of NNI's `NasBench201` space for a NAS-Bench-201 string."""
    return {key: NB201_TO_NNI[op] for key, op in zip(nb201_keys(), parse_nb201(arch))}


def genotype_to_nni(genotype: Genotype, space: str = "darts") -> dict[str, Any]:
    """The arch dict of a genotype in a cell space, checked to be one that space can hold."""
    cs = CELL_SPACES[_space(space)]
    arch: dict[str, Any] = {}
    for label, field in LABELS.items():
        pairs, concat = getattr(genotype, field), getattr(genotype, f"{field}_concat")
        if len(pairs) != 2 * cs.n_nodes:
            raise DescError(f"nni: the {field} cell has {len(pairs) // 2} nodes; the {space} space has {cs.n_nodes}")
        for n, (op, state) in enumerate(pairs):
            i, k = PREDECESSORS + n // 2, n % 2
            if op not in cs.ops:
                raise DescError(f"nni: the {field} cell's op {op!r} is not in the {space} space ({', '.join(cs.ops)})")
            arch[f"{label}/op_{i}_{k}"], arch[f"{label}/input_{i}_{k}"] = op, [state]
        nodes = range(PREDECESSORS, PREDECESSORS + cs.n_nodes)
        used = {s for _, s in pairs}
        expect = [n for n in nodes if cs.merge_op == "all" or n not in used]
        if list(concat) != expect:
            raise DescError(f"nni: the {field} cell concatenates {list(concat)}; the {space} space's would be {expect}")
    return {k: arch[k] for k in cell_keys(space)}


def to_nni(desc: ModelDesc, space: str = "darts", macro: bool = False) -> dict[str, Any]:
    """The NNI arch dict of a description.

    Args:
        desc: a final cell network (cell spaces) or a NAS-Bench-201 network (`nb201`).
        space: the NNI space to write in.
        macro: add `width` (the first cell's node channels) and `depth` (cells), as spaces with several
            widths and depths key them.

    Raises:
        DescError: the description is not one the space can hold; names what does not fit.
    """
    if _space(space) == NB201_SPACE:
        return nb201_to_nni(to_nb201(desc))
    arch = genotype_to_nni(to_genotype(desc), space)
    if macro:
        arch["width"] = desc.cell_descs[0].nodes[0].conv_params.ch_out
        arch["depth"] = len(desc.cell_descs)
    return arch


__all__ = [
    "CELL_SPACES",
    "SPACES",
    "cell_keys",
    "from_nni",
    "genotype_to_nni",
    "nb201_keys",
    "nb201_to_nni",
    "nni_to_nb201",
    "nni_to_genotype",
    "to_nni",
]
