"""A lookup table against whole networks measured end to end: 50 random networks of the DARTS space.

The DARTS space at a small eval macro (8 cells, 36 channels, CIFAR-10 shapes, batch 1, one thread).
The goals (nn-Meter's bar for a kernel-level predictor) are 90 % of predictions within +-10 % and a
Kendall tau of 0.9; tools/bench_lut.py measures both beside a second measurement of the same networks
(BENCHMARKS.md). The thresholds here are looser, for the machine rather than the table: networks of this
space differ by about 4 % (std/mean), a second measurement ranks them with a tau of 0.75 to 0.92, and this
shared machine's speed drifts by up to 12 % between building a table and measuring networks a minute
later, so the share within +-10 % is checked at the machine's current speed (the table's slowest blocks
timed again beside the networks) and the drift itself is bounded.
"""

from __future__ import annotations

import pytest

from descgraph.conf import load_conf, resolve_conf_path
from descgraph.hw.lut_build import build_table, evaluate_table


@pytest.mark.slow
def test_table_predicts_fifty_random_darts_networks(tmp_path):
    conf = load_conf([resolve_conf_path("darts")], ["nas.eval.model_desc.n_cells=8"])
    table = build_table(conf, tmp_path / "darts_lut.yaml", progress=False)
    result = evaluate_table(table, samples=50, runs=100, progress=False)
    assert result["samples"] == len(result["networks"]) == 50
    assert 0.8 <= result["speed_vs_table"] <= 1.25, result
    assert result["within_10pct_at_current_speed"] >= 0.8, result
    assert result["kendall_tau"] >= 0.5, result
