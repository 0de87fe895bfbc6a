"""The bench command: discrete search strategies compared on a tabular benchmark, in seconds."""

from __future__ import annotations

import argparse
import time
from typing import Any

from descgraph.cli._common import positive_float, positive_int, print_result, registered_names


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


def strategy_names(text: str) -> list[str]:
    """The registered strategies of a comma-separated `--strategy` (each once, in order given)."""
    from descgraph.nas.discrete.strategy import STRATEGIES

    return registered_names(text, STRATEGIES, "--strategy")


def cmd_bench_nb201(args: argparse.Namespace) -> None:
    from descgraph._files import refuse_overwriting_inputs
    from descgraph.errors import ConfError
    from descgraph.nas.discrete.strategy import get_strategy, strategy_params
    from descgraph.nas.discrete.tabular import (
        TabularBenchmark,
        check_whole_space,
        gap_closed,
        load_nb201_table,
        run_seeds,
        summarize_runs,
    )

    for output in (args.metrics, args.plot):
        refuse_overwriting_inputs(output, args.table, args.latency, args.proxy_values)
    names = strategy_names(args.strategy)
    params = parse_params(args.param or [])
    for name in names:  # an unknown parameter fails before the tables are read
        get_strategy(name, **_taken(name, params, len(names) > 1))
    warm = any(_taken(name, params, len(names) > 1).get("warm_start") for name in names)
    if warm and args.proxy_values is None:
        raise ConfError(
            "warm_start: the table benchmark reads proxy values from --proxy-values FILE.csv "
            "(written by `descgraph bench nb201-proxies --values`)"
        )
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
    check_whole_space(bench.accuracy)  # every strategy may query any architecture
    proxy = None
    if args.proxy_values is not None:
        proxy = _proxy_table(args.proxy_values, args.arch_column, load_nb201_table)
    reference = bench.reference(args.budget)  # a bound nothing meets fails here, before any search
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    results, all_runs = {}, {}
    for i, name in enumerate(names):
        kwargs = _taken(name, params, len(names) > 1)
        runs = run_seeds(
            bench, name, seeds, args.budget, kwargs, args.max_proposals, args.metrics, proxy=proxy, append=i > 0
        )
        all_runs[name] = runs
        result = {"strategy": name, "params": {**strategy_params(name), **kwargs}, **summarize_runs(runs)}
        gap = gap_closed(result["mean"], reference)
        result["gap_closed"] = None if gap is None else round(gap, 4)
        results[name] = result
    common = {"budget": args.budget, "search_metric": args.search_metric, "report_metric": args.report_metric}
    if args.max_latency is not None:
        common["max_latency_ms"] = args.max_latency
    common.update({k: round(v, 4) for k, v in reference.items()})
    if len(names) == 1:
        out = {**results[names[0]], **common}
        out = {k: out[k] for k in ("strategy", "params", *common, *results[names[0]]) if k in out}
    else:
        out = {**common, "strategies": results}
    if args.plot:
        _plot_progress(bench, all_runs, args)
        out["plot"] = args.plot
    out["wall_s"] = round(time.perf_counter() - start, 2)
    print_result(out, args.json)


def _taken(name: str, params: dict[str, Any], several: bool) -> dict[str, Any]:
    """The `-p` parameters of strategy `name`: `NAME.KEY=VALUE` is one strategy's; a plain `KEY=VALUE` is the
    strategy's alone, or with several strategies every strategy's that takes it."""
    from descgraph.nas.discrete.strategy import strategy_params

    if not several:  # NAME.KEY of the one strategy is its KEY; anything else goes on to be checked
        return {key.removeprefix(f"{name}."): value for key, value in params.items()}
    known, out = strategy_params(name), {}
    for key, value in params.items():
        owner, dot, rest = key.partition(".")
        if dot and owner == name:
            out[rest] = value
        elif not dot and key in known:
            out[key] = value
    return out


def _proxy_table(path: str, arch_column: str, load):
    """The proxy-values CSV with every proxy column it has (the columns after the arch column)."""
    import csv

    from descgraph.errors import DataError

    try:
        with open(path, newline="") as f:
            header = next(csv.reader(f), None) or []
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise DataError(f"{path}: cannot read: {e}") from None
    columns = [c for c in header if c != arch_column]
    if not columns:
        raise DataError(f"{path}:1: no proxy column beside {arch_column!r}")
    return load(path, columns, arch_column)


def _plot_progress(bench, all_runs: dict[str, list], args: argparse.Namespace) -> None:
    """Each seed's best search metric over its queries beside random search's exact expectation; with several
    strategies, each strategy's mean over the seeds (and its interquartile band) on one figure."""
    from descgraph.viz import plot_best_so_far, plot_strategies

    baseline = {"random search (expected)": bench.random_best_so_far(args.budget)}
    ylabel = f"best {args.search_metric} so far"
    if len(all_runs) == 1:
        (name, runs), *_ = all_runs.items()
        curves = {f"{name} seed {run.seed}": run.results for run in runs}
        plot_best_so_far(curves, args.plot, baseline=baseline, ylabel=ylabel)
        return
    runs = {name: [run.results for run in runs] for name, runs in all_runs.items()}
    plot_strategies(runs, args.plot, baseline=baseline, ylabel=ylabel)


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register bench nb201 and bench nb201-proxies."""
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
    p.add_argument(
        "--table",
        required=True,
        help="CSV with an arch column and accuracy columns in percent, a row per architecture of the space "
        "(accuracy.csv)",
    )
    p.add_argument(
        "--strategy",
        default="rea",
        help="registered search strategy, or several comma-separated (each run on the same seeds): random, rea, "
        "reinforce, local, bananas, tpe (default: %(default)s)",
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
        help="strategy parameter (repeatable): population_size=20; with several strategies, a plain KEY is every "
        "strategy's that takes it, NAME.KEY one strategy's (rea.population_size=10); a warm start: "
        "'warm_start={proxy: synflow, pool: 1000}' with --proxy-values",
    )
    p.add_argument(
        "--proxy-values",
        metavar="FILE.csv",
        help="zero-cost proxy values by architecture, one column per proxy (`bench nb201-proxies --values`), "
        "which a warm start ranks its pool by",
    )
    p.add_argument(
        "--max-proposals", type=positive_int, help="proposals per search, repeats included (default 10 x budget)"
    )
    p.add_argument("--metrics", metavar="FILE.jsonl", help="write each seed's pick as a JSON line")
    p.add_argument(
        "--plot",
        metavar="FILE.png",
        help="draw each seed's best search metric over its queries beside random search's expectation; with several "
        "strategies each one's mean over the seeds (.png/.svg/.pdf)",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_bench_nb201)

    from descgraph.cli.bench_proxies import add_command as add_proxies_command

    add_proxies_command(kinds)
