"""Pictures of descriptions and experiment folders: cell diagrams, alpha evolution, curves, Pareto, the report.

Everything here reads descriptions and files (metrics.jsonl, alphas.jsonl, summary.json); nothing imports
torch. Figures are drawn with matplotlib's Agg backend, so no display is needed.
"""

from __future__ import annotations

from descgraph.viz.alphas import AlphaTable, alpha_tables, load_alphas, plot_alphas
from descgraph.viz.curves import plot_best_so_far, plot_curves, plot_strategies
from descgraph.viz.diagrams import Diagram, desc_diagrams, plot_desc
from descgraph.viz.pareto import plot_pareto_front
from descgraph.viz.report import write_report

__all__ = [
    "AlphaTable",
    "Diagram",
    "alpha_tables",
    "desc_diagrams",
    "load_alphas",
    "plot_alphas",
    "plot_best_so_far",
    "plot_strategies",
    "plot_curves",
    "plot_desc",
    "plot_pareto_front",
    "write_report",
]
