"""The description classes: plain, serializable data that says what a network is.

States inside a cell are numbered: the cell's stems first (0, 1 for two stems), then one state per
node. An edge's `input_ids` name states earlier than its own node; the post op concatenates the
states listed in `CellDesc.concat`. A cell with two stems reads the outputs of the two previous cells
(the model stems for the first cells), as in DARTS; `CellDesc.input_cells` wires a cell's stems to
any earlier outputs instead (networks whose layers skip-connect across many layers, as ENAS macro).
"""

from __future__ import annotations

import enum
import hashlib
import json
import math
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

SCHEMA_VERSION = 1
# op params that are sizes: positive integers wherever an op takes them
SIZE_PARAMS = ("ch_in", "ch_out", "ch_mid", "stride", "kernel")

# A tensor shape without the batch axis: [channels, height, width]; [channels] after pooling.
Shape = list[Annotated[int, Field(ge=1)]]  # a size of 0 is no tensor a network can take


class DescModel(BaseModel):
    """Base of every description class: plain data, unknown keys refused, validated on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    def clone(self):
        """A deep, independent copy."""
        return self.model_copy(deep=True)

    def canonical(self) -> Any:
        """The JSON-able value that the hash is taken over (overridden to leave out metadata)."""
        return _canonical(self.model_dump(mode="json"))

    def hash(self) -> str:
        """SHA-256 of the canonical form: equal architectures hash equal whatever key order or float spelling."""
        text = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def _canonical(value: Any) -> Any:
    """Normalize floats (integral floats become ints, others 12 significant digits) recursively."""
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        if value == value and value not in (float("inf"), float("-inf")) and value.is_integer():
            return int(value)
        return float(f"{value:.12g}")
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    raise ValueError(f"not plain data: {type(value).__name__}")


_SCALARS = (int, float, str)


def _check_plain(value: Any) -> None:
    """Raise ValueError where `_canonical` would, without building its copy (descs check every op's params)."""
    if isinstance(value, dict):
        value = value.values()
    elif not isinstance(value, (list, tuple)):
        value = (value,)
    for v in value:
        if v is None or isinstance(v, _SCALARS):  # bool is an int
            continue
        if isinstance(v, (dict, list, tuple)):
            _check_plain(v)
        else:
            raise ValueError(f"not plain data: {type(v).__name__}")


def _first_nonfinite(value: Any, path: str) -> tuple[str, float] | None:
    """The key path and value of the first NaN or infinite float in plain data, or None."""
    if isinstance(value, float):
        return None if math.isfinite(value) else (path, value)
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, (list, tuple)) else ()
    for key, v in items:
        found = _first_nonfinite(v, f"{path}.{key}" if isinstance(value, dict) else f"{path}[{key}]")
        if found is not None:
            return found
    return None


def _drop_default_wiring(cell: dict[str, Any], index: int | None = None) -> dict[str, Any]:
    """A cell's data without `input_cells` when they are the default wiring (of cell `index`, if known).

    So descs hash as they did before the field existed, and spelling out the default changes nothing.
    """
    default = [] if index is None else list(range(index - len(cell["stems"]), index))
    if cell.get("input_cells") in ([], default):
        cell.pop("input_cells", None)
    return cell


class ConvMacroParams(DescModel):
    """Input and output channel counts of a node or op."""

    ch_in: int = Field(ge=1, description="input channels")
    ch_out: int = Field(ge=1, description="output channels")


class CellType(str, enum.Enum):
    """Whether a cell keeps the spatial size (regular) or halves it and doubles channels (reduction)."""

    REGULAR = "regular"
    REDUCTION = "reduction"


class OpDesc(DescModel):
    """One op: a registered name and the keyword arguments its class takes.

    `params` holds plain values only (ch_in, ch_out, stride, kernel sizes...). An op with several
    inputs sets `in_len`. A composite op (a mixed op) lists its candidate ops in `children`, and
    `children_ins[i]` says which of the op's inputs child i reads (all of them when empty).
    """

    name: str = Field(min_length=1, description="registered op name")
    params: dict[str, Any] = Field(default_factory=dict, description="keyword arguments of the op")
    in_len: int = Field(default=1, ge=1, description="number of input tensors")
    children: list[OpDesc] = Field(default_factory=list, description="candidate ops of a composite op")
    children_ins: list[list[int]] = Field(default_factory=list, description="inputs read by each child")

    @model_validator(mode="after")
    def _check_plain_params(self) -> OpDesc:
        params = self.params
        _check_plain(params)  # raises ValueError (a ValidationError) for tensors or objects
        # JSON has no NaN or infinity: kept, they would hash alike (as null) and change the network unseen
        nonfinite = _first_nonfinite(params, "params")
        if nonfinite is not None:
            raise ValueError(f"{nonfinite[0]}: {nonfinite[1]!r} is not a finite number")
        for key in SIZE_PARAMS:
            if key in params:
                value = params[key]
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise ValueError(f"params.{key}: expected a positive integer, got {value!r}")
        if self.children_ins and len(self.children_ins) != len(self.children):
            raise ValueError(f"children_ins has {len(self.children_ins)} entries for {len(self.children)} children")
        return self

    @property
    def ch_in(self) -> int | None:
        """Input channels, when the op has them."""
        return self.params.get("ch_in")

    @property
    def ch_out(self) -> int | None:
        """Output channels, when the op has them."""
        return self.params.get("ch_out")

    @property
    def stride(self) -> int:
        """Spatial stride (1 unless set)."""
        return int(self.params.get("stride", 1))

    @property
    def conv(self) -> ConvMacroParams:
        """ch_in and ch_out as ConvMacroParams."""
        return ConvMacroParams(ch_in=self.params["ch_in"], ch_out=self.params["ch_out"])


