"""SearchCombinations: one search per (reductions, cells, nodes) macro, the best by search-val accuracy kept.

Each combination searches in its own folder (search/r{R}_c{C}_n{N}/) with its own checkpoint, so an
interrupted sweep resumes where it stopped; the table of results goes to search/combinations.jsonl.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from descgraph._files import atomic_write_text
from descgraph._json import json_text
from descgraph.builders import ModelDescBuilder
from descgraph.nas._common import save_checked_desc
from descgraph.nas.finalizers import Finalizers
from descgraph.nas.searcher import Searcher, SearchResult
from descgraph.train import Trainer


class SearchCombinations(Searcher):
    """Sweeps the macro combinations of `nas.search.combinations`."""

    def combinations(self) -> list[tuple[int, int, int]]:
        """Every (n_reductions, n_cells, n_nodes) to search, the conf's value where a list is empty."""
        md, sweep = self.conf.nas.search.model_desc, self.conf.nas.search.combinations
        return list(
            itertools.product(
                sweep.reductions or [md.n_reductions], sweep.cells or [md.n_cells], sweep.nodes or [md.cell.n_nodes]
            )
        )

    def search(
        self, builder: ModelDescBuilder, trainer_class: type[Trainer] | None, finalizers: Finalizers, loaders=None
    ) -> SearchResult:
        results, rows = [], []
        for r, c, n in self.combinations():
            conf = self.conf.model_copy(deep=True)
            md = conf.nas.search.model_desc
            md.n_reductions, md.n_cells, md.cell.n_nodes = r, c, n
            result = Searcher(conf, self.dirpath / f"r{r}_c{c}_n{n}").search(
                builder, trainer_class, finalizers, loaders
            )
            results.append(result)
            rows.append({"reductions": r, "cells": c, "nodes": n, **result.summary()})
        atomic_write_text(self.dirpath / "combinations.jsonl", "".join(json_text(row) + "\n" for row in rows))
        best = max(results, key=lambda res: res.search_metrics.get("val_top1", float("-inf")))
        save_checked_desc(best.model_desc, Path(self.dirpath) / "final_model_desc.yaml")
        return best
