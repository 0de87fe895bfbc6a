"""Benchmark: what parallel workers buy, side by side in one run.

- trials: the same N candidates of a discrete search (trained and scored as `descgraph run rea_toy`
  trains them) evaluated by 2 Ray workers at 1 torch thread each against 1 worker (this process) at 1 thread;
  `trial_time_ratio` is the 2-worker wall time over the 1-worker one (goal: at most 0.6). The workers
  are started, and their loaders built, before the clock starts; `ray_start_s` is what that took.
  Both sides must give the same results (`same_results`).
- ddp: `ddp_throughput_ratio` from `measure_ddp()` of tools/bench_ddp.py (a DARTS search epoch on 2 torchrun
  ranks at 1 thread each against 1 process at 2 threads; `--no-ddp` leaves it out).

The last line printed is one JSON object.

    python tools/bench_parallel.py --json [--conf rea_toy] [--candidates 8] [--epochs 2] [--workers 2] [-p KEY=VALUE]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import time
from pathlib import Path

import torch


def measure_trials(
    conf_name: str = "rea_toy",
    candidates: int = 8,
    epochs: int = 2,
    workers: int = 2,
    overrides: list[str] | None = None,
) -> dict:
    """Wall time of evaluating the same `candidates` codes on `workers` Ray workers (1 thread each) and in this
    process (1 thread); returns the times, their ratio (`trial_time_ratio`) and whether the results agree."""
    from algos.discrete.searcher import CandidateTrainer, DiscreteSearcher
    from descgraph.conf import load_conf
    from descgraph.nas.discrete import get_space
    from descgraph.nas.executor import RayExecutor, make_executor
    from descgraph.train import Trainer

    conf = load_conf(conf_name, [f"nas.search.trainer.epochs={epochs}", "common.threads=1", *(overrides or [])])
    space, rng = get_space(conf.nas.search.discrete.space), random.Random(conf.common.seed)
    codes = [space.sample(rng) for _ in range(candidates)]
    factory = CandidateTrainer(DiscreteSearcher(conf, Path("unused")), Trainer)  # it writes nothing
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with make_executor(conf.nas.search, factory) as one:
            one_s, one_results = _timed(one.map, codes)
        start = time.perf_counter()
        many = RayExecutor(factory, workers, threads=1)
        try:
            many.pids()  # the actors are up, their loaders built
            ray_start_s = time.perf_counter() - start
            many_s, many_results = _timed(many.map, codes)
        finally:
            many.close()
    finally:
        torch.set_num_threads(threads)
    return {
        "candidates": candidates,
        "workers": workers,
        "one_worker_s": round(one_s, 3),
        "workers_s": round(many_s, 3),
        "trial_time_ratio": round(many_s / one_s, 4),
        "ray_start_s": round(ray_start_s, 2),
        "same_results": [r for r, _ in one_results] == [r for r, _ in many_results],
    }


def _timed(run, codes) -> tuple[float, list]:
    start = time.perf_counter()
    results = run(codes)
    return time.perf_counter() - start, results


def measure_ddp(max_batches: int) -> dict:
    """tools/bench_ddp.py's `measure_ddp()` (the two benchmarks sit side by side in tools/)."""
    path = Path(__file__).with_name("bench_ddp.py")
    spec = importlib.util.spec_from_file_location("bench_ddp", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.measure_ddp(max_batches=max_batches)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conf", default="rea_toy", help="a conf of a discrete search with trained candidates")
    parser.add_argument("--candidates", type=int, default=8, help="candidates evaluated by both sides")
    parser.add_argument("--epochs", type=int, default=2, help="training epochs of each candidate")
    parser.add_argument("--workers", type=int, default=2, help="Ray workers of the parallel side")
    parser.add_argument("--ddp-max-batches", type=int, default=6, help="batches of the timed DARTS search epoch")
    parser.add_argument("--no-ddp", action="store_true", help="measure the trials only")
    parser.add_argument("-p", "--override", action="append", default=[], help="KEY=VALUE conf override")
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    args = parser.parse_args()
    result = {"trials": measure_trials(args.conf, args.candidates, args.epochs, args.workers, args.override)}
    result["trial_time_ratio"] = result["trials"]["trial_time_ratio"]
    if not args.no_ddp:
        result["ddp"] = ddp = measure_ddp(args.ddp_max_batches)
        result["ddp_throughput_ratio"] = ddp["ddp_throughput_ratio"]
    if not args.json:
        print(f"trials: {args.workers} Ray workers / 1 worker wall time = {result['trial_time_ratio']}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
