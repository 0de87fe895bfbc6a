"""The NAS-Bench-201 tabular backend on the real tables: the protocol, the strategies' figures, the errors."""

from __future__ import annotations

import csv
import math
import statistics
from pathlib import Path

import pytest

from descgraph.desc.nb201 import parse_nb201
from descgraph.errors import DataError
from descgraph.nas.discrete import NB201Space
from descgraph.nas.discrete.tabular import (
    TabularBenchmark,
    expected_random_pick,
    gap_closed,
    load_nb201_table,
    run_seeds,
    run_tabular_search,
    summarize_runs,
)

SEARCH, REPORT = "cifar10_val_12", "cifar10_test_200"
SEEDS, BUDGET = range(100), 100


@pytest.fixture(scope="module")
def bench(shared_data) -> TabularBenchmark:
    return TabularBenchmark.load(shared_data / "nb201" / "accuracy.csv", SEARCH, REPORT)


def test_the_table_is_the_benchmark(bench):
    table = bench.accuracy
    assert len(table.rows) == 15_625
    best = parse_nb201(
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
    )
    assert max(table.columns[REPORT]) == table.value(best, REPORT) == 94.3733  # SOURCES.md: rows 6111, 13714
    assert table.rows[best] == 6111 and table.lines[6111] == 6111 + 2  # the header is line 1, row 0 line 2


def test_random_search_lands_on_its_expected_value(bench):
    mean, sd = expected_random_pick(bench.accuracy.columns[SEARCH], bench.accuracy.columns[REPORT], BUDGET)
    assert mean == pytest.approx(93.7308, abs=1e-4)
    runs = run_seeds(bench, "random", SEEDS, BUDGET)
    assert all(r.queries == BUDGET == r.proposals for r in runs)
    se = sd / math.sqrt(len(runs))  # the standard error of a mean of 100 independent picks
    assert abs(summarize_runs(runs)["mean"] - mean) < 3 * se


def test_regularized_evolution_beats_the_papers_figure(bench):
    summary = summarize_runs(run_seeds(bench, "rea", SEEDS, BUDGET))
    assert summary["queries"] == BUDGET
    assert summary["mean"] >= 94.0  # NAS-Bench-201 paper, table 5: REA 93.92


@pytest.mark.slow
def test_reinforce_beats_the_papers_figure(bench):
    summary = summarize_runs(run_seeds(bench, "reinforce", SEEDS, BUDGET))
    assert summary["mean"] >= 94.0  # NAS-Bench-201 paper, table 5: REINFORCE 93.85


@pytest.mark.parametrize("strategy", ["random", "rea", "reinforce"])
def test_every_pick_meets_the_latency_bound(shared_data, bench, strategy):
    device, bound = "pixel3", 5.0
    constrained = TabularBenchmark.load(
        shared_data / "nb201" / "accuracy.csv", SEARCH, REPORT, shared_data / "nb201" / "latency.csv", device, bound
    )
    runs = run_seeds(constrained, strategy, range(20), BUDGET)
    assert all(r.latency_ms <= bound and r.feasible for r in runs)
    assert summarize_runs(runs)["feasible"] == 1.0
    # the bound binds: unconstrained, most picks are slower
    free = [constrained.latency.value(parse_nb201(r.arch), device) for r in run_seeds(bench, strategy, range(20), 100)]
    assert sum(ms > bound for ms in free) > 10


def test_a_bound_nothing_meets_is_an_error(shared_data):
    bench = TabularBenchmark.load(
        shared_data / "nb201" / "accuracy.csv", SEARCH, REPORT, shared_data / "nb201" / "latency.csv", "pixel3", 0.003
    )
    fastest = min(bench.latency.columns["pixel3"])  # 0.003277 ms
    with pytest.raises(DataError, match=rf"latency.csv: column 'pixel3': no architecture meets 0.003 ms .*{fastest}"):
        bench.space()


