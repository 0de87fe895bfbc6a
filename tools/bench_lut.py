"""Benchmark: how well a hardware cost lookup table predicts whole networks, beside how well a second
measurement of the same networks predicts the first (the machine's own noise floor).

Builds (or reads) the table of a conf's search space at its eval macro, draws N random networks of the
space, and measures every network twice, each pass round-robin over all of them. Prints JSON: Kendall's
tau, the share of predictions within +-10 % and the mean absolute % error of the table against the first
pass, and the same figures of the second pass against the first.

    python tools/bench_lut.py --json [--lut lut.yaml] [--samples 50] [--runs 200] [CONF key=value ...]
    (default conf: darts nas.eval.model_desc.n_cells=8, the DARTS space at 8 cells and 36 channels)
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np


def table_arguments(doc: str) -> argparse.ArgumentParser:
    """The arguments the table benchmarks share: conf and overrides, --lut, --runs, --json."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("items", nargs="*", default=["darts", "nas.eval.model_desc.n_cells=8"], help="conf and overrides")
    ap.add_argument("--lut", help="an existing table (default: build one for the conf)")
    ap.add_argument("--runs", type=int, default=200, help="timed runs per network and pass (default 200)")
    ap.add_argument("--json", action="store_true", help="print JSON on one line")
    return ap


def table_of(args: argparse.Namespace, what: str):
    """The table given with --lut, else one built (in a temporary folder) for the conf."""
    from descgraph.cli._common import load_confs
    from descgraph.hw.lut import load_table
    from descgraph.hw.lut_build import build_table

    if args.lut:
        return load_table(args.lut)
    return build_table(load_confs(args.items, what), Path(tempfile.mkdtemp()) / "lut.yaml")


def main() -> None:
    from descgraph.hw.latency import environment, measure_side_by_side
    from descgraph.hw.lut import predict_latency
    from descgraph.hw.lut_build import agreement, network_runner, table_conf
    from descgraph.hw.lut_space import get_lut_space

    ap = table_arguments(__doc__)
    ap.add_argument("--samples", type=int, default=50, help="random networks (default 50)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the first network")
    args = ap.parse_args()
    start = time.perf_counter()
    table = table_of(args, "bench_lut")
    built_s = time.perf_counter() - start
    space = get_lut_space(table_conf(table))
    descs = [space.sample(args.seed + i) for i in range(args.samples)]
    runners = {str(i): network_runner(d, table.batch, table.threads) for i, d in enumerate(descs)}
    passes = [measure_side_by_side(runners, args.runs, warmup=20, rounds=10, threads=table.threads) for _ in range(2)]
    first, second = (np.array([p[str(i)].median_ms for i in range(args.samples)]) for p in passes)
    predicted = np.array([predict_latency(table, d) for d in descs])
    result = {
        "space": table.space,
        "samples": args.samples,
        "entries": len(table.entries),
        "table_vs_measured": agreement(predicted, first),
        "remeasured_vs_measured": agreement(second, first),
        "measured_ms_range": [round(float(first.min()), 4), round(float(first.max()), 4)],
        "spread_pct": round(float(first.std() / first.mean() * 100), 2),
        "build_s": round(built_s, 1),
        "wall_s": round(time.perf_counter() - start, 1),
        "env": environment(table.threads),
    }
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
