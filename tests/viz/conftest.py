"""An experiment folder written without training: DARTS_V2 as the final description, made-up metrics and alphas."""

from __future__ import annotations

import json

import numpy as np
import pytest

from descgraph.builders import build_from_genotype, get_builder
from descgraph.conf import dump_conf, load_conf, resolve_conf_path
from descgraph.desc import save_desc
from descgraph.desc.genotype import parse_genotype

EPOCHS = 3


def _alpha_records(supernet, rng) -> list[dict]:
    owners = [c for c in supernet.cell_descs if c.trainables_from == c.id]
    records = []
    for epoch in range(EPOCHS):
        cells = []
        for cell in owners:
            edges = []
            for j, node in enumerate(cell.nodes):
                for k, edge in enumerate(node.edges):
                    logits = rng.normal(size=len(edge.op_desc.children))
                    weights = np.exp(logits) / np.exp(logits).sum()
                    ops = [c.name for c in edge.op_desc.children]
                    edges.append({"node": j, "edge": k, "input_ids": edge.input_ids, "ops": ops,
                                  "weights": weights.tolist()})  # fmt: skip
            cells.append({"cell": cell.id, "cell_type": cell.cell_type.value, "edges": edges})
        records.append({"epoch": epoch, "cells": cells})
    return records


def _metrics(title: str, rng) -> list[dict]:
    return [{"title": title, "epoch": e, "train_loss": 2.0 / (e + 1), "train_top1": 30.0 + 20 * e,
             "val_loss": 2.1 / (e + 1), "val_top1": 25.0 + 20 * e + rng.uniform()} for e in range(EPOCHS)]  # fmt: skip


def _write_jsonl(path, records) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


@pytest.fixture(scope="module")
def synthetic_expdir(tmp_path_factory):
    """A darts_digits-shaped experiment folder: conf, summary, search and eval metrics, alphas, final cells."""
    from descgraph._plugins import load_plugins

    load_plugins()
    expdir = tmp_path_factory.mktemp("expdir") / "darts_digits"
    conf = load_conf([resolve_conf_path("darts_digits")])
    md = conf.nas.search.model_desc
    rng = np.random.default_rng(0)
    (expdir / "search").mkdir(parents=True)
    (expdir / "conf.yaml").write_text(dump_conf(conf))
    save_desc(build_from_genotype(parse_genotype("DARTS_V2"), md), expdir / "search" / "final_model_desc.yaml")
    _write_jsonl(expdir / "search" / "alphas.jsonl", _alpha_records(get_builder(md.builder).build(md), rng))
    _write_jsonl(expdir / "search" / "metrics.jsonl", _metrics("search", rng))
    _write_jsonl(expdir / "eval" / "metrics.jsonl", _metrics("eval", rng))
    summary = {"algo": "darts", "seed": 2, "eval": {"test_top1": 98.5, "params": 123456, "macs": 7890123}}
    (expdir / "summary.json").write_text(json.dumps(summary))
    return expdir