# --- search under a latency bound at each device's median latency (about half the space feasible) ---------
DEVICES = ["samsung_a50", "fpga", "gold_6226"]
TEST_SEEDS = range(100)  # the constrained defaults (bound_draws, repair_tries) were tuned on seeds 1000-1199


@pytest.fixture(scope="module")
def latency_rows(shared_data) -> list[dict[str, str]]:
    with (shared_data / "nb201" / "latency.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def at_median(shared_data, latency_rows, device: str, report: str = SEARCH) -> TabularBenchmark:
    bound = statistics.median(float(r[device]) for r in latency_rows)
    return TabularBenchmark.load(
        shared_data / "nb201" / "accuracy.csv", SEARCH, report, shared_data / "nb201" / "latency.csv", device, bound
    )


def test_the_reference_is_random_search_and_the_best_feasible_architecture(shared_data, latency_rows):
    bench = at_median(shared_data, latency_rows, "samsung_a50")
    assert bench.bound == 21.0  # a50 latencies are whole milliseconds
    with (shared_data / "nb201" / "accuracy.csv").open(newline="") as f:
        accuracy = {r["arch"]: float(r[SEARCH]) for r in csv.DictReader(f)}
    feasible = [accuracy[r["arch"]] for r in latency_rows if float(r["samsung_a50"]) <= 21.0]
    reference = bench.reference(BUDGET)
    assert len(feasible) == len(bench.feasible_rows()) == 7892
    assert reference["best_feasible"] == max(feasible) == 83.404
    assert reference["random_expected"] == pytest.approx(expected_random_pick(feasible, feasible, BUDGET)[0])
    assert gap_closed(reference["best_feasible"], reference) == 1.0
    assert gap_closed(reference["random_expected"], reference) == 0.0


def test_expected_random_pick_of_a_small_table():
    # 3 distinct draws out of 4: the best (4.0) is missed once in C(4, 3) = 4 draws, then 3.0 is the pick
    assert expected_random_pick([1.0, 2.0, 3.0, 4.0], [10, 20, 30, 40], 3) == pytest.approx(
        (0.75 * 40 + 0.25 * 30, math.sqrt(0.75 * 1600 + 0.25 * 900 - 37.5**2))
    )
    assert expected_random_pick([1.0, 2.0], [10, 20], 5) == (20.0, 0.0)  # a budget over the table queries it all


@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["random", "rea", "reinforce"])
@pytest.mark.parametrize("device", DEVICES)
def test_under_a_median_latency_bound_the_strategies_close_half_the_gap(shared_data, latency_rows, device, strategy):
    bench = at_median(shared_data, latency_rows, device)
    runs = run_seeds(bench, strategy, TEST_SEEDS, BUDGET)
    summary = summarize_runs(runs)
    assert summary["feasible"] == 1.0 and all(r.latency_ms <= bench.bound for r in runs)
    assert summary["queries"] >= 0.9 * BUDGET and summary["cost_calls"] >= summary["queries"]
    gap = gap_closed(summary["mean"], bench.reference(BUDGET))
    if strategy == "random":  # random search is the reference: about 0 (its mean's standard error is about 0.05)
        assert abs(gap) < 0.2
    else:
        assert gap >= 0.5


@pytest.mark.parametrize("strategy", ["random", "rea", "reinforce"])
def test_every_proposal_meets_the_bound(shared_data, latency_rows, strategy):
    from descgraph.nas.discrete import get_strategy

    bench = at_median(shared_data, latency_rows, "fpga")
    for seed in range(3):
        search = get_strategy(strategy)
        run = run_tabular_search(search, bench, BUDGET, seed)
        latencies = [bench.latency_of(NB201Space().decode(t.code)) for t in search.history]
        assert max(latencies) <= bench.bound and run.cost_calls >= len({t.code for t in search.history})


