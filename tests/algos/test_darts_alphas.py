"""DARTS records its architecture weights each search epoch (search/alphas.jsonl): complete, normalized,
equal to the softmax of the alphas in the checkpoint, unchanged by a kill and resume, and the heatmap
marks exactly the ops the finalizer kept."""

from __future__ import annotations

import math
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from descgraph.cli import main
from descgraph.desc import load_desc
from descgraph.viz import alpha_tables, load_alphas
from descgraph.viz._figure import figure
from descgraph.viz.alphas import draw_heatmap, last_weights
from descgraph.viz.diagrams import desc_diagrams

EPOCHS, NODES = 3, 2
ARGV = ["run", "darts_digits", f"nas.search.trainer.epochs={EPOCHS}", "nas.search.trainer.checkpoint_freq=1",
        "dataset.max_batches=3", "nas.search.model_desc.n_cells=3", "nas.search.model_desc.n_reductions=1",
        f"nas.search.model_desc.cell.n_nodes={NODES}", "--no-eval"]  # fmt: skip


def _check_records(records: list[dict]) -> None:
    assert [r["epoch"] for r in records] == list(range(EPOCHS))
    for record in records:
        assert [c["cell_type"] for c in record["cells"]] == ["regular", "reduction"]  # one per shared set of alphas
        for cell in record["cells"]:
            assert len(cell["edges"]) == sum(2 + j for j in range(NODES))  # node j reads the 2 + j states before it
            for edge in cell["edges"]:
                assert math.isclose(math.fsum(edge["weights"]), 1.0, abs_tol=1e-12)


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    expdir = tmp_path_factory.mktemp("darts") / "run"
    cmd = [sys.executable, "-m", "descgraph.cli", *ARGV, "--expdir", str(expdir)]
    subprocess.run(cmd, check=True, capture_output=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    return expdir


@pytest.mark.slow
def test_alphas_are_the_softmax_of_the_checkpointed_alphas(searched):
    records = load_alphas(searched / "search" / "alphas.jsonl")
    _check_records(records)
    state = torch.load(searched / "search" / "checkpoint.pt", weights_only=True)["model"]
    for cell in records[-1]["cells"]:
        for edge in cell["edges"]:
            alphas = state[f"cells.{cell['cell']}.dag.{edge['node']}.{edge['edge']}.op.arch_params.alphas"]
            expected = torch.softmax(alphas.double(), dim=-1).tolist()
            assert edge["weights"] == pytest.approx(expected, rel=1e-6)


@pytest.mark.slow
def test_heatmap_marks_the_finalized_choice_at_each_kept_edge(searched):
    assert main(["plot", str(searched), "--alphas"]) == 0
    assert (searched / "alphas.png").read_bytes().startswith(b"\x89PNG")
    final = load_desc(searched / "search" / "final_model_desc.yaml")
    tables = alpha_tables(load_alphas(searched / "search" / "alphas.jsonl"), final)
    for table in tables:
        cell = final.cell_descs[table.cell]
        kept = [(j, tuple(e.input_ids), e.op_desc.name) for j, n in enumerate(cell.nodes) for e in n.edges]
        with figure() as (_, ax):
            draw_heatmap(ax, table)
            image = np.asarray(ax.images[0].get_array())
            marks = {tuple(int(x) for x in c.get_gid().split()[1:]) for c in ax.collections if c.get_gid()}
        assert len(marks) == len(kept) == 2 * len(cell.nodes)  # DARTS keeps two edges per node
        not_none = [i for i, op in enumerate(table.ops) if op != "none"]
        for r, col in marks:
            node, _, inputs = table.rows[r]
            assert (node, inputs, table.ops[col]) in kept
            assert col == not_none[int(np.argmax(image[r, not_none]))]  # the heaviest op other than `none`


@pytest.mark.slow
def test_alphas_survive_a_kill_and_resume(killed_and_resumed):
    alone, killed = killed_and_resumed(ARGV, "search/metrics.jsonl", "search/final_model_desc.yaml")
    records_alone = load_alphas(alone / "search" / "alphas.jsonl")
    records_killed = load_alphas(killed / "search" / "alphas.jsonl")
    _check_records(records_killed)
    for a, b in zip(records_alone, records_killed):
        for ca, cb in zip(a["cells"], b["cells"]):
            for ea, eb in zip(ca["edges"], cb["edges"]):
                assert ea["weights"] == pytest.approx(eb["weights"], rel=1e-6)


@pytest.mark.slow
def test_the_supernet_is_drawn_with_the_ops_the_finalizer_kept(searched, tmp_path):
    assert main(["plot", str(searched / "search" / "full_model_desc.yaml"), "-o", str(tmp_path / "supernet.png")]) == 0
    records = load_alphas(searched / "search" / "alphas.jsonl")
    final = load_desc(searched / "search" / "final_model_desc.yaml")
    supernet = load_desc(searched / "search" / "full_model_desc.yaml")
    for diagram, cell in zip(desc_diagrams(supernet, last_weights(records)), final.cell_descs):
        kept = {(n + 2, tuple(e.input_ids)): e.op_desc.name for n, node in enumerate(cell.nodes) for e in node.edges}
        drawn = {(v, (u,)): label.split(" ")[0] for u, v, label in diagram.graph.edges(data="label") if label}
        assert {key: drawn[key] for key in kept} == kept  # each kept edge is labelled with the op it became
