"""Benchmark: a DARTS search epoch on 2 torchrun ranks at 1 thread each against 1 process at 2 threads.

Runs `descgraph run darts_digits --no-eval` for one search epoch (nas.search.trainer.epochs=1) both ways,
one after the other in this one run, each in fresh processes and a fresh experiment folder, and reads
the epoch's record from search/metrics.jsonl: training samples per second (`train_n / time_s`, the
epoch's architecture and weight steps and its validation). Prints both and `ddp_throughput_ratio`
(2 ranks over 1 process); the last line is JSON with --json.

    python tools/bench_ddp.py --json [--max-batches 6] [--rounds 1] [key=value ...]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _epoch(argv: list[str], expdir: Path, env: dict[str, str]) -> dict:
    """Run one search epoch; its metrics record."""
    subprocess.run([*argv, "--expdir", str(expdir)], check=True, cwd=REPO, env=env, capture_output=True, text=True)
    return json.loads((expdir / "search" / "metrics.jsonl").read_text().splitlines()[-1])


def measure_ddp(max_batches: int = 6, rounds: int = 1, overrides: tuple[str, ...] = ()) -> dict:
    """Samples per second of one DARTS digits search epoch: 1 process at 2 threads, then 2 ranks at 1 thread.

    Returns:
        `one_process` and `two_ranks` (samples_per_s, train_n, time_s per round, the best round kept),
        and `ddp_throughput_ratio`, two ranks' samples per second over one process's.
    """
    run = ["run", "darts_digits", "--no-eval", "nas.search.trainer.epochs=1", f"dataset.max_batches={max_batches}"]
    run += ["common.resume=false", *overrides]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    ways = {
        "one_process": [sys.executable, "-m", "descgraph", *run, "common.threads=2"],
        "two_ranks": [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2"]
        + ["-m", "descgraph", *run],  # each rank takes 1 of the 2 CPUs (descgraph.train.distributed.set_rank_threads)
    }
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(rounds):
            for name, argv in ways.items():
                record = _epoch(argv, Path(tmp) / f"{name}{r}", env)
                speed = record["train_n"] / record["time_s"]
                if speed > results.get(name, {}).get("samples_per_s", 0):
                    results[name] = {
                        "samples_per_s": round(speed, 2),
                        "train_n": record["train_n"],
                        "time_s": record["time_s"],
                    }
    ratio = results["two_ranks"]["samples_per_s"] / results["one_process"]["samples_per_s"]
    return {**results, "max_batches": max_batches, "rounds": rounds, "ddp_throughput_ratio": round(ratio, 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--max-batches", type=int, default=6, help="global batches of 64 in the epoch (dataset.max_batches)"
    )
    ap.add_argument(
        "--rounds", type=int, default=1, help="alternate the two ways this many times; keep each one's best"
    )
    ap.add_argument("--json", action="store_true", help="print the result as one JSON line")
    ap.add_argument("overrides", nargs="*", metavar="key=value", help="conf overrides for both runs")
    args = ap.parse_args()
    result = measure_ddp(args.max_batches, args.rounds, tuple(args.overrides))
    if not args.json:
        for name in ("one_process", "two_ranks"):
            print(f"{name:12s} {result[name]['samples_per_s']:8.2f} samples/s")
    print(json.dumps(result) if args.json else f"ddp_throughput_ratio {result['ddp_throughput_ratio']}")


if __name__ == "__main__":
    main()