# --- malformed tables ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def rows(shared_data) -> list[list[str]]:
    with (shared_data / "nb201" / "accuracy.csv").open(newline="") as f:
        return list(csv.reader(f))[:6]  # the header and five architectures


def write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def edited(rows, line: int, column: str, value: str) -> list[list[str]]:
    out = [list(r) for r in rows]
    out[line - 1][rows[0].index(column)] = value
    return out


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda r: edited(r, 4, "arch", r[3][1].replace("nor_conv_3x3", "conv_3x3", 1)), "4: column 'arch': node"),
        (lambda r: edited(r, 3, "arch", "|none~0|+|none~0|none~1|"), "3: column 'arch': expected 3 nodes"),
        (lambda r: edited(r, 5, SEARCH, "n/a"), f"5: column '{SEARCH}': 'n/a' is not a finite number"),
        (lambda r: edited(r, 2, REPORT, "nan"), f"2: column '{REPORT}': 'nan' is not a finite number"),
        (lambda r: edited(r, 1, SEARCH, "val12"), f"1: no column '{SEARCH}'"),
        (lambda r: [*r[:3], r[3][:2], *r[4:]], "4: column 'cifar10_test_200': missing (the row has 2 fields)"),
        (lambda r: [*r, r[2]], "7: column 'arch': the architecture of line 3 again"),
        (lambda r: [], "1: empty file"),
    ],
)
def test_malformed_tables_name_the_file_line_and_column(tmp_path, rows, edit, message):
    path = write(tmp_path / "acc.csv", edit(rows))
    with pytest.raises(DataError) as err:
        load_nb201_table(path, [SEARCH, REPORT])
    text = str(err.value)
    assert text.startswith(f"{path}:") and message in text and "\n" not in text


def test_a_latency_table_with_other_rows_is_an_error(tmp_path, shared_data, rows):
    with (shared_data / "nb201" / "latency.csv").open(newline="") as f:
        latency = list(csv.reader(f))[:5]  # one row fewer
    acc, lat = write(tmp_path / "acc.csv", rows), write(tmp_path / "lat.csv", latency)
    with pytest.raises(DataError, match=rf"^{acc}:6: column 'arch': .* has no row in {lat} \(5 rows here, 4 there\)$"):
        TabularBenchmark.load(acc, SEARCH, REPORT, lat, "pixel3")
    with pytest.raises(DataError, match=rf"^{lat}:1: no column 'pixel33' \(did you mean: pixel3"):
        TabularBenchmark.load(acc, SEARCH, REPORT, lat, "pixel33")


@pytest.mark.parametrize("value", ["-1.5", "0"])
def test_a_latency_of_zero_or_below_is_an_error_naming_its_row(tmp_path, shared_data, rows, value):
    with (shared_data / "nb201" / "latency.csv").open(newline="") as f:
        latency = list(csv.reader(f))[:6]
    column = latency[0].index("pixel3")
    latency[3][column] = value
    acc, lat = write(tmp_path / "acc.csv", rows), write(tmp_path / "lat.csv", latency)
    message = rf"^{lat}:4: column 'pixel3': {float(value)!r} ms is not a latency \(it must be > 0\)$"
    with pytest.raises(DataError, match=message):
        TabularBenchmark.load(acc, SEARCH, REPORT, lat, "pixel3", max_latency=10.0)


def test_a_missing_table_is_an_error(tmp_path):
    with pytest.raises(DataError, match=rf"^{tmp_path}/none.csv: no such file$"):
        load_nb201_table(tmp_path / "none.csv", [SEARCH])


def test_a_value_of_an_architecture_the_table_lacks_is_one_line(tmp_path, rows):
    table = load_nb201_table(write(tmp_path / "acc.csv", rows), [SEARCH])
    missing = ("none",) * 6
    assert missing not in table.rows
    with pytest.raises(DataError, match=rf"^{tmp_path}/acc.csv: no row of \|none~0\|\+\|none~0\|none~1\|"):
        table.value(missing, SEARCH)
