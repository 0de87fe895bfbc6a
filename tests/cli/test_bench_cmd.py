"""`descgraph bench nb201`: the figures it prints, and one line and exit code 2 for what a user got wrong."""

from __future__ import annotations

import csv
import itertools
import json

import pytest

from descgraph.cli import main
from descgraph.viz._figure import pyplot


def bench(capsys, *argv: str) -> dict:
    assert main(["bench", "nb201", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_bench_prints_mean_std_feasible_and_writes_each_pick(shared_data, tmp_path, capsys):
    table, latency = shared_data / "nb201" / "accuracy.csv", shared_data / "nb201" / "latency.csv"
    metrics = tmp_path / "picks.jsonl"
    out = bench(
        capsys,
        *("--table", str(table), "--strategy", "rea", "--seeds", "5", "--budget", "50", "-p", "population_size=10"),
        *("--latency", str(latency), "--device", "pixel3", "--max-latency", "8", "--metrics", str(metrics)),
    )
    assert out["params"] == {"population_size": 10, "sample_size": 10, "bound_draws": 3, "warm_start": None}
    assert out["feasible"] == 1.0 and out["seeds"] == 5 and out["queries"] == 50
    picks = [json.loads(line) for line in metrics.read_text().splitlines()]
    assert [p["seed"] for p in picks] == [0, 1, 2, 3, 4]
    assert all(p["latency_ms"] <= 8 for p in picks)
    # mean and std are the report metric's over the picks (std: the sample standard deviation)
    values = [p["report_value"] for p in picks]
    mean = sum(values) / 5
    assert out["mean"] == pytest.approx(mean, abs=1e-4)
    assert out["std"] == pytest.approx((sum((v - mean) ** 2 for v in values) / 4) ** 0.5, abs=1e-4)


def test_bench_judges_the_picks_against_random_search_and_the_best_feasible(shared_data, capsys):
    table, latency = shared_data / "nb201" / "accuracy.csv", shared_data / "nb201" / "latency.csv"
    with table.open(newline="") as f:
        accuracy = {r["arch"]: float(r["cifar10_val_12"]) for r in csv.DictReader(f)}
    with latency.open(newline="") as f:
        fpga = {r["arch"]: float(r["fpga"]) for r in csv.DictReader(f)}
    out = bench(
        capsys,
        *("--table", str(table), "--latency", str(latency), "--device", "fpga", "--max-latency", "3.72496"),
        *("--strategy", "rea", "--seeds", "4", "--budget", "40", "--report-metric", "cifar10_val_12"),
    )
    assert out["best_feasible"] == max(v for arch, v in accuracy.items() if fpga[arch] <= 3.72496) == 83.742
    assert out["latency_ms"] <= 3.72496 and out["feasible"] == 1.0
    assert out["cost_calls"] >= out["queries"] == 40  # every query was priced first
    gap = (out["mean"] - out["random_expected"]) / (out["best_feasible"] - out["random_expected"])
    assert out["gap_closed"] == pytest.approx(gap, abs=1e-3)


def test_a_bound_nothing_meets_names_the_fastest_and_exits_2(shared_data, capsys):
    argv = [
        "--table",
        str(shared_data / "nb201" / "accuracy.csv"),
        "--latency",
        str(shared_data / "nb201" / "latency.csv"),
    ]
    assert main(["bench", "nb201", *argv, "--device", "fpga", "--max-latency", "1", "--seeds", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no architecture meets 1.0 ms (the fastest takes 1.13296 ms)" in err, err


def test_bench_reports_on_the_columns_it_is_given(shared_data, capsys):
    table = shared_data / "nb201" / "accuracy.csv"
    with table.open(newline="") as f:
        rows = list(csv.DictReader(f))
    everything = ["--table", str(table), "--strategy", "random", "--seeds", "2", "--budget", "15625"]
    for dataset in ("cifar10", "cifar100", "imagenet16"):
        search, report = f"{dataset}_val_12", f"{dataset}_test_200"
        out = bench(capsys, *everything, "--search-metric", search, "--report-metric", report)
        # every architecture queried: the pick is the first row of the highest search value (random order)
        top = max(float(r[search]) for r in rows)
        picks = {float(r[report]) for r in rows if float(r[search]) == top}
        assert out["queries"] == 15_625 and out["report_metric"] == report
        assert min(picks) <= out["mean"] <= max(picks)


@pytest.fixture()
def small_tables(shared_data, tmp_path):
    """The header and first 5 rows of each real table."""
    out = {}
    for name in ("accuracy", "latency"):
        with (shared_data / "nb201" / f"{name}.csv").open(newline="") as f:
            out[name] = list(csv.reader(f))[:6]
    return out


def _write(path, rows):
    with path.open("w", newline="") as f:
        csv.writer(f).writerows(rows)
    return str(path)


def _edit(rows, line, col, edit):
    out = [list(r) for r in rows]
    out[line - 1][rows[0].index(col)] = edit(out[line - 1][rows[0].index(col)])
    return out


def _wrong_op(arch: str) -> str:
    return "|nor_conv_3x4~0|+" + arch.partition("+")[2]


CASES = {
    "wrong op name": (
        lambda acc, lat: (_edit(acc, 3, "arch", _wrong_op), lat),
        ["acc.csv:3: column 'arch': node 1 edge 'nor_conv_3x4~0': unknown op 'nor_conv_3x4'"],
    ),
    "missing column": (lambda acc, lat: ([r[:5] for r in acc], lat), ["acc.csv:1: no column 'cifar10_val_12'"]),
    "row count": (lambda acc, lat: (acc, lat[:-1]), ["acc.csv:6: column 'arch'", "(5 rows here, 4 there)"]),
    "not a number": (
        lambda acc, lat: (acc, _edit(lat, 2, "pixel3", lambda _: "fast")),
        ["lat.csv:2: column 'pixel3': 'fast' is not a finite number"],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_malformed_tables_exit_2_with_one_line(case, small_tables, tmp_path, capsys):
    edit, expected = CASES[case]
    acc, lat = edit(small_tables["accuracy"], small_tables["latency"])
    argv = ["--table", _write(tmp_path / "acc.csv", acc), "--latency", _write(tmp_path / "lat.csv", lat)]
    assert main(["bench", "nb201", *argv, "--device", "pixel3", "--seeds", "1", "--budget", "3"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("descgraph: error: "), err
    assert all(text in err for text in expected), err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--strategy", "reinforc"], "unknown search strategy 'reinforc' (did you mean: reinforce?)"),
        (["-p", "populaton_size=3"], "unknown parameter 'populaton_size'"),
        (["-p", "population_size"], "expected KEY=VALUE"),
        (["--max-latency", "5"], "a latency bound a device (--latency, --device)"),
    ],
)
def test_bad_options_exit_2_with_one_line(shared_data, argv, expected, capsys):
    table = str(shared_data / "nb201" / "accuracy.csv")
    assert main(["bench", "nb201", "--table", table, "--seeds", "1", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and expected in err, err


def test_bench_plot_draws_each_seed_beside_random_searchs_expectation(shared_data, tmp_path, capsys, monkeypatch):
    table, latency = shared_data / "nb201" / "accuracy.csv", shared_data / "nb201" / "latency.csv"
    with table.open(newline="") as f:
        accuracy = {r["arch"]: float(r["cifar10_val_12"]) for r in csv.DictReader(f)}
    with latency.open(newline="") as f:
        feasible = sorted(accuracy[r["arch"]] for r in csv.DictReader(f) if float(r["fpga"]) <= 3.72496)
    plt = pyplot()
    monkeypatch.setattr(plt, "close", lambda fig: None)  # keep the figure to read its lines back
    out = bench(
        capsys,
        *("--table", str(table), "--latency", str(latency), "--device", "fpga", "--max-latency", "3.72496"),
        *("--strategy", "rea", "--seeds", "3", "--budget", "30", "--report-metric", "cifar10_val_12"),
        *("--metrics", str(tmp_path / "picks.jsonl"), "--plot", str(tmp_path / "progress.png")),
    )
    lines = {line.get_label(): list(line.get_ydata()) for line in plt.gcf().axes[0].lines}
    plt.close("all")
    assert (tmp_path / "progress.png").read_bytes().startswith(b"\x89PNG")
    for pick in map(json.loads, (tmp_path / "picks.jsonl").read_text().splitlines()):
        assert len(pick["results"]) == 30 and max(pick["results"]) == pick["search_value"]
        assert lines[f"rea seed {pick['seed']}"] == list(itertools.accumulate(pick["results"], max))
    random = lines["random search (expected)"]
    n = len(feasible)
    # one draw: the mean; two distinct draws: the i-th smallest value is the larger of i pairs out of C(n, 2)
    assert random[0] == pytest.approx(sum(feasible) / n)
    assert random[1] == pytest.approx(sum(i * v for i, v in enumerate(feasible)) / (n * (n - 1) / 2))
    assert random[-1] == pytest.approx(out["random_expected"], abs=1e-4) and random == sorted(random)


def test_several_strategies_each_give_what_they_give_alone(shared_data, tmp_path, capsys):
    table = str(shared_data / "nb201" / "accuracy.csv")
    argv = ("--table", table, "--seeds", "3", "--budget", "30", "-p", "rea.population_size=5")
    both = bench(capsys, *argv, "--strategy", "random,rea", "--plot", str(tmp_path / "both.png"))
    alone = {"random": bench(capsys, "--table", table, "--seeds", "3", "--budget", "30", "--strategy", "random")}
    alone["rea"] = bench(
        capsys, "--table", table, "--seeds", "3", "--budget", "30", "--strategy", "rea", "-p", "rea.population_size=5"
    )  # fmt: skip  (NAME.KEY of the one strategy)
    assert list(both["strategies"]) == ["random", "rea"]
    for name, out in alone.items():
        for key in ("mean", "std", "queries", "gap_closed", "params"):
            assert both["strategies"][name][key] == out[key], (name, key)
    assert both["strategies"]["rea"]["params"]["population_size"] == 5
    assert both["random_expected"] == alone["rea"]["random_expected"]
    image = pyplot().imread(tmp_path / "both.png")
    assert image.shape[0] > 100 and image.shape[1] > 100


def test_a_warm_start_queries_the_pools_best_by_the_proxy_first(shared_data, tmp_path, capsys):
    table = shared_data / "nb201" / "accuracy.csv"
    with table.open(newline="") as f:
        rows = list(csv.DictReader(f))
    values = tmp_path / "proxies.csv"  # an oracle "proxy": the search metric itself
    values.write_text("arch,oracle\n" + "".join(f"{r['arch']},{r['cifar10_val_12']}\n" for r in rows))
    out = bench(
        capsys,
        *("--table", str(table), "--strategy", "rea", "--seeds", "2", "--budget", "1"),
        *("--proxy-values", str(values), "-p", "warm_start={proxy: oracle, pool: 15625}"),
        *("--report-metric", "cifar10_val_12"),
    )
    # the pool is the whole space, so the first query is the table's best
    assert out["mean"] == max(float(r["cifar10_val_12"]) for r in rows)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--strategy", "rea", "-p", "warm_start={proxy: synflow}"], "warm_start: the table benchmark reads proxy"),
        (["--strategy", "rea,nope"], "unknown search strategy 'nope'"),
        (["--strategy", "reinforce", "-p", "warm_start={proxy: synflow}"], "reinforce"),
    ],
)
def test_bad_strategy_arguments_are_one_line(shared_data, capsys, argv, message):
    assert main(["bench", "nb201", "--table", str(shared_data / "nb201" / "accuracy.csv"), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err


def test_a_warm_start_pool_larger_than_the_space_is_one_line(shared_data, tmp_path, capsys):
    values = tmp_path / "proxies.csv"
    values.write_text("arch,synflow\n")
    argv = ["bench", "nb201", "--table", str(shared_data / "nb201" / "accuracy.csv"), "--proxy-values", str(values)]
    assert main([*argv, "--strategy", "bananas", "-p", "warm_start={proxy: synflow, pool: 15626}"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "warm_start.pool: 15626 is more than the 15625 architectures" in err, err


@pytest.mark.parametrize("edit", ["part", "huge", "negative"])
def test_a_table_the_benchmark_cannot_use_is_one_line(shared_data, tmp_path, capsys, edit):
    with (shared_data / "nb201" / "accuracy.csv").open(newline="") as f:
        rows = list(csv.reader(f))
    column = rows[0].index("cifar10_val_12")
    if edit == "part":  # a strategy would query an architecture it lacks
        rows = rows[:200]
        message = (
            f"{tmp_path / 'acc.csv'}: 199 of the 15,625 NAS-Bench-201 architectures; the benchmark needs every one"
        )
    else:
        rows[5][column] = "1e308" if edit == "huge" else "-3"
        message = (
            f"acc.csv:6: column 'cifar10_val_12': {float(rows[5][column])!r} is not an accuracy in percent (0-100)"
        )
    with (tmp_path / "acc.csv").open("w", newline="") as f:
        csv.writer(f).writerows(rows)
    assert main(["bench", "nb201", "--table", str(tmp_path / "acc.csv"), "--seeds", "2", "--budget", "20"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err
