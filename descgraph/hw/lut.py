"""Hardware cost lookup tables: the latency of every block a search space can place, measured alone.

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
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from descgraph.desc import ModelDesc, OpDesc
from descgraph.desc.io import parse_desc, read_data, save_desc
from descgraph.errors import LutError
from descgraph.hw.latency import LatencyStats, measure_side_by_side, ort_session, session_runner
from descgraph.hw.sites import node_sites, op_sites, sum_sites

TABLE_SCHEMA_VERSION = 1


class LutEntry(BaseModel):
    """One block: what it is, and its measured latency (ms) with the runs behind it."""

    model_config = ConfigDict(extra="forbid")

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

    model_config = ConfigDict(extra="forbid")

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


# --- measuring blocks ---------------------------------------------------------------------------
class _Add(nn.Module):
    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a + b


class _Empty(nn.Module):
    """Reads every input and returns one element of the first: the runtime's cost with no work."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        picks = [x.flatten(1)[:, :1] for x in xs]
        return sum(picks[1:], picks[0])


def count_module(module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> tuple[int, int]:
    """(multiply-accumulates of one forward of `inputs` at batch 1, weights) of a block."""
    macs = 0

    def hook(m: nn.Module, _inputs: tuple, out: torch.Tensor) -> None:
        nonlocal macs
        if isinstance(m, nn.Conv2d):
            k = m.kernel_size[0] * m.kernel_size[1]
            macs += out[0].numel() * (m.in_channels // m.groups) * k
        elif isinstance(m, nn.Linear):
            macs += m.in_features * m.out_features

    handles = [m.register_forward_hook(hook) for m in module.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    try:
        with torch.no_grad():
            module.eval()(*(x[:1] for x in inputs))
    finally:
        for h in handles:
            h.remove()
    return macs, sum(p.numel() for p in module.parameters())


def _session_of(module: nn.Module, inputs: tuple[torch.Tensor, ...], threads: int):
    from descgraph.export import export_module

    data = export_module(module.eval(), inputs, [f"x{i}" for i in range(len(inputs))], ["y"])
    return ort_session(data, threads)


def _bound(session, inputs: tuple[torch.Tensor, ...]) -> Callable[[], Any]:
    used = {i.name for i in session.get_inputs()}
    return session_runner(session, [x.numpy() for i, x in enumerate(inputs) if f"x{i}" in used])


@dataclass(frozen=True)
class Block:
    """A block to measure: an op on input shapes, or (op None) the addition of two tensors of a shape."""

    kind: str
    op: OpDesc | None
    in_shapes: tuple[tuple[int, ...], ...]

    def key(self) -> str:
        return op_key(self.op, self.in_shapes) if self.op is not None else entry_key("add", "add", {}, self.in_shapes)

    def module(self) -> nn.Module:
        from descgraph import ops

        return ops.create(self.op, affine=True) if self.op is not None else _Add()


def block_runners(
    blocks: list[Block], batch: int = 1, threads: int = 1, prefix: str = ""
) -> tuple[dict[str, Callable[[], Any]], list[tuple[Block, tuple[int, int]]]]:
    """A runner for each block and for an empty graph with its inputs (`<prefix><i>/block`, `.../empty`).

    Returns the runners and, per block, the block with its (MACs, weights).
    """
    gen = torch.Generator().manual_seed(0)
    prepared, runners = [], {}
    for i, block in enumerate(blocks):
        module = block.module().eval()
        inputs = tuple(torch.randn(batch, *s, generator=gen) for s in block.in_shapes)
        runners[f"{prefix}{i}/block"] = _bound(_session_of(module, inputs, threads), inputs)
        runners[f"{prefix}{i}/empty"] = _bound(_session_of(_Empty(), inputs, threads), inputs)
        prepared.append((block, count_module(module, inputs)))
    return runners, prepared


def entries_from(
    prepared: list[tuple[Block, tuple[int, int]]], stats: dict[str, LatencyStats], prefix: str = ""
) -> dict[str, LutEntry]:
    """The entries of blocks prepared by `block_runners`, from the timings of their runners."""
    return {
        block.key(): _entry(block, stats[f"{prefix}{i}/block"], stats[f"{prefix}{i}/empty"], macs, n_params)
        for i, (block, (macs, n_params)) in enumerate(prepared)
    }


def measure_blocks(
    blocks: list[Block], batch: int = 1, threads: int = 1, runs: int = 200, rounds: int = 10, warmup: int = 20
) -> dict[str, LutEntry]:
    """Entries of `blocks`: each block and an empty graph with its inputs, all timed round-robin.

    Every block and every empty graph runs `runs / rounds` times per round, so a slow spell of the
    machine falls on all of them alike instead of on the few measured while it lasted.
    """
    runners, prepared = block_runners(blocks, batch, threads)
    return entries_from(prepared, measure_side_by_side(runners, runs, warmup, rounds, threads))


def entry_block(entry: LutEntry) -> Block:
    """The block an entry was measured on, to time it again."""
    if entry.kind == "add":
        return Block("add", None, tuple(tuple(s) for s in entry.in_shapes))
    children = [OpDesc(name=c["name"], params=c["params"]) for c in entry.children]
    in_len = len(entry.in_shapes) if children else 1
    op = OpDesc(name=entry.op, params=entry.params, in_len=in_len, children=children, children_ins=entry.children_ins)
    return Block(entry.kind, op, tuple(tuple(s) for s in entry.in_shapes))


def _entry(block: Block, timed: LatencyStats, empty: LatencyStats, macs: int, n_params: int) -> LutEntry:
    return LutEntry(
        kind=block.kind,
        op=block.op.name if block.op is not None else "add",
        params=dict(block.op.params) if block.op is not None else {},
        children=[{"name": c.name, "params": dict(c.params)} for c in block.op.children] if block.op else [],
        children_ins=[list(ins) for ins in block.op.children_ins] if block.op else [],
        in_shapes=[list(s) for s in block.in_shapes],
        latency_ms=max(0.0, timed.median_ms - empty.median_ms),
        count=timed.count,
        mean_ms=timed.mean_ms,
        var_ms2=timed.std_ms**2,
        median_ms=timed.median_ms,
        overhead_ms=empty.median_ms,
        macs=macs,
        params_count=n_params,
    )


def measure_run_overhead(input_shape: list[int], batch: int, threads: int, runs: int = 400) -> float:
    """Median cost of one run of an empty graph reading a network's input: paid once per network."""
    inputs = (torch.zeros(batch, *input_shape),)
    empty = {"empty": _bound(_session_of(_Empty(), inputs, threads), inputs)}
    return measure_side_by_side(empty, runs, warmup=20, rounds=1, threads=threads)["empty"].median_ms


# --- predicting -----------------------------------------------------------------------------------
def predict_latency(table: LatencyTable, desc: ModelDesc) -> float:
    """Predicted latency (ms) of `desc`: its nodes and other blocks, and one run overhead.

    A node of two edges is priced as one block when the table has it (its sum fused, its layout kept);
    otherwise its edges and its addition are priced apart.

    Raises:
        LutError: the table has no entry for some block, named with its path.
    """
    total, covered = table.run_overhead_ms, set()
    for node in node_sites(desc):
        entry = table.entries.get(site_key(node))
        if entry is not None:
            total += entry.latency_ms
            covered.update((node.path, *node.edge_paths))
    for site in op_sites(desc):
        if site.path not in covered:
            where = f"{site.path} ({site.op.name} on {list(map(list, site.in_shapes))})"
            total += _lookup(table, site_key(site), where)
    for s in sum_sites(desc):
        if s.path not in covered:
            total += (s.terms - 1) * _lookup(table, sum_key(s.shape), f"{s.path} (sum of {s.terms} x {list(s.shape)})")
    return total


def _lookup(table: LatencyTable, key: str, where: str) -> float:
    entry = table.entries.get(key)
    if entry is None:
        raise LutError(f"{where}: no entry in the table for {table.space!r}; build a table for this space")
    return entry.latency_ms


# --- files ----------------------------------------------------------------------------------------
def save_table(table: LatencyTable, path: str | os.PathLike) -> None:
    """Write a table as YAML or JSON (by extension), atomically."""
    save_desc(table, path)


def load_table(path: str | os.PathLike) -> LatencyTable:
    """Read a table written by `save_table` (safe YAML or JSON); a wrong schema version is a LutError."""
    data = read_data(path)
    if isinstance(data, dict) and data.get("schema_version", TABLE_SCHEMA_VERSION) != TABLE_SCHEMA_VERSION:
        raise LutError(f"{path}: schema_version {data['schema_version']}, this descgraph reads {TABLE_SCHEMA_VERSION}")
    return parse_desc(data, LatencyTable, source=str(path))
