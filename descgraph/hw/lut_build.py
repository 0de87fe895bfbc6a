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
from descgraph.hw.lut import LatencyTable, LutError, entry_block, load_table, predict_latency
from descgraph.hw.lut_measure import block_runners, entries_from, measure_blocks, measure_run_overhead
from descgraph.hw.lut_space import get_lut_space

log = logging.getLogger("descgraph")
CHUNK = 64  # blocks timed round-robin together, then saved: a killed build loses at most one chunk


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
    chunks = [blocks[i : i + CHUNK] for i in range(0, len(blocks), CHUNK)]
    with tqdm(total=len(blocks), desc="lut build", disable=None if progress is None else not progress) as bar:
        for chunk in chunks:
            table.entries.update(measure_blocks(chunk, batch, threads, runs))
            save_table(table, output)
            bar.update(len(chunk))
    save_table(table, output)
    log.info("lut build: %d entries in %s", len(table.entries), output)
    return table


def _input_shape(conf: Conf) -> list[int]:
    ds = conf.nas.eval.model_desc.dataset
    return [ds.channels, ds.image_size, ds.image_size]


def _start_table(space: str, conf_yaml: str, output, batch: int, threads: int, resume: bool) -> LatencyTable:
    """The partial table at `output` when resuming and there is one, else an empty one.

    Raises:
        LutError: `output` holds a table made for another space, batch or thread count (it is left as it was).
    """
    if resume and Path(output).exists():
        table = load_table(output)
        ours = {"space": space, "batch": batch, "threads": threads}
        differs = [f"{k} {getattr(table, k)!r} (this build: {v!r})" for k, v in ours.items() if getattr(table, k) != v]
        if differs:
            raise LutError(
                f"{output}: a table made for {', '.join(differs)}; give another -o, or --fresh to replace it"
            )
        return table
    return LatencyTable(space=space, conf=conf_yaml, batch=batch, threads=threads, env=environment(threads))


def network_runner(desc: ModelDesc, batch: int = 1, threads: int = 1):
    """A call running the whole network of `desc` once in onnxruntime, inputs and outputs bound as deployed."""
    from descgraph.export import export_desc

    session = ort_session(export_desc(desc, verify=False).data, threads)
    x = np.random.default_rng(0).standard_normal([batch, *desc.input_shape], dtype=np.float32)
    return session_runner(session, [x])


def measure_desc_latency(desc: ModelDesc, batch: int = 1, threads: int = 1, runs: int = 200) -> float:
    """Median onnxruntime latency (ms) of a whole network, as the tables measure blocks."""
    runner = {"net": network_runner(desc, batch, threads)}
    return measure_side_by_side(runner, runs, warmup=20, rounds=1, threads=threads)["net"].median_ms


def table_conf(table: LatencyTable, source: str = "table") -> Conf:
    """The conf a table was built from; `source` (the table's file) names it in a LutError."""
    from pydantic import ValidationError

    from descgraph._files import validation_message, yaml_safe_load
    from descgraph.conf.schema import Conf as ConfSchema

    if not table.conf:
        raise LutError(
            f"{source}: conf: the table for {table.space!r} does not record its conf; it cannot sample its space"
        )
    try:
        return ConfSchema.model_validate(yaml_safe_load(table.conf, f"{source}: conf", LutError))
    except ValidationError as e:
        raise LutError(validation_message(e, f"{source}: conf")) from None


PROBES = 16  # table entries timed again beside the networks, to tell how the machine's speed moved


def evaluate_table(
    table: LatencyTable, samples: int = 50, seed: int = 0, runs: int = 200, progress: bool | None = None
) -> dict[str, Any]:
    """Predicted against measured latency on `samples` random networks of the table's space.

    The slowest `PROBES` blocks of the table are timed again, round-robin with the networks: the median
    of their new latency over the table's is how much faster or slower the machine runs now than when
    the table was built (a shared machine drifts by several percent within minutes). Figures "at the
    current speed" scale the predictions by it.

    Returns:
        kendall_tau, within_10pct (share of predictions within +-10 % of the measurement),
        mean_abs_pct_error, mean_pct_error, speed_vs_table and the same errors at the current speed,
        and each network's hash, prediction and measurement.
    """
    space = get_lut_space(table_conf(table))
    descs = [space.sample(seed + i) for i in range(samples)]
    bar = tqdm(descs, desc="lut eval: export", disable=None if progress is None else not progress, leave=False)
    runners = {str(i): network_runner(desc, table.batch, table.threads) for i, desc in enumerate(bar)}
    probe_entries = sorted((e for e in table.entries.values() if e.kind == "op"), key=lambda e: -e.latency_ms)
    probe_runners, prepared = block_runners(
        [entry_block(e) for e in probe_entries[:PROBES]], table.batch, table.threads, prefix="probe"
    )
    stats = measure_side_by_side({**runners, **probe_runners}, runs, warmup=20, rounds=10, threads=table.threads)
    again = entries_from(prepared, stats, prefix="probe")
    speed = float(np.median([again[k].latency_ms / table.entries[k].latency_ms for k in again]))
    pred = np.array([predict_latency(table, desc) for desc in descs])
    meas = np.array([stats[str(i)].median_ms for i in range(samples)])
    rows = [
        {"hash": d.hash()[:12], "predicted_ms": round(float(p), 4), "measured_ms": round(float(m), 4)}
        for d, p, m in zip(descs, pred, meas)
    ]
    now = agreement(pred * speed, meas)
    return {
        "samples": samples,
        **agreement(pred, meas),
        "speed_vs_table": round(speed, 4),
        **{f"{k}_at_current_speed": v for k, v in now.items() if k != "kendall_tau"},
        "measured_ms_range": [round(float(meas.min()), 4), round(float(meas.max()), 4)],
        "threads": table.threads,
        "batch": table.batch,
        "networks": rows,
    }


def agreement(pred: np.ndarray, meas: np.ndarray) -> dict[str, float]:
    """Kendall's tau, share within +-10 %, mean absolute and mean signed % error of `pred` against `meas`."""
    from scipy.stats import kendalltau

    err = (pred - meas) / meas
    return {
        "kendall_tau": round(float(kendalltau(pred, meas).statistic), 4),
        "within_10pct": round(float(np.mean(np.abs(err) <= 0.10)), 4),
        "mean_abs_pct_error": round(float(np.mean(np.abs(err)) * 100), 3),
        "mean_pct_error": round(float(np.mean(err) * 100), 3),
    }
