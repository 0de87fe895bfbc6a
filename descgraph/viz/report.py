"""The experiment report: one self-contained HTML page (images embedded as base64, nothing fetched).

It holds what the experiment folder has: the summary, the headline numbers (accuracy, parameters, MACs,
latency when measured), the training curves, the final cells, the alpha plots or the Pareto front,
the trials of a discrete search, and the effective conf. A part whose files are missing is left out;
a part whose file is malformed shows its one-line error instead.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from descgraph._files import atomic_write_text
from descgraph.desc import load_desc
from descgraph.errors import DataError, DescgraphError
from descgraph.viz._figure import read_json, read_jsonl
from descgraph.viz.alphas import alpha_tables, load_alphas, plot_alphas
from descgraph.viz.curves import plot_best_so_far, plot_curves, stage_metrics
from descgraph.viz.diagrams import plot_desc

log = logging.getLogger("descgraph")

REPORT = "report.html"
HEADLINE_KEYS = ("test_top1", "val_top1", "params", "params_with_aux", "macs", "flops", "latency_ms", "wall_s")
STYLE = """
body { font-family: sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; border-bottom: 1px solid #ccc; margin-top: 1.6em; }
table { border-collapse: collapse; font-size: 0.9em; } td, th { border: 1px solid #ddd; padding: 2px 8px; }
th { background: #f4f4f4; text-align: left; } td.num { text-align: right; font-family: monospace; }
img { max-width: 100%; } pre { background: #f8f8f8; padding: 0.8em; overflow-x: auto; font-size: 0.8em; }
p.error { color: #a00; }
"""


def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _flatten(data: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Nested dicts as (dotted key, value) rows."""
    if not isinstance(data, dict):
        return [(prefix, data)]
    rows = []
    for key, value in data.items():
        rows += _flatten(value, f"{prefix}.{key}" if prefix else str(key))
    return rows


def _table(rows: list[tuple[str, Any]]) -> str:
    def cell(v: Any) -> str:
        text = f"{v:.6g}" if isinstance(v, float) else json.dumps(v) if isinstance(v, (list, dict)) else str(v)
        return f'<td class="num">{html.escape(text)}</td>'

    body = "".join(f"<tr><th>{html.escape(k)}</th>{cell(v)}</tr>" for k, v in rows)
    return f"<table>{body}</table>"


def _headline(summary: dict[str, Any]) -> str:
    rows = [(k, v) for k, v in _flatten(summary) if k.rsplit(".", 1)[-1] in HEADLINE_KEYS]
    return _table(rows) if rows else ""


def _final_descs(expdir: Path) -> dict[str, Path]:
    """The final descriptions of a run: search's, or one per BigNAS device."""
    found = {"final description": expdir / "search" / "final_model_desc.yaml"}
    found.update({f"{p.parent.name} child": p for p in sorted((expdir / "final").glob("*/model_desc.yaml"))})
    return {title: path for title, path in found.items() if path.exists()}


def _cells(expdir: Path) -> str:
    return "".join(
        f"<h3>{html.escape(title)}</h3>{_img(plot_desc(load_desc(path)), f'cells of {title}')}"
        for title, path in _final_descs(expdir).items()
    )


def _curves(expdir: Path) -> str:
    stages = stage_metrics(expdir)
    return _img(plot_curves(stages), "training curves") if stages else ""


def _alphas(expdir: Path) -> str:
    path = expdir / "search" / "alphas.jsonl"
    if not path.exists():
        return ""
    final = expdir / "search" / "final_model_desc.yaml"
    tables = alpha_tables(load_alphas(path), load_desc(final) if final.exists() else None)
    return _img(plot_alphas(tables), "architecture weights") if tables else ""


def _pareto(expdir: Path) -> str:
    path = expdir / "search" / "pareto.png"
    return _img(path.read_bytes(), "Pareto front") if path.exists() else ""


def _trials(expdir: Path) -> str:
    trials = read_jsonl(expdir / "search" / "trials.jsonl")
    # a fidelity schedule's rung lines (no "trial" key) are the same candidates at fewer epochs
    results = [float(t["result"]) for t in trials if "result" in t and ("trial" in t or "rung" not in t)]
    return _img(plot_best_so_far({"search": results}, ylabel="best search-val score"), "trials") if results else ""


def _conf(expdir: Path) -> str:
    path = expdir / "conf.yaml"
    if not path.exists():
        return ""
    return f"<details><summary>conf.yaml</summary><pre>{html.escape(path.read_text())}</pre></details>"


SECTIONS: list[tuple[str, Callable[[Path], str]]] = [
    ("Training curves", _curves),
    ("Cells", _cells),
    ("Architecture weights", _alphas),
    ("Pareto front", _pareto),
    ("Trials", _trials),
    ("Effective conf", _conf),
]


def _section(title: str, make: Callable[[Path], str], expdir: Path) -> str:
    try:
        body = make(expdir)
    except DescgraphError as e:
        body = f'<p class="error">{html.escape(str(e))}</p>'
    return f"<h2>{html.escape(title)}</h2>{body}" if body else ""


def render_report(expdir: str | Path) -> str:
    """The report page of an experiment folder, as HTML text."""
    expdir = Path(expdir)
    if not expdir.is_dir():
        raise DataError(f"{expdir}: not an experiment folder")
    summary = read_json(expdir / "summary.json")
    title = f"{expdir.name}: {summary.get('algo', 'experiment')}"
    parts = [f"<h1>{html.escape(title)}</h1>"]
    if summary:
        parts += ["<h2>Summary</h2>", _headline(summary), "<details><summary>all numbers</summary>",
                  _table(_flatten(summary)), "</details>"]  # fmt: skip
    parts += [_section(t, make, expdir) for t, make in SECTIONS]
    head = f'<meta charset="utf-8"><title>{html.escape(title)}</title><style>{STYLE}</style>'
    return f"<!DOCTYPE html>\n<html><head>{head}</head><body>{''.join(parts)}</body></html>\n"


def write_report(expdir: str | Path) -> Path:
    """Write `expdir/report.html` atomically; returns its path."""
    start = time.perf_counter()
    path = Path(expdir) / REPORT
    atomic_write_text(path, render_report(expdir))
    log.info("report: %s written in %.2f s", path, time.perf_counter() - start)
    return path
