"""Training curves and best-so-far curves draw exactly the numbers of the files they read."""

from __future__ import annotations

import itertools
import json

from descgraph.cli import main
from descgraph.viz._figure import pyplot
from descgraph.viz.curves import plot_best_so_far, plot_curves, stage_metrics


def _lines_of_last_figure(monkeypatch, draw) -> dict[str, list]:
    """Draw, keeping the figure open, and return {axes ylabel / line label: ydata}."""
    plt = pyplot()
    monkeypatch.setattr(plt, "close", lambda fig: None)
    draw()
    fig = plt.gcf()
    lines = {f"{ax.get_ylabel()} / {line.get_label()}": list(line.get_ydata()) for ax in fig.axes for line in ax.lines}
    plt.close("all")
    return lines


def test_curves_are_the_metrics_of_each_stage(synthetic_expdir, monkeypatch):
    records = {s: [json.loads(x) for x in (synthetic_expdir / s / "metrics.jsonl").read_text().splitlines()]
               for s in ("search", "eval")}  # fmt: skip
    lines = _lines_of_last_figure(monkeypatch, lambda: plot_curves(stage_metrics(synthetic_expdir)))
    assert lines["loss / search train"] == [r["train_loss"] for r in records["search"]]
    assert lines["top-1 (%) / search val"] == [r["val_top1"] for r in records["search"]]
    assert lines["top-1 (%) / eval test"] == [r["val_top1"] for r in records["eval"]]  # eval validates on test
    assert len(lines) == 8


def test_best_so_far_is_the_running_maximum(monkeypatch):
    runs = {"seed 0": [0.3, 0.1, 0.5, 0.4, 0.7], "seed 1": [0.2, 0.6, 0.6, 0.1, 0.2]}
    lines = _lines_of_last_figure(monkeypatch, lambda: plot_best_so_far(runs, baseline={"random": [0.1, 0.2, 0.1]}))
    for label, results in runs.items():
        assert lines[f"best score so far / {label}"] == list(itertools.accumulate(results, max))
    assert lines["best score so far / random"] == [0.1, 0.2, 0.2]


def test_plot_curves_of_an_experiment_folder(synthetic_expdir, tmp_path):
    out = tmp_path / "curves.png"
    assert main(["plot", str(synthetic_expdir), "--curves", "-o", str(out)]) == 0
    assert out.read_bytes().startswith(b"\x89PNG")
