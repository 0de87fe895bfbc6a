"""`evaluate_table`, the lookup table against whole networks: the machinery, on planted measurements.

How well a table predicts this machine is a measurement, not a test: `tools/bench_lut.py` and
`tools/bench_lut_calibration.py` measure it beside a second measurement of the same networks
(BENCHMARKS.md). Here the timing is replaced by planted figures, so every number the evaluation
reports can be derived independently: the machine's speed from the re-timed probes, the errors at
that speed, and Kendall's tau.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import kendalltau

from descgraph.conf import load_conf, resolve_conf_path
from descgraph.hw import lut_build as lut_build_module
from descgraph.hw.latency import LatencyStats
from descgraph.hw.lut import load_table, predict_latency
from descgraph.hw.lut_build import build_table, evaluate_table
from descgraph.hw.lut_space import get_lut_space

TOY = ["nas.eval.model_desc.n_cells=3", "nas.eval.model_desc.n_reductions=1", "nas.eval.model_desc.cell.n_nodes=2"]
SPEED = 1.2  # the machine runs 20 % slower than when the table was built
ERRORS = [0.05, -0.08, 0.15, -0.2, 0.0, 0.09]  # each network's measurement off the prediction at that speed


pytestmark = pytest.mark.slow  # the table is built for real (timings are replaced afterwards only)


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    conf = load_conf([resolve_conf_path("darts_toy")], TOY)
    path = tmp_path_factory.mktemp("lut") / "toy.yaml"
    build_table(conf, path, runs=2, progress=False)
    return load_table(path)


def _planted_measurement(table, predictions):
    probes = sorted((e for e in table.entries.values() if e.kind == "op"), key=lambda e: -e.latency_ms)

    def measure(candidates, runs, warmup, rounds, threads):
        stats = {}
        for name in candidates:
            if name.startswith("probe"):  # a block timed again, SPEED times slower: latency = block - empty
                index, part = name.removeprefix("probe").split("/")
                entry = probes[int(index)]
                ms = (entry.overhead_ms + (entry.latency_ms if part == "block" else 0.0)) * SPEED
            else:
                ms = predictions[int(name)] * SPEED * (1 + ERRORS[int(name)])
            stats[name] = LatencyStats.from_seconds([ms / 1000.0])
        return stats

    return measure


def test_evaluation_reports_speed_errors_and_ranking_of_planted_measurements(table, monkeypatch):
    space = get_lut_space(lut_build_module.table_conf(table))
    predictions = [predict_latency(table, space.sample(i)) for i in range(len(ERRORS))]
    monkeypatch.setattr(lut_build_module, "measure_side_by_side", _planted_measurement(table, predictions))
    result = evaluate_table(table, samples=len(ERRORS), seed=0, progress=False)

    measured = np.array(predictions) * SPEED * (1 + np.array(ERRORS))
    assert [r["measured_ms"] for r in result["networks"]] == pytest.approx(measured, abs=1e-4)
    assert [r["predicted_ms"] for r in result["networks"]] == pytest.approx(predictions, abs=1e-4)
    assert result["speed_vs_table"] == pytest.approx(SPEED, abs=1e-3)
    # at the current speed a network is off by 1 / (1 + e) - 1: within 10 % for e = 0.05, -0.08, 0, 0.09
    assert result["within_10pct_at_current_speed"] == pytest.approx(4 / 6, abs=1e-3)
    # at the table's speed it is off by 1 / (SPEED * (1 + e)) - 1: within 10 % for e = -0.08 and -0.2 alone
    assert result["within_10pct"] == pytest.approx(2 / 6, abs=1e-3)
    assert result["kendall_tau"] == pytest.approx(kendalltau(predictions, measured).statistic, abs=1e-3)
    assert result["samples"] == len(result["networks"]) == len(ERRORS)