class EdgeDesc(DescModel):
    """An op applied to earlier states of its cell; the node sums its edges."""

    op_desc: OpDesc
    input_ids: list[int] = Field(min_length=1, description="states the op reads, earlier than the node")


class NodeDesc(DescModel):
    """A node: the sum of its edges' outputs."""

    edges: list[EdgeDesc] = Field(default_factory=list)
    conv_params: ConvMacroParams


class AuxTowerDesc(DescModel):
    """An auxiliary classifier tower after a cell (DARTS/NASNet style)."""

    ch_in: int = Field(ge=1)
    n_classes: int = Field(ge=1)
    stride: int = Field(default=3, ge=1, description="stride of its 5x5 average pool (3 for 32x32 inputs, 2 for 224)")

    @staticmethod
    def pool_kernel(in_size: int) -> int:
        """Its average pool's kernel on an `in_size` map: 5, shrunk on smaller maps to leave 2x2 for its 2x2 conv."""
        return max(1, min(5, in_size - 1))

    def pooled_size(self, in_size: int) -> int:
        """The side of the map its 2x2 conv reads, after the pool on an `in_size` map (at least 2 to be built)."""
        return (in_size - self.pool_kernel(in_size)) // self.stride + 1


class CellDesc(DescModel):
    """A cell: stems that adapt its inputs, a DAG of nodes, and a post op over some of its states."""

    id: int = Field(ge=0)
    cell_type: CellType = CellType.REGULAR
    stems: list[OpDesc] = Field(min_length=1)
    stem_shapes: list[Shape]
    nodes: list[NodeDesc] = Field(default_factory=list)
    node_shapes: list[Shape]
    post_op: OpDesc
    out_shape: Shape
    concat: list[int] = Field(default_factory=list, description="states the post op concatenates")
    trainables_from: int = Field(ge=0, description="id of the cell whose architecture parameters this cell uses")
    input_cells: list[int] = Field(
        default_factory=list,
        description="outputs the stems read, one per stem: cell indices, -2/-1 the model stems' s0/s1; "
        "empty: the previous cells",
    )

    def canonical(self) -> Any:
        return _drop_default_wiring(super().canonical())

    def stem_inputs(self, index: int) -> list[int]:
        """What the stems read when this is cell `index`: `input_cells`, else the previous len(stems) outputs.

        Outputs are numbered as cells, the model stems' s0 and s1 being -2 and -1 (DARTS: cell i reads i-2, i-1).
        """
        return list(self.input_cells) if self.input_cells else list(range(index - len(self.stems), index))

    @property
    def n_states(self) -> int:
        """Number of states: stems plus nodes."""
        return len(self.stems) + len(self.nodes)

    @property
    def is_reduction(self) -> bool:
        return self.cell_type == CellType.REDUCTION

    def state_shape(self, state_id: int) -> Shape:
        """Shape of a state (a stem's output or a node's output)."""
        n_stems = len(self.stems)
        return self.stem_shapes[state_id] if state_id < n_stems else self.node_shapes[state_id - n_stems]


class ModelDesc(DescModel):
    """A whole network: model stems, cells, optional aux towers, pooling and the logits op.

    `params` is free-form metadata (a name, the genotype it came from...); it is not part of the
    architecture and is left out of the hash.
    """

    schema_version: int = SCHEMA_VERSION
    input_shape: Shape = Field(min_length=3, max_length=3, description="[channels, height, width]")
    n_classes: int = Field(ge=1)
    model_stems: list[OpDesc] = Field(min_length=1, max_length=2)
    cell_descs: list[CellDesc] = Field(default_factory=list)
    aux_tower_descs: list[AuxTowerDesc | None] = Field(default_factory=list, description="one entry per cell")
    pool_op: OpDesc
    logits_op: OpDesc
    affine: bool = Field(
        True, description="whether the BNs of cells, pool and logits learn scale and shift (not in a DARTS search)"
    )
    params: dict[str, Any] = Field(default_factory=dict, description="free-form metadata, not hashed")

    @model_validator(mode="after")
    def _check_aux_len(self) -> ModelDesc:
        _canonical(self.params)
        if self.aux_tower_descs and len(self.aux_tower_descs) != len(self.cell_descs):
            raise ValueError(
                f"aux_tower_descs has {len(self.aux_tower_descs)} entries for {len(self.cell_descs)} cells"
            )
        return self

    def canonical(self) -> Any:
        data = self.model_dump(mode="json", exclude={"params", "schema_version"})
        if not any(data["aux_tower_descs"]):
            data["aux_tower_descs"] = []
        if data["affine"]:
            del data["affine"]  # the default: descs hash as they did before the field existed
        data["cell_descs"] = [_drop_default_wiring(c, i) for i, c in enumerate(data["cell_descs"])]
        return _canonical(data)

    def aux_tower(self, cell_index: int) -> AuxTowerDesc | None:
        """The aux tower after cell `cell_index`, if any."""
        return self.aux_tower_descs[cell_index] if self.aux_tower_descs else None

    def reduction_cell_ids(self) -> list[int]:
        """Indices of the reduction cells."""
        return [i for i, c in enumerate(self.cell_descs) if c.is_reduction]
