"""A tabular benchmark backend: NAS-Bench-201 architectures evaluated by table lookup instead of training.

The protocol of NAS-Bench-201 (Dong and Yang, 2020, sec. 5): the search sees a proxy column (the
12-epoch validation accuracy, `cifar10_val_12`); its pick, the queried architecture with the best
proxy value, is reported on a final column (`cifar10_test_200`). A search may query `budget`
distinct architectures; a repeated query returns the known value and costs nothing. A latency bound
on a device column of a second table is part of the space (its cost model is the table), so every
proposal, and every pick, meets it; a pick is judged against random search and the best feasible
architecture, both computed from the tables.
"""

from __future__ import annotations

import csv
import dataclasses
import itertools
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from descgraph._registry import close_matches
from descgraph.desc.nb201 import NB201Arch, format_nb201, parse_nb201
from descgraph.errors import ConfError, DataError, DescError
from descgraph.nas.discrete.loop import search_loop
from descgraph.nas.discrete.space import Code, SearchSpace
from descgraph.nas.discrete.spaces import ConstrainedSpace, NB201Space
from descgraph.nas.discrete.strategy import ProxyScorer, SearchStrategy, get_strategy
from descgraph.train.metrics import MetricsLog


@dataclass
class NB201Table:
    """Numeric columns of a CSV keyed by NAS-Bench-201 architecture.

    Attributes:
        path: the file, for messages.
        columns: column name -> one value per row.
        rows: architecture -> its row (0-based, in file order).
        lines: the file line of each row.
    """

    path: Path
    columns: dict[str, list[float]]
    rows: dict[NB201Arch, int]
    lines: list[int]

    def value(self, arch: NB201Arch, column: str) -> float:
        """The value of `column` for `arch`.

        Raises:
            DataError: the table has no row of `arch` (one line naming the file and the architecture).
        """
        row = self.rows.get(arch)
        if row is None:
            raise DataError(f"{self.path}: no row of {format_nb201(arch)} ({len(self.rows):,} rows)")
        return self.columns[column][row]

    def archs(self) -> list[NB201Arch]:
        """Every architecture, in file order."""
        return list(self.rows)


def load_nb201_table(path: str | Path, columns: Sequence[str], arch_column: str = "arch") -> NB201Table:
    """Read the architecture column and the numeric `columns` of a CSV with a header row.

    Raises:
        DataError: one line naming the file, the line and the column: a missing file or column, a row
            with too few fields, an arch string that does not parse, a repeated arch, a value that is not a number.
    """
    path = Path(path)
    try:
        with path.open(newline="") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header is None:
                raise DataError(f"{path}:1: empty file; expected a header row naming column {arch_column!r}")
            where = {name: _column_index(header, name, path) for name in [arch_column, *columns]}
            table = NB201Table(path, {name: [] for name in columns}, {}, [])
            for record in reader:
                _read_row(table, record, reader.line_num, where, arch_column)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise DataError(f"{path}: cannot read: {e}") from None
    return table


def _column_index(header: list[str], name: str, path: Path) -> int:
    if name not in header:
        hint = close_matches(name, header) or f" (columns: {', '.join(header)})"
        raise DataError(f"{path}:1: no column {name!r}{hint}")
    return header.index(name)


def _read_row(table: NB201Table, record: list[str], line: int, where: dict[str, int], arch_column: str) -> None:
    if not record:
        return  # a blank line
    for name, i in sorted(where.items(), key=lambda item: item[1]):  # the leftmost missing column
        if i >= len(record):
            raise DataError(f"{table.path}:{line}: column {name!r}: missing (the row has {len(record)} fields)")
    try:
        arch = parse_nb201(record[where[arch_column]], source=f"{table.path}:{line}: column {arch_column!r}")
    except DescError as e:
        raise DataError(str(e)) from None
    if arch in table.rows:
        first = table.lines[table.rows[arch]]
        raise DataError(f"{table.path}:{line}: column {arch_column!r}: the architecture of line {first} again")
    for name in table.columns:
        table.columns[name].append(_number(record[where[name]], f"{table.path}:{line}: column {name!r}"))
    table.rows[arch] = len(table.lines)
    table.lines.append(line)


