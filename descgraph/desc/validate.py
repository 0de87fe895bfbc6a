"""Checks that a description is a well-formed network: inputs exist and come earlier, channels match.

Every error names the path inside the desc, e.g.
`cell_descs[3].nodes[1].edges[0].input_ids: state 7 does not exist (cell has 6)`.
"""

from __future__ import annotations

from descgraph.desc.model_desc import AuxTowerDesc, CellDesc, ModelDesc, OpDesc, Shape
from descgraph.desc.size import SizeLimits, check_size
from descgraph.errors import DescError


def _fail(source: str | None, path: str, msg: str) -> None:
    raise DescError(f"{source}: {path}: {msg}" if source else f"{path}: {msg}")


def _check_op_io(op: OpDesc, ch_in: int | None, ch_out: int | None, path: str, source: str | None) -> None:
    if ch_in is not None and op.ch_in is not None and op.ch_in != ch_in:
        _fail(source, f"{path}.params.ch_in", f"{op.name} expects {op.ch_in} channels but its input has {ch_in}")
    if ch_out is not None and op.ch_out is not None and op.ch_out != ch_out:
        _fail(source, f"{path}.params.ch_out", f"{op.name} gives {op.ch_out} channels but {ch_out} are expected")


def _strided(size: int, stride: int) -> int:
    return -(-size // stride)


def validate_cell(
    cell: CellDesc, in_shapes: list[Shape] | None = None, path: str = "cell", source: str | None = None
) -> None:
    """Check one cell; `in_shapes` are the shapes of the tensors its stems read, when known."""
    n_stems = len(cell.stems)
    if len(cell.stem_shapes) != n_stems:
        _fail(source, f"{path}.stem_shapes", f"{len(cell.stem_shapes)} shapes for {n_stems} stems")
    if len(cell.node_shapes) != len(cell.nodes):
        _fail(source, f"{path}.node_shapes", f"{len(cell.node_shapes)} shapes for {len(cell.nodes)} nodes")
    for i, stem in enumerate(cell.stems):
        ch_in = in_shapes[i][0] if in_shapes else None
        _check_op_io(stem, ch_in, cell.stem_shapes[i][0], f"{path}.stems[{i}]", source)
    for j in range(len(cell.nodes)):
        _validate_node(cell, j, f"{path}.nodes[{j}]", source)
    _validate_concat(cell, path, source)


def _validate_node(cell: CellDesc, j: int, path: str, source: str | None) -> None:
    node, n_stems = cell.nodes[j], len(cell.stems)
    own_state, node_shape = n_stems + j, cell.node_shapes[j]
    if node.conv_params.ch_out != node_shape[0]:
        _fail(source, f"{path}.conv_params.ch_out", f"{node.conv_params.ch_out} but the node shape has {node_shape[0]}")
    for k, edge in enumerate(node.edges):
        epath = f"{path}.edges[{k}]"
        if len(edge.input_ids) != edge.op_desc.in_len:
            _fail(
                source,
                f"{epath}.input_ids",
                f"{len(edge.input_ids)} inputs for op {edge.op_desc.name} which takes {edge.op_desc.in_len}",
            )
        for s in edge.input_ids:
            if s < 0 or s >= cell.n_states:
                _fail(source, f"{epath}.input_ids", f"state {s} does not exist (cell has {cell.n_states})")
            if s >= own_state:
                _fail(
                    source,
                    f"{epath}.input_ids",
                    f"state {s} is not earlier than this node (state {own_state}): the graph would have a cycle",
                )
        in_shape = cell.state_shape(edge.input_ids[0])
        _check_op_io(edge.op_desc, in_shape[0], node_shape[0], f"{epath}.op_desc", source)
        if len(in_shape) == 3 and len(node_shape) == 3:
            expect = [_strided(in_shape[1], edge.op_desc.stride), _strided(in_shape[2], edge.op_desc.stride)]
            if expect != node_shape[1:]:
                _fail(
                    source,
                    f"{epath}.op_desc",
                    f"{edge.op_desc.name} with stride {edge.op_desc.stride} maps {in_shape[1]}x{in_shape[2]} "
                    f"to {expect[0]}x{expect[1]}, but the node is {node_shape[1]}x{node_shape[2]}",
                )


def _validate_concat(cell: CellDesc, path: str, source: str | None) -> None:
    for s in cell.concat:
        if s < 0 or s >= cell.n_states:
            _fail(source, f"{path}.concat", f"state {s} does not exist (cell has {cell.n_states})")
    if cell.post_op.name == "concate_channels" and cell.concat:
        ch = sum(cell.state_shape(s)[0] for s in cell.concat)
        if ch != cell.out_shape[0]:
            _fail(
                source,
                f"{path}.out_shape",
                f"concat of states {cell.concat} has {ch} channels, not {cell.out_shape[0]}",
            )
    else:
        _check_op_io(cell.post_op, None, cell.out_shape[0], f"{path}.post_op", source)


def validate_model_desc(desc: ModelDesc, source: str | None = None, limits: SizeLimits | None = None) -> None:
    """Check every cell, the wiring between cells, aux towers and the logits op, then that its estimated size is
    within `limits` (the defaults when None); raise DescError."""
    stem_outs = [s.ch_out for s in desc.model_stems]
    if any(c is None for c in stem_outs):
        _fail(source, "model_stems", "every model stem needs params.ch_out")
    in_ch = desc.input_shape[0]
    _check_op_io(desc.model_stems[0], in_ch, None, "model_stems[0]", source)
    if len(desc.model_stems) == 2:
        _check_op_io(desc.model_stems[1], stem_outs[0], None, "model_stems[1]", source)
    outs: list[int] = stem_outs * 2 if len(stem_outs) == 1 else list(stem_outs)
    ids = set()
    for i, cell in enumerate(desc.cell_descs):
        path = f"cell_descs[{i}]"
        if cell.id in ids:
            _fail(source, f"{path}.id", f"cell id {cell.id} is used twice")
        ids.add(cell.id)
        if cell.trainables_from not in ids:
            _fail(source, f"{path}.trainables_from", f"cell {cell.trainables_from} is not this or an earlier cell")
        owner = next(c for c in desc.cell_descs if c.id == cell.trainables_from)
        if _edge_layout(owner) != _edge_layout(cell):
            _fail(
                source,
                f"{path}.trainables_from",
                f"cell {cell.trainables_from} has other nodes, edges or candidate ops: it has no parameters to share",
            )
        in_shapes = [[outs[k + 2]] for k in _stem_inputs(cell, i, path, source)]
        validate_cell(cell, in_shapes, path, source)
        outs.append(cell.out_shape[0])
        aux = desc.aux_tower(i)
        if aux is not None and aux.ch_in != cell.out_shape[0]:
            _fail(source, f"aux_tower_descs[{i}].ch_in", f"{aux.ch_in} but cell {i} gives {cell.out_shape[0]} channels")
        if aux is not None:
            _check_aux_map(aux, cell.out_shape[-1], i, source)
    _check_op_io(desc.logits_op, outs[-1], desc.n_classes, "logits_op", source)
    check_size(desc, limits, source)


def _check_aux_map(aux: AuxTowerDesc, size: int, i: int, source: str | None) -> None:
    """The tower's 2x2 conv needs at least a 2x2 map after its pool."""
    side = aux.pooled_size(size)
    if side >= 2:
        return
    widest = size - aux.pool_kernel(size)  # the largest stride that leaves 2x2
    fix = f"a stride of at most {widest} (a conf's aux_tower_stride)" if widest >= 1 else "a map of at least 2x2"
    _fail(
        source,
        f"aux_tower_descs[{i}].stride",
        f"{aux.stride} leaves a {side}x{side} map of cell {i}'s {size}x{size} output for the tower's 2x2 conv; "
        f"it needs {fix}, or no aux tower (aux_weight: 0)",
    )


def _edge_layout(cell: CellDesc) -> list[list[int]]:
    """Candidate ops per edge per node: what architecture parameters a cell has, and shares."""
    return [[len(e.op_desc.children) for e in node.edges] for node in cell.nodes]


def _stem_inputs(cell: CellDesc, index: int, path: str, source: str | None) -> list[int]:
    """The outputs the cell's stems read (-2, -1: the model stems), each an earlier one, one per stem."""
    inputs, n_stems = cell.stem_inputs(index), len(cell.stems)
    if not cell.input_cells and n_stems > index + 2:
        _fail(source, f"{path}.stems", f"{n_stems} stems but only {index + 2} earlier outputs")
    if len(inputs) != n_stems:
        _fail(source, f"{path}.input_cells", f"{len(inputs)} inputs for {n_stems} stems")
    bad = [k for k in inputs if not -2 <= k < index]
    if bad:
        _fail(
            source, f"{path}.input_cells", f"{bad[0]} is not an earlier cell (0..{index - 1}) nor a model stem (-2, -1)"
        )
    return inputs


def iter_op_descs(desc: ModelDesc):
    """Yield (path, OpDesc) for every op in the model, children included, in model order."""

    def walk(path: str, op: OpDesc):
        yield path, op
        for i, child in enumerate(op.children):
            yield from walk(f"{path}.children[{i}]", child)

    for i, stem in enumerate(desc.model_stems):
        yield from walk(f"model_stems[{i}]", stem)
    for i, cell in enumerate(desc.cell_descs):
        for k, stem in enumerate(cell.stems):
            yield from walk(f"cell_descs[{i}].stems[{k}]", stem)
        for j, node in enumerate(cell.nodes):
            for k, edge in enumerate(node.edges):
                yield from walk(f"cell_descs[{i}].nodes[{j}].edges[{k}].op_desc", edge.op_desc)
        yield from walk(f"cell_descs[{i}].post_op", cell.post_op)
    yield from walk("pool_op", desc.pool_op)
    yield from walk("logits_op", desc.logits_op)
