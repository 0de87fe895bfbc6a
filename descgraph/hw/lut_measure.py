"""Timing the blocks of a lookup table: each block exported alone and run with onnxruntime, round-robin,
beside an empty graph with the same inputs (the difference is the block's own work)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from descgraph import ops
from descgraph.hw.latency import LatencyStats, measure_side_by_side, ort_session, session_runner
from descgraph.hw.lut import Block, LutEntry
from descgraph.nn.profile import count_macs


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
    return count_macs(module, inputs=inputs), sum(p.numel() for p in module.parameters())


def _session_of(module: nn.Module, inputs: tuple[torch.Tensor, ...], threads: int):
    from descgraph.export import export_module

    data = export_module(module.eval(), inputs, [f"x{i}" for i in range(len(inputs))], ["y"])
    return ort_session(data, threads)


def _bound(session, inputs: tuple[torch.Tensor, ...]) -> Callable[[], Any]:
    used = {i.name for i in session.get_inputs()}
    return session_runner(session, [x.numpy() for i, x in enumerate(inputs) if f"x{i}" in used])


def block_module(block: Block) -> nn.Module:
    """The module a block times: its op (with affine BN), or the addition of two tensors."""
    return ops.create(block.op, affine=True) if block.op is not None else _Add()


def block_runners(
    blocks: list[Block], batch: int = 1, threads: int = 1, prefix: str = ""
) -> tuple[dict[str, Callable[[], Any]], list[tuple[Block, tuple[int, int]]]]:
    """A runner for each block and for an empty graph with its inputs (`<prefix><i>/block`, `.../empty`).

    Returns the runners and, per block, the block with its (MACs, weights).
    """
    gen = torch.Generator().manual_seed(0)
    prepared, runners = [], {}
    for i, block in enumerate(blocks):
        module = block_module(block).eval()
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
