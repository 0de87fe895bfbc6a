"""The size estimate against the compiled network: an upper estimate, within a factor of 3 on known networks.

The networks and the measurement are `tools/bench_size_estimate.py`'s, which prints the same table.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("one_thread")
FACTOR = 3  # the estimate is at least the compiled count and at most this many times it

_spec = importlib.util.spec_from_file_location(
    "bench_size_estimate", Path(__file__).resolve().parents[2] / "tools" / "bench_size_estimate.py"
)
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


NETWORKS = bench.networks()
HEAVY = ("DARTS search supernet", "DARTS_V2 on ImageNet")  # seconds each: compiled and run at full size


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in HEAVY else n for n in NETWORKS])
def test_the_estimate_bounds_the_compiled_network_within_a_factor(name):
    r = bench.measure(NETWORKS[name])
    assert r["params"] <= r["estimated_params"] <= FACTOR * r["params"]
    assert r["activation_mib"] <= r["estimated_activation_mib"] <= FACTOR * r["activation_mib"]
    if name == "DARTS_V2 at the eval macro":
        assert r["params"] == 3_825_768  # DARTS's own count, aux tower included
