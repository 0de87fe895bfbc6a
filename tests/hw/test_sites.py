"""Op input shapes read off a description equal the shapes the compiled model actually feeds each op."""

from __future__ import annotations

import pytest
import torch

from descgraph.builders import build_from_genotype, get_builder
from descgraph.conf import confs_dir, load_conf, resolve_conf_path
from descgraph.desc.genotype import parse_genotype
from descgraph.hw.sites import op_sites, sum_sites
from descgraph.nn import Model
from descgraph.nn.op_modules import capture_op_inputs, iter_op_modules


def _descs():
    darts = load_conf([resolve_conf_path("darts")], ["nas.search.model_desc.n_cells=5"])
    yield build_from_genotype(parse_genotype("DARTS_V1"), darts.nas.search.model_desc)
    imagenet = load_conf([resolve_conf_path("darts"), confs_dir() / "datasets" / "imagenet.yaml"])
    md = imagenet.nas.eval.model_desc.model_copy(update={"n_cells": 5})
    final = build_from_genotype(parse_genotype("DARTS_V2"), imagenet.nas.search.model_desc)
    yield get_builder(md.builder).build(md, template=final)  # two model stems, 224x224, reduction stems
    search = load_conf([resolve_conf_path("darts_toy")]).nas.search.model_desc
    yield get_builder(search.builder).build(search)  # a supernet: mixed ops
    for space in ("nb201", "enas_micro", "enas_macro"):  # single-stem cells, residual blocks, long skips
        md = load_conf([confs_dir() / "spaces" / f"{space}.yaml"]).nas.search.model_desc
        yield get_builder(md.builder).build(md)


IDS = ["darts_v1", "darts_v2_imagenet", "supernet", "nb201", "enas_micro", "enas_macro"]


@pytest.mark.parametrize("desc", list(_descs()), ids=IDS)
def test_sites_match_the_compiled_model(desc):
    model = Model(desc, droppath=False)
    captured = capture_op_inputs(model, torch.zeros(1, *desc.input_shape))
    sites = op_sites(desc)
    assert [s.path for s in sites] == [path for path, _, _ in iter_op_modules(model)]
    for site in sites:
        assert site.in_shapes == tuple(tuple(t.shape[1:]) for t in captured[site.path]), site.path


def test_every_two_edge_node_is_one_addition():
    conf = load_conf([resolve_conf_path("darts")])
    desc = build_from_genotype(parse_genotype("DARTS_V2"), conf.nas.search.model_desc)
    sums = sum_sites(desc)
    assert len(sums) == 8 * 4 and all(s.terms == 2 for s in sums)
    assert {s.shape for s in sums} == {(16, 32, 32), (32, 16, 16), (64, 8, 8)}