def _number(text: str, source: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise DataError(f"{source}: {text!r} is not a finite number")
    return value


def check_whole_space(table: NB201Table) -> None:
    """Raise DataError when the table lacks an architecture of NAS-Bench-201: every strategy may query any of
    the 15,625, and random search's expectation is over all of them."""
    space = NB201Space()
    if len(table.rows) == space.size():
        return  # the rows are distinct architectures of the space (parsed and checked on reading)
    missing = next(
        space.decode(code)
        for code in itertools.product(*(range(len(d.choices)) for d in space.decisions()))
        if space.decode(code) not in table.rows
    )
    raise DataError(
        f"{table.path}: {len(table.rows):,} of the {space.size():,} NAS-Bench-201 architectures; the benchmark "
        f"needs every one (the first missing: {format_nb201(missing)})"
    )


def check_column(table: NB201Table, column: str, meets: Callable[[float], bool], what: str) -> None:
    """Raise DataError naming the first row (file, line, column) whose value fails `meets`, as `VALUE what`:
    an accuracy outside 0-100, or a latency of 0 or less (a pick "within the bound" at a negative latency is a
    wrong answer), is a broken table, not a result."""
    for value, line in zip(table.columns[column], table.lines):
        if not meets(value):
            raise DataError(f"{table.path}:{line}: column {column!r}: {value!r} {what}")


def check_same_archs(table: NB201Table, other: NB201Table, arch_column: str = "arch") -> None:
    """Raise DataError naming the first architecture (file, line, column) that only one of the tables has."""
    for a, b in ((table, other), (other, table)):
        missing = next((arch for arch in a.rows if arch not in b.rows), None)
        if missing is not None:
            line = a.lines[a.rows[missing]]
            raise DataError(
                f"{a.path}:{line}: column {arch_column!r}: {format_nb201(missing)} has no row in {b.path} "
                f"({len(a.rows)} rows here, {len(b.rows)} there)"
            )


@dataclass(frozen=True)
class LatencyBound:
    """A latency constraint: `device` column of a latency table, at most `max_ms`."""

    device: str
    max_ms: float


class TabularBenchmark:
    """NAS-Bench-201 by table lookup: a search metric, a report metric and, optionally, device latency.

    Args:
        accuracy: the table holding `search_metric` and `report_metric`.
        search_metric: the column the search sees.
        report_metric: the column the pick is reported on.
        latency: the table holding a device's latency (same architectures as `accuracy`), if any.
        device: the latency column.
        bound: a latency constraint every proposal must meet.
    """

    def __init__(
        self,
        accuracy: NB201Table,
        search_metric: str,
        report_metric: str,
        latency: NB201Table | None = None,
        device: str | None = None,
        bound: float | None = None,
    ) -> None:
        self.accuracy, self.search_metric, self.report_metric = accuracy, search_metric, report_metric
        self.latency, self.device, self.bound = latency, device, bound
        self._feasible: list[int] | None = None
        if latency is not None:
            check_same_archs(accuracy, latency)

    @classmethod
    def load(
        cls,
        table: str | Path,
        search_metric: str,
        report_metric: str,
        latency: str | Path | None = None,
        device: str | None = None,
        max_latency: float | None = None,
        arch_column: str = "arch",
    ) -> TabularBenchmark:
        """Read the tables; a device needs a latency table and a bound needs a device."""
        if (latency is None) != (device is None) or (max_latency is not None and device is None):
            raise ConfError("latency: a device needs a latency table, a latency bound a device (--latency, --device)")
        metrics = list(dict.fromkeys([search_metric, report_metric]))
        accuracy = load_nb201_table(table, metrics, arch_column)
        for metric in metrics:
            check_column(accuracy, metric, lambda v: 0 <= v <= 100, "is not an accuracy in percent (0-100)")
        lat = load_nb201_table(latency, [device], arch_column) if latency is not None else None
        if lat is not None:
            check_column(lat, device, lambda v: v > 0, "ms is not a latency (it must be > 0)")
        return cls(accuracy, search_metric, report_metric, lat, device, max_latency)

    def latency_of(self, arch: NB201Arch) -> float | None:
        """The latency (ms) of `arch` on the device, or None without a latency table."""
        return self.latency.value(arch, self.device) if self.latency is not None else None

    def meets_bound(self, arch: NB201Arch) -> bool:
        """Whether `arch` meets the latency bound (always, without one)."""
        return self.bound is None or self.latency_of(arch) <= self.bound

    def space(self) -> SearchSpace:
        """A new NAS-Bench-201 space for one search, narrowed to the architectures that meet the bound
        (the device column is its cost model; the space counts that search's cost-model calls)."""
        if self.bound is None:
            return NB201Space()
        # rejection sampling needs about len/n_ok draws per architecture; allow many times that
        tries = max(1000, 50 * math.ceil(len(self.accuracy.rows) / len(self.feasible_rows())))
        return ConstrainedSpace(NB201Space(), {self.device: self.latency_of}, {self.device: self.bound}, tries)

    def feasible_rows(self) -> list[int]:
        """The rows of the architectures that meet the bound (every row, without one).

        Raises:
            DataError: no architecture meets the bound; names the fastest latency of the table.
        """
        if self._feasible is None:
            self._feasible = [row for arch, row in self.accuracy.rows.items() if self.meets_bound(arch)]
        if not self._feasible:
            fastest = min(self.latency.columns[self.device])
            raise DataError(
                f"{self.latency.path}: column {self.device!r}: no architecture meets {self.bound} ms "
                f"(the fastest takes {fastest} ms)"
            )
        return self._feasible

    def random_best_so_far(self, budget: int) -> list[float]:
        """Random search's expected best search metric after 1, 2, ... `budget` distinct feasible queries."""
        search = [self.accuracy.columns[self.search_metric][r] for r in self.feasible_rows()]
        return [expected_random_pick(search, search, n)[0] for n in range(1, budget + 1)]

    def reference(self, budget: int) -> dict[str, float]:
        """What a pick's report value is judged against, among the feasible architectures:
        `random_expected`, the expected value of random search with `budget` queries, and `best_feasible`."""
        rows = self.feasible_rows()
        search = [self.accuracy.columns[self.search_metric][r] for r in rows]
        report = [self.accuracy.columns[self.report_metric][r] for r in rows]
        return {"random_expected": expected_random_pick(search, report, budget)[0], "best_feasible": max(report)}


def expected_random_pick(search: Sequence[float], report: Sequence[float], n: int) -> tuple[float, float]:
    """Mean and standard deviation of the report value of the search-metric argmax of `n` distinct uniform
    draws among the architectures whose values are `search` and `report`.

    max(search) over the draws is v with probability [C(#<=v, n) - C(#<v, n)] / C(N, n); given that, the
    pick is the first drawn of the architectures at v, each of them equally likely (the ties).
    """
    levels: dict[float, list[float]] = {}
    for s, r in zip(search, report):
        levels.setdefault(s, []).append(r)
    total, n = len(search), min(n, len(search))

    def p_all_below(m: int) -> float:  # C(m, n) / C(total, n)
        if m < n:
            return 0.0
        return math.exp(
            math.lgamma(m + 1) - math.lgamma(m - n + 1) - math.lgamma(total + 1) + math.lgamma(total - n + 1)
        )

    below, mean, second = 0, 0.0, 0.0
    for v in sorted(levels):
        p = p_all_below(below + len(levels[v])) - p_all_below(below)
        mean += p * statistics.fmean(levels[v])
        second += p * statistics.fmean(r * r for r in levels[v])
        below += len(levels[v])
    return mean, math.sqrt(max(second - mean * mean, 0.0))


def gap_closed(mean: float, reference: dict[str, float]) -> float | None:
    """The share of the gap between random search and the best feasible architecture that `mean` closes
    (None when there is no gap)."""
    gap = reference["best_feasible"] - reference["random_expected"]
    return (mean - reference["random_expected"]) / gap if gap > 0 else None


@dataclass
class TabularRun:
    """One seed's search: its pick, the pick's numbers, and what the search used."""

    seed: int
    arch: str | None
    search_value: float | None
    report_value: float | None
    latency_ms: float | None
    feasible: bool
    queries: int
    proposals: int
    cost_calls: int
    results: list[float] = dataclasses.field(default_factory=list)  # the search metric of each query, in order


def table_proxy_scorer(table: NB201Table, space: SearchSpace) -> ProxyScorer:
    """A warm start's proxy scorer that reads each proxy's value from a column of `table` (the `--values` file of
    `descgraph bench nb201-proxies`, one column per proxy) for the codes of `space`.

    Raises (when called):
        DataError: the table has no column of that proxy, or no row of an architecture.
    """

    def score(proxy: str, codes) -> list[float]:
        if proxy not in table.columns:
            known = ", ".join(table.columns)
            raise DataError(f"{table.path}: no column {proxy!r} of proxy values (columns: {known})")
        out = []
        for code in codes:
            arch = space.decode(code)
            if arch not in table.rows:
                raise DataError(f"{table.path}: no row of {format_nb201(arch)} (a warm start's pool drew it)")
            out.append(table.value(arch, proxy))
        return out

    return score


def run_tabular_search(
    strategy: SearchStrategy,
    bench: TabularBenchmark,
    budget: int,
    seed: int,
    max_proposals: int | None = None,
    proxy: NB201Table | None = None,
) -> TabularRun:
    """Search until `budget` distinct architectures are queried (or `max_proposals` proposals, or the
    strategy runs out); report the queried architecture with the best search metric.

    Args:
        strategy: a strategy not yet set up.
        bench: the tables.
        budget: distinct queries allowed.
        seed: the strategy's seed.
        max_proposals: a cap on proposals, repeats included (see `search_loop`).
        proxy: zero-cost proxy values by architecture, one column per proxy, for a warm start.
    """
    space = bench.space()
    strategy.setup(space, seed, proxy=table_proxy_scorer(proxy, space) if proxy is not None else None)

    def evaluate(code: Code) -> tuple[float, dict[str, Any]]:
        return bench.accuracy.value(space.decode(code), bench.search_metric), {}

    known = search_loop(strategy, evaluate, budget, max_proposals)
    run = _pick(strategy, space, bench, seed, len(known), len(strategy.history))
    run.results = list(known.values())  # a dict keeps the order of the queries
    return run


def _pick(
    strategy: SearchStrategy, space: SearchSpace, bench: TabularBenchmark, seed: int, queries: int, proposals: int
) -> TabularRun:
    best = strategy.best()  # the first of equal results, as the search met them
    cost_calls = getattr(space, "cost_calls", 0)
    if best is None:
        return TabularRun(seed, None, None, None, None, False, queries, proposals, cost_calls)
    arch = space.decode(best.code)
    return TabularRun(
        seed=seed,
        arch=format_nb201(arch),
        search_value=best.result,
        report_value=bench.accuracy.value(arch, bench.report_metric),
        latency_ms=bench.latency_of(arch),
        feasible=bench.meets_bound(arch),
        queries=queries,
        proposals=proposals,
        cost_calls=cost_calls,
    )


def run_seeds(
    bench: TabularBenchmark,
    strategy: str,
    seeds: Sequence[int],
    budget: int,
    params: dict[str, Any] | None = None,
    max_proposals: int | None = None,
    metrics_path: str | Path | None = None,
    progress: bool | None = None,
    proxy: NB201Table | None = None,
    append: bool = False,
) -> list[TabularRun]:
    """One search per seed with a new `strategy` (registered name, `params` its keyword arguments).

    Args:
        metrics_path: a JSON-lines file that receives each seed's run as it ends (rewritten first, unless `append`).
        progress: a tqdm bar over the seeds; None shows it only on a terminal.
        proxy: zero-cost proxy values for a warm start (`run_tabular_search`).
        append: add to `metrics_path` (the runs of another strategy are there) instead of rewriting it.
    """
    log = MetricsLog(metrics_path)
    if not append:
        log.rewrite([])
    runs = []
    for seed in tqdm(seeds, desc=f"{strategy} seeds", disable=None if progress is None else not progress, leave=False):
        run = run_tabular_search(get_strategy(strategy, **(params or {})), bench, budget, seed, max_proposals, proxy)
        log.append({"strategy": strategy, **dataclasses.asdict(run)})
        runs.append(run)
    return runs


def summarize_runs(runs: list[TabularRun]) -> dict[str, Any]:
    """mean and std (sample standard deviation over seeds) of the report metric, the share of feasible
    picks, the mean queries, proposals and cost-model calls, and the picks' mean latency."""
    values = [r.report_value for r in runs if r.report_value is not None]
    latencies = [r.latency_ms for r in runs if r.latency_ms is not None]
    out: dict[str, Any] = {
        "mean": round(statistics.fmean(values), 4) if values else None,
        "std": round(statistics.stdev(values), 4) if len(values) > 1 else 0.0,
        "feasible": sum(r.feasible for r in runs) / len(runs) if runs else 0.0,
        "seeds": len(runs),
        "queries": statistics.fmean(r.queries for r in runs) if runs else 0.0,
        "proposals": statistics.fmean(r.proposals for r in runs) if runs else 0.0,
        "cost_calls": statistics.fmean(r.cost_calls for r in runs) if runs else 0.0,
    }
    if latencies:
        out["latency_ms"] = round(statistics.fmean(latencies), 4)
    return out
