"""The accuracy-cost Pareto front of a search, as YAML and as a PNG plot."""

from __future__ import annotations

from pathlib import Path

import yaml

from algos.bignas.search import SearchOutcome
from descgraph._files import atomic_write_text
from descgraph.viz.pareto import DevicePick, plot_pareto_front


def write_pareto_yaml(outcome: SearchOutcome, path: Path, cost: str) -> None:
    """The front (cheapest first) with each child's config, accuracy and costs."""
    data = {"cost": cost, "front": [c.to_dict() for c in outcome.pareto]}
    atomic_write_text(path, yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=120))


def plot_pareto(outcome: SearchOutcome, path: Path, cost: str, unit: str) -> None:
    """Every evaluated child, the front, each device's pick and budget on `cost` (descgraph.viz draws them)."""
    picks = [
        DevicePick(d.name, (d.pick.costs[cost], d.pick.accuracy), d.constraints.get(cost))
        for d in outcome.devices
        if d.pick is not None
    ]
    plot_pareto_front(
        [(c.costs[cost], c.accuracy) for c in outcome.evaluated],
        [(c.costs[cost], c.accuracy) for c in outcome.pareto],
        picks,
        f"{cost} ({unit})" if unit else cost,
        path,
    )
