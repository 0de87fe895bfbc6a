"""Microsoft Archai's saved final descriptions (`final_model_desc.yaml`) as descgraph ModelDescs.

Two layouts occur: Archai's later one (cell `stems`, `stem_shapes`, node `conv_params`, a saved
`conf_model_desc`) and its older one (`s0_op`/`s1_op`, cell-level `conv_params`, `alphas_from`). Both
become the same desc: every saved cell as saved, each op's channels and strides checked against the
cell's channels and the shapes its inputs have. Archai's network has two model stems that both read
the image (the DARTS network has one, read by the first two cells); they import as that one stem when
the file's two are the same op.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from descgraph.desc import (
    AuxTowerDesc,
    CellDesc,
    CellType,
    ConvMacroParams,
    EdgeDesc,
    ModelDesc,
    NodeDesc,
    OpDesc,
    Shape,
    validate_model_desc,
)
from descgraph.desc.genotype import DARTS_PRIMITIVES, cells_to_genotype, format_genotype
from descgraph.errors import DescError
from descgraph.interop.archai_yaml import CLASS_KEY, load_archai_yaml

# The ops of Archai's DARTS cells, stems and heads; each keeps its name in descgraph.
CELL_OPS = DARTS_PRIMITIVES
CELL_STEMS = {"prepr_normal": 1, "prepr_reduce": 2}  # name -> stride
MODEL_STEMS = ("stem_conv3x3",)
POOL_OPS = ("pool_adaptive_avg2d",)


class ArchaiTemplateWarning(UserWarning):
    """Cells of one type differ; a template-based build takes only the first of each type."""


class _Reader:
    """Reads keys of Archai's plain data; errors name the file and the key path."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: str, msg: str) -> None:
        raise DescError(f"{self.source}: {path}: {msg}")

    def obj(self, data: Any, cls: str, path: str) -> dict[str, Any]:
        if not isinstance(data, dict) or data.get(CLASS_KEY) != cls:
            self.fail(path, f"expected an Archai {cls}, got {_what(data)}")
        return data

    def key(self, data: dict[str, Any], key: str, path: str, kind: type | tuple[type, ...] = object) -> Any:
        """`data[key]`, checked to be there and of `kind`; `path` is where `data` is ('' at the top)."""
        where = f"{path}.{key}" if path else key
        if key not in data:
            self.fail(where, "missing")
        value = data[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self.fail(where, f"expected {_kind_name(kind)}, got {_what(value)}")
        return value

    def conv(self, op: dict[str, Any], path: str) -> tuple[int, int]:
        """(ch_in, ch_out) of an op's `params.conv`."""
        conv = self.obj(
            self.key(self.key(op, "params", path, dict), "conv", f"{path}.params"),
            "ConvMacroParams",
            f"{path}.params.conv",
        )
        return self.key(conv, "ch_in", f"{path}.params.conv", int), self.key(conv, "ch_out", f"{path}.params.conv", int)

    def op(self, data: Any, path: str, names: tuple[str, ...] | dict[str, int]) -> dict[str, Any]:
        op = self.obj(data, "OpDesc", path)
        name = self.key(op, "name", path, str)
        if name not in names:
            self.fail(f"{path}.name", f"{name!r} is not one of the ops Archai's DARTS places here ({', '.join(names)})")
        if op.get("children"):
            self.fail(f"{path}.children", "a searched (mixed) op; import a finalized description")
        return op


def _what(value: Any) -> str:
    if isinstance(value, dict) and CLASS_KEY in value:
        return f"an Archai {value[CLASS_KEY]}"
    return type(value).__name__


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(
        {"dict": "a mapping", "list": "a list", "int": "an integer", "str": "a string"}.get(k.__name__, k.__name__)
        for k in kinds
    )


def _op(name: str, ch_in: int, ch_out: int, stride: int = 1) -> OpDesc:
    params: dict[str, Any] = {"ch_in": ch_in, "ch_out": ch_out}
    if stride != 1:
        params["stride"] = stride
    return OpDesc(name=name, params=params)


def _strided(shape: Shape, stride: int) -> Shape:
    return [shape[0], -(-shape[1] // stride), -(-shape[2] // stride)]


def _check_ch(r: _Reader, path: str, got: int, expected: int, what: str) -> None:
    if got != expected:
        r.fail(path, f"{got}, but {what} has {expected}")


def _model_stem(r: _Reader, data: dict[str, Any], in_ch: int) -> OpDesc:
    """Archai's two model stems, which both read the image, as DARTS's one stem."""
    stems = r.key(data, "model_stems", "", list)
    if not 1 <= len(stems) <= 2:
        r.fail("model_stems", f"{len(stems)} stems; Archai's DARTS network has 2")
    ops = [r.op(s, f"model_stems[{i}]", MODEL_STEMS) for i, s in enumerate(stems)]
    convs = [r.conv(op, f"model_stems[{i}]") for i, op in enumerate(ops)]
    if any(op["name"] != ops[0]["name"] or conv != convs[0] for op, conv in zip(ops, convs)):
        r.fail("model_stems[1]", "differs from model_stems[0]; descgraph's DARTS network has one stem for both")
    _check_ch(r, "model_stems[0].params.conv.ch_in", convs[0][0], in_ch, "the image (ds_ch)")
    return _op(ops[0]["name"], *convs[0])


def _cell_stems(r: _Reader, cell: dict[str, Any], path: str) -> list[tuple[dict[str, Any], str]]:
    if "stems" in cell:
        return [(s, f"{path}.stems[{k}]") for k, s in enumerate(r.key(cell, "stems", path, list))]
    return [(r.key(cell, f"s{k}_op", path), f"{path}.s{k}_op") for k in range(2)]


def _node_ch(r: _Reader, cell: dict[str, Any], node: dict[str, Any], path: str, npath: str) -> int:
    """A node's channels: its own conv_params (later layout) or the cell's (older layout)."""
    if "conv_params" in node:
        conv, where = node["conv_params"], f"{npath}.conv_params"
    else:
        conv, where = r.key(cell, "conv_params", path), f"{path}.conv_params"
    conv = r.obj(conv, "ConvMacroParams", where)
    ch_in, ch_out = r.key(conv, "ch_in", where, int), r.key(conv, "ch_out", where, int)
    _check_ch(r, f"{where}.ch_in", ch_in, ch_out, "ch_out")
    return ch_out


def _edge(r: _Reader, data: Any, path: str, ch: int, n_states: int) -> EdgeDesc:
    edge = r.obj(data, "EdgeDesc", path)
    ids = r.key(edge, "input_ids", path, list)
    if len(ids) != 1 or not isinstance(ids[0], int) or not 0 <= ids[0] < n_states:
        r.fail(f"{path}.input_ids", f"{ids}; a DARTS edge reads one earlier state (0..{n_states - 1})")
    op = r.op(r.key(edge, "op_desc", path), f"{path}.op_desc", CELL_OPS)
    ch_in, ch_out = r.conv(op, f"{path}.op_desc")
    _check_ch(r, f"{path}.op_desc.params.conv.ch_in", ch_in, ch, "the node")
    _check_ch(r, f"{path}.op_desc.params.conv.ch_out", ch_out, ch, "the node")
    stride = op["params"].get("stride", 1)
    if stride not in (1, 2):
        r.fail(f"{path}.op_desc.params.stride", f"{stride!r}; DARTS ops have stride 1 or 2")
    return EdgeDesc(op_desc=_op(op["name"], ch_in, ch_out, stride), input_ids=list(ids))


def _nodes(r: _Reader, cell: dict[str, Any], path: str, n_stems: int) -> tuple[list[NodeDesc], int]:
    nodes, ch = [], None
    for j, data in enumerate(r.key(cell, "_nodes", path, list)):
        npath = f"{path}._nodes[{j}]"
        node = r.obj(data, "NodeDesc", npath)
        node_ch = _node_ch(r, cell, node, path, npath)
        if ch is not None:
            _check_ch(r, f"{npath}.conv_params.ch_out", node_ch, ch, "the cell's first node")
        ch = node_ch
        edges = [
            _edge(r, e, f"{npath}.edges[{k}]", ch, n_stems + j) for k, e in enumerate(r.key(node, "edges", npath, list))
        ]
        nodes.append(NodeDesc(edges=edges, conv_params=ConvMacroParams(ch_in=ch, ch_out=ch)))
    if not nodes:
        r.fail(f"{path}._nodes", "a cell without nodes")
    return nodes, ch


def _stems(r: _Reader, cell: dict[str, Any], path: str, in_shapes: list[Shape], ch: int) -> tuple[list[OpDesc], Shape]:
    """The cell's stems, each checked to bring its input to `ch` channels at the size of the last input."""
    target = [ch, *in_shapes[-1][1:]]
    stems = []
    for (data, spath), in_shape in zip(_cell_stems(r, cell, path), in_shapes):
        op = r.op(data, spath, CELL_STEMS)
        ch_in, ch_out = r.conv(op, spath)
        _check_ch(r, f"{spath}.params.conv.ch_in", ch_in, in_shape[0], "the output it reads")
        _check_ch(r, f"{spath}.params.conv.ch_out", ch_out, ch, "the cell's nodes")
        stride = CELL_STEMS[op["name"]]
        if _strided(in_shape, stride)[1:] != target[1:]:
            r.fail(
                f"{spath}.name",
                f"{op['name']} maps {in_shape[1]}x{in_shape[2]} by stride {stride}, not to {target[1]}x{target[2]}",
            )
        stems.append(_op(op["name"], ch_in, ch_out, stride))
    return stems, target


def _post_op(r: _Reader, cell: dict[str, Any], path: str, n_states: int, ch: int) -> tuple[OpDesc, list[int]]:
    """The concatenation of the last `out_states` states, its channels checked."""
    op = r.op(r.key(cell, "post_op", path), f"{path}.post_op", ("concate_channels",))
    out_states = r.key(op["params"], "out_states", f"{path}.post_op.params", int)
    if not 1 <= out_states <= n_states:
        r.fail(f"{path}.post_op.params.out_states", f"{out_states}; the cell has {n_states} states")
    ch_in, ch_out = r.conv(op, f"{path}.post_op")
    _check_ch(r, f"{path}.post_op.params.conv.ch_in", ch_in, out_states * ch, f"the concat of {out_states} states")
    _check_ch(r, f"{path}.post_op.params.conv.ch_out", ch_out, ch_in, "its input")
    concat = list(range(n_states - out_states, n_states))
    post = OpDesc(
        name="concate_channels", params={"ch_in": ch_in, "ch_out": ch_out, "in_len": out_states}, in_len=out_states
    )
    return post, concat


def _check_saved_shapes(r: _Reader, cell: dict[str, Any], path: str, desc: CellDesc) -> None:
    """The channels of the later layout's saved shapes (their sizes are -1) against the cell's."""
    for key, shapes in (
        ("stem_shapes", desc.stem_shapes),
        ("node_shapes", desc.node_shapes),
        ("out_shape", [desc.out_shape]),
    ):
        if key not in cell:
            continue
        saved = cell[key] if key != "out_shape" else [cell[key]]
        if not isinstance(saved, list) or len(saved) != len(shapes):
            r.fail(
                f"{path}.{key}",
                f"{len(saved) if isinstance(saved, list) else _what(saved)} shapes, expected {len(shapes)}",
            )
        for k, (s, shape) in enumerate(zip(saved, shapes)):
            if not isinstance(s, list) or not s or s[0] != shape[0]:
                r.fail(
                    f"{path}.{key}[{k}]" if key != "out_shape" else f"{path}.{key}",
                    f"{s}; the cell's channels give {shape[0]}",
                )


def _cell(r: _Reader, data: Any, index: int, outs: list[Shape]) -> CellDesc:
    path = f"_cell_descs[{index}]"
    cell = r.obj(data, "CellDesc", path)
    cell_type = r.key(cell, "cell_type", path, str)
    if cell_type not in {t.value for t in CellType}:
        r.fail(f"{path}.cell_type", f"{cell_type!r} is not regular or reduction")
    nodes, ch = _nodes(r, cell, path, n_stems=2)
    stems, stem_shape = _stems(r, cell, path, outs[-2:], ch)
    node_shape = _strided(stem_shape, 2 if cell_type == CellType.REDUCTION.value else 1)
    post_op, concat = _post_op(r, cell, path, 2 + len(nodes), ch)
    trainables_from = cell.get("trainables_from", cell.get("alphas_from", index))
    if not isinstance(trainables_from, int) or not 0 <= trainables_from <= index:
        r.fail(f"{path}.trainables_from", f"{trainables_from!r} is not this or an earlier cell")
    desc = CellDesc(
        id=index,
        cell_type=CellType(cell_type),
        stems=stems,
        stem_shapes=[list(stem_shape) for _ in stems],
        nodes=nodes,
        node_shapes=[list(node_shape) for _ in nodes],
        post_op=post_op,
        out_shape=[post_op.params["ch_out"], *node_shape[1:]],
        concat=concat,
        trainables_from=trainables_from,
    )
    _check_saved_shapes(r, cell, path, desc)
    return desc


def _aux_towers(r: _Reader, data: dict[str, Any], cells: list[CellDesc], n_classes: int) -> list[AuxTowerDesc | None]:
    towers = data.get("aux_tower_descs") or []
    if towers and len(towers) != len(cells):
        r.fail("aux_tower_descs", f"{len(towers)} entries for {len(cells)} cells")
    out = []
    for i, t in enumerate(towers):
        if t is None:
            out.append(None)
            continue
        t = r.obj(t, "AuxTowerDesc", f"aux_tower_descs[{i}]")
        ch_in = r.key(t, "ch_in", f"aux_tower_descs[{i}]", int)
        _check_ch(r, f"aux_tower_descs[{i}].ch_in", ch_in, cells[i].out_shape[0], f"cell {i}'s output")
        stride = r.key(t, "stride", f"aux_tower_descs[{i}]", int) if "stride" in t else 3
        out.append(AuxTowerDesc(ch_in=ch_in, n_classes=n_classes, stride=stride))
    return out if any(out) else []


def _head(r: _Reader, data: dict[str, Any], ch: int, n_classes: int) -> tuple[OpDesc, OpDesc]:
    pool = r.op(r.key(data, "pool_op", ""), "pool_op", POOL_OPS)
    pool_in, pool_out = r.conv(pool, "pool_op")
    _check_ch(r, "pool_op.params.conv.ch_in", pool_in, ch, "the last cell's output")
    _check_ch(r, "pool_op.params.conv.ch_out", pool_out, ch, "its input")
    logits = r.op(r.key(data, "logits_op", ""), "logits_op", ("linear",))
    params = r.key(logits, "params", "logits_op", dict)
    _check_ch(r, "logits_op.params.n_ch", r.key(params, "n_ch", "logits_op.params", int), ch, "the pooled output")
    _check_ch(
        r,
        "logits_op.params.n_classes",
        r.key(params, "n_classes", "logits_op.params", int),
        n_classes,
        "the model (n_classes)",
    )
    return _op(pool["name"], pool_in, pool_out), _op("linear", ch, n_classes)


def archai_to_desc(data: Any, source: str = "<archai>", image_size: int = 32) -> ModelDesc:
    """The ModelDesc of Archai's plain data (from `load_archai_yaml`), checked and validated.

    Args:
        data: the file's data.
        source: the file, for errors.
        image_size: the input's height and width (Archai's files leave sizes out; its DARTS files are CIFAR's 32).
    """
    r = _Reader(source)
    data = r.obj(data, "ModelDesc", "<root>")
    in_ch, n_classes = r.key(data, "ds_ch", "", int), r.key(data, "n_classes", "", int)
    stem = _model_stem(r, data, in_ch)
    outs = [[stem.ch_out, image_size, image_size]] * 2
    cells = []
    for i, cell in enumerate(r.key(data, "_cell_descs", "", list)):
        cells.append(_cell(r, cell, i, outs))
        outs.append(cells[-1].out_shape)
    if not cells:
        r.fail("_cell_descs", "no cells")
    pool_op, logits_op = _head(r, data, outs[-1][0], n_classes)
    desc = ModelDesc(
        input_shape=[in_ch, image_size, image_size],
        n_classes=n_classes,
        model_stems=[stem],
        cell_descs=cells,
        aux_tower_descs=_aux_towers(r, data, cells, n_classes),
        pool_op=pool_op,
        logits_op=logits_op,
        params={"source": f"archai:{Path(source).name}"},
    )
    validate_model_desc(desc, source=source)
    return desc


def differing_cells(desc: ModelDesc) -> dict[str, list[int]]:
    """Per cell type, the cells whose nodes and concat differ from the first cell of that type."""
    first: dict[CellType, CellDesc] = {}
    differ: dict[str, list[int]] = {}
    for i, cell in enumerate(desc.cell_descs):
        ref = first.setdefault(cell.cell_type, cell)
        if _arch_of(cell) != _arch_of(ref):
            differ.setdefault(cell.cell_type.value, []).append(i)
    return differ


def _arch_of(cell: CellDesc) -> tuple:
    edges = tuple(tuple((e.op_desc.name, tuple(e.input_ids)) for e in n.edges) for n in cell.nodes)
    return edges, tuple(cell.concat)


def from_archai(path: str | os.PathLike, image_size: int = 32) -> ModelDesc:
    """Import an Archai `final_model_desc.yaml` without running anything in it.

    Every cell is imported as saved. Its `params` hold the genotype of the first regular and first
    reduction cell, the cells a template-based build (`descgraph build ... --template`) scales up, as
    Archai's builder does; when other cells of a type differ, an `ArchaiTemplateWarning` names them.

    Raises:
        DescError: a tag other than Archai's classes, a malformed or truncated file, a channel or
            stride that does not fit; one line naming the file and the key path.
    """
    desc = archai_to_desc(load_archai_yaml(path), str(path), image_size)
    normal = next((c for c in desc.cell_descs if not c.is_reduction), None)
    if normal is not None:
        reduce = next((c for c in desc.cell_descs if c.is_reduction), None)
        desc.params = {**desc.params, "genotype": format_genotype(cells_to_genotype(normal, reduce))}
    differ = differing_cells(desc)
    if differ:
        listed = "; ".join(f"{t} cells {', '.join(map(str, ids))}" for t, ids in differ.items())
        warnings.warn(
            f"{path}: cells differ from the first of their type ({listed}); "
            "a template build uses the first regular and first reduction cell",
            ArchaiTemplateWarning,
            stacklevel=2,
        )
    return desc
