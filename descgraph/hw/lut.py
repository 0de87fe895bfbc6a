"""Hardware cost lookup tables: the latency of every block a search space can place, measured alone.

This module holds the table (entries, keys, files) and the prediction; `descgraph.hw.lut_measure` times
the blocks.

An entry is keyed by what determines its cost and nothing else: the op's name and params, the shapes it
reads, the batch and the thread count (as once-for-all's tables are keyed by op, shapes, kernel, stride
and expand), so one table serves every search over that space on that device. Each block is exported
alone and timed with onnxruntime beside an empty graph with the same inputs; the entry's latency is the
difference, the block's own work. A description's predicted latency is the sum of its blocks and node
additions plus the runtime's per-run overhead, measured once for the whole network.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from descgraph._files import read_data, validation_message, write_data
from descgraph.desc import ModelDesc, OpDesc
from descgraph.errors import LutError
from descgraph.hw.sites import node_sites, op_sites, sum_sites

TABLE_SCHEMA_VERSION = 1


class LutEntry(BaseModel):
    """One block: what it is, and its measured latency (ms) with the runs behind it."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    kind: str = Field(description="'op' for an op of the description, 'add' for a node's sum of two tensors")
    op: str = Field(description="op name ('add' for a sum, 'multi_op' for a node's two edges and their sum)")
    params: dict[str, Any] = Field(default_factory=dict, description="the op's params")
    children: list[dict[str, Any]] = Field(default_factory=list, description="a node's edge ops (name and params)")
    children_ins: list[list[int]] = Field(default_factory=list, description="which input each edge op reads")
    in_shapes: list[list[int]] = Field(description="input shapes without the batch axis")
    latency_ms: float = Field(description="block minus empty graph, medians: the block's own work")
    count: int = Field(description="timed runs of the block")
    mean_ms: float = Field(description="mean of the block's runs (runtime overhead included)")
    var_ms2: float = Field(description="variance of the block's runs")
    median_ms: float = Field(description="median of the block's runs")
    overhead_ms: float = Field(description="median of an empty graph with the same inputs")
    macs: int = Field(description="multiply-accumulates of the block (convolutions and linear layers)")
    params_count: int = Field(description="weights of the block")


class LatencyTable(BaseModel):
    """A lookup table for one search space on one device, at one batch size and thread count."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    schema_version: int = TABLE_SCHEMA_VERSION
    space: str = Field(description="what the table covers (the search builder and the macro)")
    conf: str = Field("", description="the effective conf it was built from (YAML), to sample the space again")
    batch: int = 1
    threads: int = 1
    env: dict[str, Any] = Field(default_factory=dict, description="CPU, runtime versions")
    run_overhead_ms: float = Field(0.0, description="per-run cost of the runtime, paid once per network")
    entries: dict[str, LutEntry] = Field(default_factory=dict, description="entries by key")


def entry_key(kind: str, op: str, params: dict[str, Any], in_shapes: Iterable[Iterable[int]], children=()) -> str:
    """The key of a block: kind, op, canonical params, input shapes, and the children of a composite op."""
    shapes = [list(s) for s in in_shapes]
    data = [kind, op, params, shapes] + ([list(children)] if children else [])
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def _children(op: OpDesc) -> list:
    return [[c.name, c.params, ins] for c, ins in zip(op.children, op.children_ins or [[]] * len(op.children))]


def op_key(op: OpDesc, in_shapes: Iterable[Iterable[int]]) -> str:
    """The key of an op (with its children, for a node's `multi_op`) on input shapes."""
    return entry_key("op", op.name, op.params, in_shapes, _children(op))


def site_key(site) -> str:
    """The key of an OpSite or NodeSite of a description."""
    return op_key(site.op, site.in_shapes)


def sum_key(shape: Iterable[int]) -> str:
    """The key of one addition of two tensors of `shape`."""
    return entry_key("add", "add", {}, [list(shape), list(shape)])


@dataclass(frozen=True)
class Block:
    """A block of a table: an op on input shapes, or (op None) the addition of two tensors of a shape."""

    kind: str
    op: OpDesc | None
    in_shapes: tuple[tuple[int, ...], ...]

    def key(self) -> str:
        return op_key(self.op, self.in_shapes) if self.op is not None else sum_key(self.in_shapes[0])


def entry_block(entry: LutEntry) -> Block:
    """The block an entry was measured on, to time it again."""
    if entry.kind == "add":
        return Block("add", None, tuple(tuple(s) for s in entry.in_shapes))
    children = [OpDesc(name=c["name"], params=c["params"]) for c in entry.children]
    in_len = len(entry.in_shapes) if children else 1
    op = OpDesc(name=entry.op, params=entry.params, in_len=in_len, children=children, children_ins=entry.children_ins)
    return Block(entry.kind, op, tuple(tuple(s) for s in entry.in_shapes))


# --- predicting -----------------------------------------------------------------------------------
def predict_latency(table: LatencyTable, desc: ModelDesc, source: str = "") -> float:
    """Predicted latency (ms) of `desc`: its nodes and other blocks, and one run overhead.

    A node of two edges is priced as one block when the table has it (its sum fused, its layout kept);
    otherwise its edges and its addition are priced apart.

    Raises:
        LutError: the table has no entry for some block, named with its path (after `source`, the desc's file).
    """
    prefix = f"{source}: " if source else ""
    total, covered = table.run_overhead_ms, set()
    for node in node_sites(desc):
        entry = table.entries.get(site_key(node))
        if entry is not None:
            total += entry.latency_ms
            covered.update((node.path, *node.edge_paths))
    for site in op_sites(desc):
        if site.path not in covered:
            where = f"{prefix}{site.path} ({site.op.name} on {list(map(list, site.in_shapes))})"
            total += _lookup(table, site_key(site), where)
    for s in sum_sites(desc):
        if s.path not in covered:
            total += (s.terms - 1) * _lookup(
                table, sum_key(s.shape), f"{prefix}{s.path} (sum of {s.terms} x {list(s.shape)})"
            )
    return total


def _lookup(table: LatencyTable, key: str, where: str) -> float:
    entry = table.entries.get(key)
    if entry is None:
        raise LutError(f"{where}: no entry in the table for {table.space!r}; build a table for this space")
    return entry.latency_ms


# --- files ----------------------------------------------------------------------------------------
def save_table(table: LatencyTable, path: str | os.PathLike) -> None:
    """Write a table as YAML or JSON (by extension), atomically."""
    write_data(table.model_dump(mode="json"), path)


def load_table(path: str | os.PathLike) -> LatencyTable:
    """Read a table written by `save_table` (safe YAML or JSON); a wrong schema version or a malformed entry is a
    LutError naming the file and the key path."""
    data = read_data(path, LutError)
    if not isinstance(data, dict):
        raise LutError(f"{path}: expected a mapping at the top, got {type(data).__name__}")
    if data.get("schema_version", TABLE_SCHEMA_VERSION) != TABLE_SCHEMA_VERSION:
        raise LutError(f"{path}: schema_version {data['schema_version']}, this descgraph reads {TABLE_SCHEMA_VERSION}")
    try:
        return LatencyTable.model_validate(data)
    except ValidationError as e:
        raise LutError(validation_message(e, str(path))) from None
