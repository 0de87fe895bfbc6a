"""Loads algorithms that register themselves through the `descgraph.algos` entry-point group."""

from __future__ import annotations

from importlib.metadata import entry_points

_loaded = False


def load_plugins() -> None:
    """Import every `descgraph.algos` entry point once, so their ops, builders and runners register."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for ep in entry_points(group="descgraph.algos"):
        ep.load()
