"""Training curves from metrics.jsonl (loss and top-1 per stage) and best-so-far curves of discrete searches."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from descgraph.errors import DataError
from descgraph.viz._figure import figure, png_bytes, read_jsonl, save_figure


def stage_metrics(expdir: str | Path) -> dict[str, list[dict[str, Any]]]:
    """{stage: per-epoch records} for the stages of an experiment folder that wrote metrics.jsonl."""
    expdir = Path(expdir)
    stages = {s: read_jsonl(expdir / s / "metrics.jsonl") for s in ("search", "eval")}
    return {s: records for s, records in stages.items() if records}


def plot_curves(stages: Mapping[str, list[dict[str, Any]]], path: str | Path | None = None):
    """Loss (left) and top-1 (right) against epoch, train and val of every stage; writes `path`, else PNG bytes."""
    if not stages:
        raise DataError("no training metrics to draw (no metrics.jsonl)")
    with figure(1, 2, figsize=(10, 3.6)) as (fig, (loss, top1)):
        for i, (stage, records) in enumerate(stages.items()):
            epochs = [r["epoch"] + 1 for r in records]
            for split, style in (("train", "-"), ("val", "--")):
                name = "test" if stage == "eval" and split == "val" else split  # the eval stage validates on test
                for ax, metric in ((loss, "loss"), (top1, "top1")):
                    values = [r.get(f"{split}_{metric}") for r in records]
                    if all(v is not None for v in values):
                        ax.plot(epochs, values, style, color=f"C{i}", marker="o", ms=3, label=f"{stage} {name}")
        for ax, name in ((loss, "loss"), (top1, "top-1 (%)")):
            ax.set_xlabel("epoch")
            ax.xaxis.get_major_locator().set_params(integer=True)
            ax.set_ylabel(name)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
        fig.tight_layout()
        return save_figure(fig, path) if path is not None else png_bytes(fig)


def best_so_far(results: Sequence[float]) -> list[float]:
    """The running maximum of results (higher is better)."""
    best, out = float("-inf"), []
    for r in results:
        best = max(best, r)
        out.append(best)
    return out


def plot_best_so_far(
    runs: Mapping[str, Sequence[float]],
    path: str | Path | None = None,
    baseline: Mapping[str, Sequence[float]] | None = None,
    ylabel: str = "best score so far",
):
    """One best-so-far line per run (e.g. per seed) over trials; baseline runs (random search) in grey.

    Over 12 runs, each is a thin line of one colour and their mean (label "mean") is drawn bold.
    """
    many = len(runs) > 12
    with figure(figsize=(6.4, 4.0)) as (fig, ax):
        for label, results in (baseline or {}).items():
            ax.plot(range(1, len(results) + 1), best_so_far(results), color="0.3", lw=1.6, ls="--", label=label)
        curves = {label: best_so_far(results) for label, results in runs.items()}
        for i, (label, curve) in enumerate(curves.items()):
            style = {"color": "C0", "lw": 0.6, "alpha": 0.25} if many else {"color": f"C{i % 10}", "lw": 1.2}
            ax.plot(range(1, len(curve) + 1), curve, label=label, **style)
        if many:
            mean = _mean_curve(list(curves.values()))
            ax.plot(range(1, len(mean) + 1), mean, color="C3", lw=2.0, label="mean")
        ax.set_xlabel("trial")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        shown = [h for h in ax.get_lines() if not many or h.get_label() not in curves]
        ax.legend(handles=shown, fontsize=7)
        fig.tight_layout()
        return save_figure(fig, path) if path is not None else png_bytes(fig)


def plot_strategies(
    runs: Mapping[str, Sequence[Sequence[float]]],
    path: str | Path | None = None,
    baseline: Mapping[str, Sequence[float]] | None = None,
    ylabel: str = "best score so far",
):
    """Each strategy's mean best-so-far over its seeds against queries, its interquartile band shaded, beside
    baseline curves (random search's expectation) in grey, on one figure.

    Args:
        runs: strategy -> one result list per seed (the search metric of each query, in order).
    """
    if not runs or not any(runs.values()):
        raise DataError("no searches to draw")
    with figure(figsize=(6.4, 4.0)) as (fig, ax):
        for label, results in (baseline or {}).items():
            ax.plot(range(1, len(results) + 1), best_so_far(results), color="0.3", lw=1.6, ls="--", label=label)
        for i, (label, seeds) in enumerate(runs.items()):
            curves = [best_so_far(results) for results in seeds if results]
            if not curves:
                continue
            length = max(len(c) for c in curves)
            at = [sorted(c[min(t, len(c) - 1)] for c in curves) for t in range(length)]
            x = range(1, length + 1)
            ax.fill_between(x, [_quantile(v, 0.25) for v in at], [_quantile(v, 0.75) for v in at], color=f"C{i % 10}",
                            alpha=0.15, lw=0)  # fmt: skip
            ax.plot(x, _mean_curve(curves), color=f"C{i % 10}", lw=1.6, label=f"{label} (mean of {len(curves)})")
        ax.set_xlabel("queries")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        fig.tight_layout()
        return save_figure(fig, path) if path is not None else png_bytes(fig)


def _quantile(sorted_values: list[float], q: float) -> float:
    """The q-quantile of sorted values, interpolated linearly (numpy's default)."""
    pos = q * (len(sorted_values) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def _mean_curve(curves: list[list[float]]) -> list[float]:
    """The mean over curves at each trial, as long as the longest; a finished curve keeps its last value."""
    length = max(len(c) for c in curves)
    return [sum(c[min(t, len(c) - 1)] for c in curves) / len(curves) for t in range(length)]
