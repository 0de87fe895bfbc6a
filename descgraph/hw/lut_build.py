"""Building a lookup table for a search space, and checking its predictions against whole networks."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from descgraph.conf import Conf, dump_conf
from descgraph.desc import ModelDesc
from descgraph.hw.latency import environment, measure_side_by_side, ort_session, session_runner
from descgraph.hw.lut import LatencyTable, LutError, load_table, make_entry, measure_run_overhead, predict_latency
from descgraph.hw.lut_space import get_lut_space

log = logging.getLogger("descgraph")
SAVE_EVERY = 10  # entries between atomic saves: a killed build loses at most this many measurements


def build_table(
    conf: Conf,
    output: str | os.PathLike,
    *,
    batch: int = 1,
    threads: int = 1,
    runs: int = 200,
    resume: bool = True,
    progress: bool | None = None,
) -> LatencyTable:
    """Measure every block of the conf's search space at its eval macro into a table saved at `output`.

    The table is saved as it grows; with `resume`, entries already in `output` (same space, batch and
    threads) are kept and only the missing ones are measured.
    """
    from descgraph.hw.lut import save_table

    space = get_lut_space(conf)
    table = _start_table(space.name(), dump_conf(conf), output, batch, threads, resume)
    blocks = [b for b in space.blocks() if b.key() not in table.entries]
    if table.run_overhead_ms == 0.0:
        table.run_overhead_ms = measure_run_overhead(_input_shape(conf), batch, threads)
    with tqdm(blocks, desc="lut build", disable=None if progress is None else not progress, leave=False) as bar:
        for i, block in enumerate(bar):
            table.entries[block.key()] = make_entry(block.kind, block.op, block.in_shapes, batch, threads, runs)
            if (i + 1) % SAVE_EVERY == 0:
                save_table(table, output)
    save_table(table, output)
    log.info("lut build: %d entries in %s", len(table.entries), output)
    return table


def _input_shape(conf: Conf) -> list[int]:
    ds = conf.nas.eval.model_desc.dataset
    return [ds.channels, ds.image_size, ds.image_size]


def _start_table(space: str, conf_yaml: str, output, batch: int, threads: int, resume: bool) -> LatencyTable:
    """The partial table at `output` when it fits, else an empty one."""
    if resume and Path(output).exists():
        table = load_table(output)
        if (table.space, table.batch, table.threads) == (space, batch, threads):
            return table
        log.warning("lut build: %s was made for other settings; starting over", output)
    return LatencyTable(space=space, conf=conf_yaml, batch=batch, threads=threads, env=environment(threads))


def measure_desc_latency(desc: ModelDesc, batch: int = 1, threads: int = 1, runs: int = 200) -> float:
    """Median onnxruntime latency (ms) of a whole network, inputs and outputs bound as deployed."""
    from descgraph.export import export_desc

    session = ort_session(export_desc(desc, verify=False).data, threads)
    x = np.random.default_rng(0).standard_normal([batch, *desc.input_shape], dtype=np.float32)
    stats = measure_side_by_side({"net": session_runner(session, [x])}, runs, warmup=20, rounds=1, threads=threads)
    return stats["net"].median_ms


def table_conf(table: LatencyTable) -> Conf:
    """The conf a table was built from."""
    from descgraph.conf.schema import Conf as ConfSchema
    from descgraph.desc.io import yaml_safe_load

    if not table.conf:
        raise LutError(f"table for {table.space!r} does not record its conf; it cannot sample its space")
    return ConfSchema.model_validate(yaml_safe_load(table.conf, "table conf"))


def evaluate_table(
    table: LatencyTable, samples: int = 50, seed: int = 0, runs: int = 200, progress: bool | None = None
) -> dict[str, Any]:
    """Predicted against measured latency on `samples` random networks of the table's space.

    Returns:
        kendall_tau, within_10pct (share of predictions within +-10 % of the measurement),
        mean_abs_pct_error, and each network's hash, prediction and measurement.
    """
    from scipy.stats import kendalltau

    space = get_lut_space(table_conf(table))
    rows = []
    for i in tqdm(range(samples), desc="lut eval", disable=None if progress is None else not progress, leave=False):
        desc = space.sample(seed + i)
        predicted = predict_latency(table, desc)
        measured = measure_desc_latency(desc, table.batch, table.threads, runs)
        rows.append({"hash": desc.hash()[:12], "predicted_ms": round(predicted, 4), "measured_ms": round(measured, 4)})
    pred = np.array([r["predicted_ms"] for r in rows])
    meas = np.array([r["measured_ms"] for r in rows])
    err = (pred - meas) / meas
    return {
        "samples": samples,
        "kendall_tau": round(float(kendalltau(pred, meas).statistic), 4),
        "within_10pct": round(float(np.mean(np.abs(err) <= 0.10)), 4),
        "mean_abs_pct_error": round(float(np.mean(np.abs(err)) * 100), 3),
        "mean_pct_error": round(float(np.mean(err) * 100), 3),
        "measured_ms_range": [round(float(meas.min()), 4), round(float(meas.max()), 4)],
        "threads": table.threads,
        "batch": table.batch,
        "networks": rows,
    }
