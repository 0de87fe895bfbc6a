"""Benchmark: what parallel workers buy, side by side in one run.

- trials: the same N candidates of a discrete search (trained and scored as `descgraph run rea_toy`
  trains them) evaluated by 2 Ray workers at 1 torch thread each against 1 worker (this process) at 1 thread;
  `trial_time_ratio` is the 2-worker wall time over the 1-worker one (goal: at most 0.6), the median over
  `--rounds` rounds in which the two sides take turns to go first. Both sides are made ready before the clock
  starts: the actors started, each process's loaders built and torch's lazy imports paid
  (`preload_optimizers`); `one_start_s` and `ray_start_s` are what that took. Every round of both sides must
  give the same results (`same_results`).
- machine: `machine_ratio`, what the machine itself gives two processes (two copies of a fixed convolution loop
  at 1 thread against one: 0.5 when its cores work fully in parallel), the floor under `trial_time_ratio`.
- ddp: `ddp_throughput_ratio` from `measure_ddp()` of tools/bench_ddp.py (a DARTS search epoch on 2 torchrun
  ranks at 1 thread each against 1 process at 2 threads; `--no-ddp` leaves it out).

The last line printed is one JSON object.

    python tools/bench_parallel.py --json [--conf rea_toy] [--candidates 8] [--epochs 2] [--workers 2] [--rounds 3]
        [-p KEY=VALUE]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import multiprocessing
import random
import statistics
import time
from pathlib import Path

import torch


def measure_trials(
    conf_name: str = "rea_toy",
    candidates: int = 8,
    epochs: int = 2,
    workers: int = 2,
    overrides: list[str] | None = None,
    rounds: int = 3,
) -> dict:
    """Wall time of evaluating the same `candidates` codes on `workers` Ray workers (1 thread each) and in this
    process (1 thread), `rounds` times, the two sides taking turns to go first; `trial_time_ratio` is the median
    of the rounds' ratios, and `same_results` whether every round of both sides gave the first one's results."""
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
    one_s, many_s, results = [], [], []
    try:
        start = time.perf_counter()
        one = make_executor(conf.nas.search, factory)  # this process's loaders, ready to train
        one_start_s = time.perf_counter() - start
        start = time.perf_counter()
        many = RayExecutor(factory, workers, threads=1)
        try:
            many.pids()  # the actors are up, their loaders built, ready to train
            ray_start_s = time.perf_counter() - start
            for r in range(rounds):
                sides = [(one, one_s), (many, many_s)]
                for executor, times in sides if r % 2 == 0 else sides[::-1]:
                    seconds, got = _timed(executor.map, codes)
                    times.append(seconds)
                    results.append([result for result, _ in got])
        finally:
            many.close()
            one.close()
    finally:
        torch.set_num_threads(threads)
    ratios = [m / o for m, o in zip(many_s, one_s, strict=True)]
    return {
        "candidates": candidates,
        "workers": workers,
        "rounds": rounds,
        "one_worker_s": [round(t, 3) for t in one_s],
        "workers_s": [round(t, 3) for t in many_s],
        "ratios": [round(x, 4) for x in ratios],
        "trial_time_ratio": round(statistics.median(ratios), 4),
        "one_start_s": round(one_start_s, 2),
        "ray_start_s": round(ray_start_s, 2),
        "same_results": all(got == results[0] for got in results),
    }


def measure_machine(steps: int = 300, rounds: int = 3) -> dict:
    """What the machine itself gives 2 processes: a fixed convolution training loop at 1 torch thread, run in 2
    processes at once against one process, `rounds` times; `machine_ratio` is the median of the rounds' wall
    time of the two copies over twice one copy's (0.5: the two cores work fully in parallel)."""
    context = multiprocessing.get_context("spawn")
    ratios = []
    with context.Pool(2) as pool:
        pool.map(_conv_loop, [2, 2], chunksize=1)  # both processes up, torch imported
        for _ in range(rounds):
            one_s, _ = _timed(lambda n: pool.apply(_conv_loop, (n,)), steps)
            two_s, _ = _timed(lambda n: pool.map(_conv_loop, [n, n], chunksize=1), steps)
            ratios.append(two_s / (2 * one_s))
    return {
        "steps": steps,
        "ratios": [round(x, 4) for x in ratios],
        "machine_ratio": round(statistics.median(ratios), 4),
    }


def _conv_loop(steps: int) -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(16, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(16, 16, 3, padding=1)
    )
    x = torch.randn(64, 16, 16, 16)
    for _ in range(steps):
        net.zero_grad()
        net(x).sum().backward()


def _timed(run, arg) -> tuple[float, object]:
    start = time.perf_counter()
    results = run(arg)
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
    parser.add_argument("--rounds", type=int, default=3, help="times each side evaluates the candidates")
    parser.add_argument("--ddp-max-batches", type=int, default=6, help="batches of the timed DARTS search epoch")
    parser.add_argument("--no-ddp", action="store_true", help="measure the trials only")
    parser.add_argument("-p", "--override", action="append", default=[], help="KEY=VALUE conf override")
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    args = parser.parse_args()
    result = {
        "trials": measure_trials(args.conf, args.candidates, args.epochs, args.workers, args.override, args.rounds)
    }
    result["trial_time_ratio"] = result["trials"]["trial_time_ratio"]
    result["machine"] = measure_machine(rounds=args.rounds)
    if not args.no_ddp:
        result["ddp"] = ddp = measure_ddp(args.ddp_max_batches)
        result["ddp_throughput_ratio"] = ddp["ddp_throughput_ratio"]
    if not args.json:
        print(f"trials: {args.workers} Ray workers / 1 worker wall time = {result['trial_time_ratio']}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
