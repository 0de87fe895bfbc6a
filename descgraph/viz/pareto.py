"""The accuracy-cost Pareto front of a multi-objective search, each device's pick and budget marked."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from descgraph.viz._figure import figure, png_bytes, save_figure

Point = tuple[float, float]  # (cost, accuracy)


@dataclass
class DevicePick:
    """A device's chosen child and its budget on the plotted cost (None when it has none on that cost)."""

    name: str
    pick: Point
    budget: float | None = None


def plot_pareto_front(
    evaluated: Sequence[Point],
    front: Sequence[Point],
    picks: Sequence[DevicePick],
    xlabel: str,
    path: str | Path | None = None,
):
    """Every evaluated child (grey), the front (line), each device's pick (star) and budget (dashed).

    Writes `path` (PNG, SVG or PDF by suffix), else returns PNG bytes.
    """
    with figure(figsize=(6.4, 4.4)) as (fig, ax):
        ax.scatter([c for c, _ in evaluated], [a for _, a in evaluated], s=10, c="0.7", label="evaluated children")
        ax.plot([c for c, _ in front], [a for _, a in front], "-o", ms=4, label="Pareto front")
        for i, device in enumerate(picks):
            color = f"C{i + 1}"
            ax.scatter([device.pick[0]], [device.pick[1]], marker="*", s=160, color=color, zorder=3,
                       label=f"{device.name} pick")  # fmt: skip
            if device.budget is not None:
                ax.axvline(device.budget, color=color, ls="--", lw=1)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("validation accuracy (%)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
        fig.tight_layout()
        return save_figure(fig, path) if path is not None else png_bytes(fig)
