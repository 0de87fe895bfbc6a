"""The latency harness: statistics as numpy computes them, side-by-side timing, whole-network measurement."""

from __future__ import annotations

import json
import types

import numpy as np
import onnxruntime as ort
import pytest
import torch

from descgraph.builders import build_from_genotype
from descgraph.cli import main
from descgraph.conf import load_conf, resolve_conf_path
from descgraph.desc import save_desc
from descgraph.desc.genotype import parse_genotype
from descgraph.export import export_module, export_onnx
from descgraph.hw import latency
from descgraph.hw.latency import LatencyStats, environment, measure_side_by_side
from descgraph.hw.measure import measure_network


@pytest.fixture(scope="module")
def small_desc():
    conf = load_conf([resolve_conf_path("darts")], ["nas.search.model_desc.n_cells=3"])
    return build_from_genotype(parse_genotype("DARTS_V2"), conf.nas.search.model_desc)


def test_stats_are_numpys():
    seconds = [0.004, 0.001, 0.003, 0.010, 0.002, 0.005, 0.007, 0.006, 0.009, 0.008]
    ms = np.array(seconds) * 1000
    stats = LatencyStats.from_seconds(seconds)
    assert stats.count == 10 and stats.min_ms == pytest.approx(1.0)
    assert stats.mean_ms == pytest.approx(ms.mean())
    assert stats.std_ms == pytest.approx(ms.std(ddof=1))
    assert stats.median_ms == pytest.approx(np.median(ms))
    assert stats.p90_ms == pytest.approx(np.quantile(ms, 0.9))
    assert stats.p25_ms == pytest.approx(np.quantile(ms, 0.25))


def test_side_by_side_alternates_candidates_in_rounds_and_times_each_call(monkeypatch):
    # a clock that moves only when a candidate runs: each call of a candidate takes its own fixed time
    now, calls = [0.0], []

    def candidate(name: str, seconds: float):
        def run():
            calls.append(name)
            now[0] += seconds

        return run

    monkeypatch.setattr(latency, "time", types.SimpleNamespace(perf_counter=lambda: now[0]))
    stats = measure_side_by_side(
        {"short": candidate("short", 0.001), "long": candidate("long", 0.004)}, runs=6, warmup=2, rounds=3
    )
    # warm-up first, then three rounds of two timed calls each, the candidates taking turns
    assert calls == ["short"] * 2 + ["long"] * 2 + (["short"] * 2 + ["long"] * 2) * 3
    assert (stats["short"].count, stats["long"].count) == (6, 6)
    assert stats["short"].median_ms == pytest.approx(1.0) and stats["short"].std_ms == pytest.approx(0.0)
    assert stats["long"].min_ms == pytest.approx(4.0) and stats["long"].p90_ms == pytest.approx(4.0)


def test_environment_names_what_a_figure_depends_on():
    env = environment(threads=3)
    assert env["threads"] == 3 and env["onnxruntime"] == ort.__version__
    assert env["torch"] == torch.__version__.split("+")[0] and env["cpu"]


def test_measure_a_description_beside_eager(small_desc):
    result = measure_network(small_desc, runs=4, warmup=1, rounds=2)
    assert result["ort_ms"]["count"] == result["eager_ms"]["count"] == 4
    assert result["desc_hash"] == small_desc.hash() and result["batch"] == 1
    # the ratio is taken before the medians are rounded to 1e-4 ms, which is a few per mille of a 20 us median
    assert result["ort_over_eager"] == pytest.approx(
        result["ort_ms"]["median_ms"] / result["eager_ms"]["median_ms"], rel=2e-2
    )


def test_measure_an_onnx_file_from_elsewhere(tmp_path):
    conv = torch.nn.Conv2d(3, 4, 3, padding=1)
    (tmp_path / "conv.onnx").write_bytes(export_module(conv, (torch.randn(1, 3, 8, 8),), ["x"], ["y"]))
    result = measure_network(tmp_path / "conv.onnx", batch=2, runs=3, warmup=1, rounds=1)
    assert "eager_ms" not in result and result["ort_ms"]["count"] == 3
    assert result["batch"] == 2 and result["input_shape"] == [3, 8, 8] and result["desc_hash"] is None


def test_cli_measure(small_desc, tmp_path, capsys):
    save_desc(small_desc, tmp_path / "final.yaml")
    export_onnx(small_desc, tmp_path / "m.onnx")
    for source in ("m.onnx", "final.yaml"):
        argv = ["measure", str(tmp_path / source), "--runs", "3", "--warmup", "1", "--threads", "2", "--json"]
        assert main(argv) == 0
        out = json.loads(capsys.readouterr().out)
        assert out["env"]["threads"] == 2 and out["eager_ms"]["count"] == out["ort_ms"]["count"] == 3
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    assert main(["measure", str(tmp_path / "junk.onnx")]) == 2
    assert "junk.onnx: not an ONNX model" in capsys.readouterr().err
    (tmp_path / "empty.onnx").write_bytes(b"")  # parses as an empty ModelProto: onnxruntime raised its own error
    assert main(["measure", str(tmp_path / "empty.onnx")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.endswith("empty.onnx: not an ONNX model (no graph)")
