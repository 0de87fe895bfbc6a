"""The bench command: discrete search strategies compared on a tabular benchmark, in seconds."""

from __future__ import annotations

import argparse
import time
from typing import Any

from descgraph.cli._common import positive_float, positive_int, print_result


def parse_params(items: list[str]) -> dict[str, Any]:
    """`KEY=VALUE` strategy parameters, each value read as YAML (so 20 is an int, 0.1 a float)."""
    from descgraph._files import yaml_safe_load
    from descgraph.errors import ConfError

    params: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise ConfError(f"--param {item!r}: expected KEY=VALUE")
        params[key] = yaml_safe_load(text, f"--param {key}", ConfError)
    return params


def cmd_bench_nb201(args: argparse.Namespace) -> None:
    from descgraph._files import refuse_overwriting_inputs
    from descgraph.nas.discrete.strategy import get_strategy, strategy_params
    from descgraph.nas.discrete.tabular import TabularBenchmark, gap_closed, run_seeds, summarize_runs

    for output in (args.metrics, args.plot):
        refuse_overwriting_inputs(output, args.table, args.latency)
    params = parse_params(args.param or [])
    get_strategy(args.strategy, **params)  # an unknown parameter fails before the tables are read
    start = time.perf_counter()
    bench = TabularBenchmark.load(
        args.table,
        args.search_metric,
        args.report_metric,
        latency=args.latency,
        device=args.device,
        max_latency=args.max_latency,
        arch_column=args.arch_column,
    )
    reference = bench.reference(args.budget)  # a bound nothing meets fails here, before any search
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    runs = run_seeds(bench, args.strategy, seeds, args.budget, params, args.max_proposals, args.metrics)
    result = {
        "strategy": args.strategy,
        "params": {**strategy_params(args.strategy), **params},
        "budget": args.budget,
        "search_metric": args.search_metric,
        "report_metric": args.report_metric,
        **summarize_runs(runs),
    }
    if args.max_latency is not None:
        result["max_latency_ms"] = args.max_latency
    result.update({k: round(v, 4) for k, v in reference.items()})
    gap = gap_closed(result["mean"], reference)
    result["gap_closed"] = None if gap is None else round(gap, 4)
    if args.plot:
        _plot_progress(bench, runs, args)
        result["plot"] = args.plot
    result["wall_s"] = round(time.perf_counter() - start, 2)
    print_result(result, args.json)


def _plot_progress(bench, runs, args: argparse.Namespace) -> None:
    """Each seed's best search metric over its queries, beside random search's exact expectation."""
    from descgraph.viz import plot_best_so_far

    baseline = {"random search (expected)": bench.random_best_so_far(args.budget)}
    curves = {f"{args.strategy} seed {run.seed}": run.results for run in runs}
    plot_best_so_far(curves, args.plot, baseline=baseline, ylabel=f"best {args.search_metric} so far")


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register bench nb201."""
    bench = sub.add_parser("bench", help="benchmark search strategies on a tabular benchmark")
    kinds = bench.add_subparsers(dest="benchmark", required=True)
    p = kinds.add_parser(
        "nb201",
        help="NAS-Bench-201 by table lookup: search a proxy column, report the pick on a final column",
        description="Each seed searches until --budget distinct architectures are queried (a repeated query is "
        "free); its pick, the queried architecture with the best search metric, is reported on the report metric. "
        "Prints the mean and sample std over seeds, `feasible` (the share of picks that meet the latency bound), the "
        "picks' mean `latency_ms`, the mean `queries` and `cost_calls` (latency look-ups: every proposal meets the "
        "bound), and `gap_closed`: (mean - random_expected) / (best_feasible - random_expected), where random_expected "
        "is random search's expected value at this budget and best_feasible the best report value within the bound.",
    )
    p.add_argument("--table", required=True, help="CSV with an arch column and metric columns (accuracy.csv)")
    p.add_argument(
        "--strategy",
        default="rea",
        help="registered search strategy: random, rea, reinforce, ... (default: %(default)s)",
    )
    p.add_argument(
        "--budget",
        type=positive_int,
        default=100,
        help="distinct architectures each search may query (default: %(default)s)",
    )
    p.add_argument(
        "--seeds",
        type=positive_int,
        default=100,
        help="searches, seeded first-seed, first-seed+1, ... (default: %(default)s)",
    )
    p.add_argument("--first-seed", type=int, default=0, help="seed of the first search")
    p.add_argument("--search-metric", default="cifar10_val_12", help="column the search sees (default: %(default)s)")
    p.add_argument(
        "--report-metric", default="cifar10_test_200", help="column the pick is reported on (default: %(default)s)"
    )
    p.add_argument("--arch-column", default="arch", help="column of the NAS-Bench-201 arch strings")
    p.add_argument("--latency", help="CSV with the same arch column and one latency column (ms) per device")
    p.add_argument("--device", help="the latency column to read")
    p.add_argument(
        "--max-latency", type=positive_float, metavar="MS", help="search only architectures at most this slow"
    )
    p.add_argument(
        "-p",
        "--param",
        action="append",
        metavar="KEY=VALUE",
        help="strategy parameter (repeatable): population_size=20",
    )
    p.add_argument(
        "--max-proposals", type=positive_int, help="proposals per search, repeats included (default 10 x budget)"
    )
    p.add_argument("--metrics", metavar="FILE.jsonl", help="write each seed's pick as a JSON line")
    p.add_argument(
        "--plot",
        metavar="FILE.png",
        help="draw each seed's best search metric over its queries beside random search's expectation (.png/.svg/.pdf)",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_bench_nb201)
