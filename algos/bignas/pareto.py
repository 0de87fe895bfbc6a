"""The accuracy-cost Pareto front of a search, as YAML and as a PNG plot."""

from __future__ import annotations

from pathlib import Path

import yaml

from algos.bignas.search import SearchOutcome
from descgraph._files import atomic_write_text


def write_pareto_yaml(outcome: SearchOutcome, path: Path, cost: str) -> None:
    """The front (cheapest first) with each child's config, accuracy and costs."""
    data = {"cost": cost, "front": [c.to_dict() for c in outcome.pareto]}
    atomic_write_text(path, yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=120))


def plot_pareto(outcome: SearchOutcome, path: Path, cost: str, unit: str) -> None:
    """Every evaluated child (grey), the front (line), each device's pick and budget on `cost` (dashed)."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    try:
        ax.scatter([c.costs[cost] for c in outcome.evaluated], [c.accuracy for c in outcome.evaluated],
                   s=10, c="0.7", label="evaluated children")  # fmt: skip
        front = outcome.pareto
        ax.plot([c.costs[cost] for c in front], [c.accuracy for c in front], "-o", ms=4, label="Pareto front")
        for i, device in enumerate(d for d in outcome.devices if d.pick is not None):
            color = f"C{i + 1}"
            ax.scatter([device.pick.costs[cost]], [device.pick.accuracy], marker="*", s=160, color=color,
                       zorder=3, label=f"{device.name} pick")  # fmt: skip
            if cost in device.constraints:
                ax.axvline(device.constraints[cost], color=color, ls="--", lw=1)
        ax.set_xlabel(f"{cost} ({unit})" if unit else cost)
        ax.set_ylabel("validation accuracy (%)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp.png")
        fig.savefig(tmp, dpi=100)
        tmp.replace(path)
    finally:
        plt.close(fig)
