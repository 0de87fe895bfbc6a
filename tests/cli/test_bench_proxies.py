"""`descgraph bench nb201-proxies`: its JSON, its values file against the table and scipy's Spearman, and one
line and exit code 2 for what a user got wrong."""

from __future__ import annotations

import json
import math

import pytest
from scipy.stats import spearmanr

from descgraph.builders.nb201 import build_nb201, nb201_model_conf
from descgraph.cli import main
from descgraph.cli.bench_proxies import _write_values, sample_archs
from descgraph.desc.nb201 import format_nb201, parse_nb201
from descgraph.nas.discrete.tabular import load_nb201_table
from descgraph.nas.proxies import NONFINITE_AS_NUMBER, init_model, proxy_batch, score

REPORT = "cifar10_test_200"

pytestmark = pytest.mark.usefixtures("one_thread")


def proxies(capsys, *argv: str) -> dict:
    assert main(["bench", "nb201-proxies", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_the_json_and_the_values_file_agree_with_the_table_and_scipy(shared_data, tmp_path, capsys):
    table, values = shared_data / "nb201" / "accuracy.csv", tmp_path / "values.csv"
    out = proxies(
        capsys,
        *("--table", str(table), "--proxies", "synflow,params,naswot", "--sample", "6", "--seed", "3"),
        *("--report-metric", REPORT, "--batch", "8", "--values", str(values)),
    )
    assert set(out) >= {"spearman", "sample", "data", "wall_s", "per_proxy_s", "nonfinite", "network"}
    assert out["sample"] == 6 and out["network"] == "nb201 cifar10 C=16 N=5 3x32x32"
    assert out["data"] == {"synflow": "none", "params": "none", "naswot": "digits 32x32 batch 8"}
    assert out["nonfinite"] == {"synflow": 0, "params": 0, "naswot": 0}
    assert set(out["per_proxy_s"]) == {"synflow", "params", "naswot"} and out["wall_s"] > 0
    written = load_nb201_table(values, ["synflow", "params", "naswot"])
    truth = load_nb201_table(table, [REPORT])
    archs = sorted(written.rows, key=written.rows.get)
    assert archs == sample_archs(6, 3) and len(set(archs)) == 6  # the seed's sample, in the order drawn
    for name in ("synflow", "params", "naswot"):
        expected = spearmanr(written.columns[name], [truth.value(a, REPORT) for a in archs])[0]
        assert out["spearman"][name] == pytest.approx(expected, abs=5e-5)
    # the values are the proxies of the benchmark network, its weights from the seed
    desc = build_nb201(archs[0], nb201_model_conf("cifar10"))
    assert written.value(archs[0], "params") == init_model(desc).param_count()
    assert written.value(archs[0], "synflow") == score("synflow", desc, seed=3)
    digits = proxy_batch(desc.input_shape, size=8, seed=3)
    assert written.value(archs[0], "naswot") == score("naswot", desc, digits, seed=3)


def test_the_sample_is_distinct_architectures_drawn_by_the_seed():
    archs = sample_archs(500, 11)
    assert len(set(archs)) == 500 and sample_archs(500, 11) == archs != sample_archs(500, 12)
    assert all(parse_nb201(format_nb201(a)) == a for a in archs)
    assert len(set(sample_archs(15_625, 0))) == 15_625


def test_a_score_that_is_not_finite_is_written_as_a_number_that_ranks_last(tmp_path):
    archs = sample_archs(3, 0)
    _write_values(str(tmp_path / "v.csv"), archs, {"jacov": [1.5, -math.inf, -2.0]}, "arch")
    back = load_nb201_table(tmp_path / "v.csv", ["jacov"])
    assert [back.value(a, "jacov") for a in archs] == [1.5, NONFINITE_AS_NUMBER, -2.0]
    assert min(back.columns["jacov"]) == back.value(archs[1], "jacov") < -1e300


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--proxies", "synflw"], "unknown zero-cost proxy 'synflw' (did you mean: synflow?)"),
        (["--proxies", "synflow,"], "--proxies 'synflow,': expected NAME or NAME,NAME,..."),
        (["--sample", "1"], "--sample: 1; expected 2 to 15,625"),
        (["--sample", "15626"], "--sample: 15626; expected 2 to 15,625"),
        (["--report-metric", "cifar10_test_201"], "no column 'cifar10_test_201'"),
        (["--dataset", "cifar10", "--dataroot", "/nonexistent", "--proxies", "snip"], "no CIFAR-10 batches in"),
    ],
)
def test_what_a_user_got_wrong_is_one_line_and_exit_2(shared_data, argv, expected, capsys):
    table = str(shared_data / "nb201" / "accuracy.csv")
    assert main(["bench", "nb201-proxies", "--table", table, "--sample", "2", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("descgraph: error: ") and expected in err, err


def test_the_values_never_overwrite_the_table(shared_data, tmp_path, capsys):
    table = tmp_path / "acc.csv"
    table.write_bytes((shared_data / "nb201" / "accuracy.csv").read_bytes())
    assert main(["bench", "nb201-proxies", "--table", str(table), "--sample", "2", "--values", str(table)]) == 2
    assert "is also an input of this command" in capsys.readouterr().err
    assert table.read_bytes() == (shared_data / "nb201" / "accuracy.csv").read_bytes()


@pytest.mark.slow
def test_synflow_ranks_a_sample_as_the_paper_reports(shared_data, capsys):
    # Abdelfattah et al. 2021: synflow's Spearman with CIFAR-10 test accuracy 0.74 on all 15,625
    out = proxies(capsys, "--table", str(shared_data / "nb201" / "accuracy.csv"), "--sample", "200", "--seed", "0")
    assert out["spearman"]["synflow"] >= 0.70
