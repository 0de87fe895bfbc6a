"""Lookup tables: every block of a space measured once, predictions are sums of entries, builds resume."""

from __future__ import annotations

import json

import pytest
import yaml

from descgraph.cli import main
from descgraph.conf import confs_dir, load_conf, resolve_conf_path
from descgraph.conf.schema import HwConf
from descgraph.desc import OpDesc, save_desc
from descgraph.errors import DescgraphError
from descgraph.hw import cost_model_from_conf, get_cost_model
from descgraph.hw import lut_build as lut_build_module
from descgraph.hw.lut import LutError, entry_block, load_table, predict_latency, save_table, site_key, sum_key
from descgraph.hw.lut_build import build_table
from descgraph.hw.lut_space import get_lut_space
from descgraph.hw.sites import node_op, node_sites, op_sites, sum_sites

TOY = ["nas.eval.model_desc.n_cells=3", "nas.eval.model_desc.n_reductions=1", "nas.eval.model_desc.cell.n_nodes=2"]


@pytest.fixture(scope="module")
def toy_conf():  # darts_toy's macros on CIFAR-10's 32x32 shapes (a table needs shapes, not images)
    return load_conf([resolve_conf_path("darts_toy"), confs_dir() / "datasets" / "cifar10.yaml"], TOY)


@pytest.fixture(scope="module")
def toy_table(toy_conf, tmp_path_factory):
    path = tmp_path_factory.mktemp("lut") / "toy.yaml"
    build_table(toy_conf, path, runs=4, progress=False)
    return path


def test_table_holds_every_block_of_the_space_once(toy_conf, toy_table):
    table = load_table(toy_table)
    space = get_lut_space(toy_conf)
    assert sorted(table.entries) == sorted({b.key() for b in space.blocks()})
    ops = {e.op for e in table.entries.values()}
    # the 7 DARTS candidates other than none, both cell stems, stem, concat, pool, classifier, addition, nodes
    assert ops == {
        "max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3",
        "dil_conv_5x5", "prepr_normal", "prepr_reduce", "stem_conv3x3", "concate_channels",
        "pool_adaptive_avg2d", "linear", "add", "multi_op",
    }  # fmt: skip
    nodes = [e for e in table.entries.values() if e.op == "multi_op"]
    # the toy's 2-node cells: a regular cell's node 1 picks 2 of 3 same-shaped inputs: 28 unordered op pairs;
    # the reduction cell's node 0 reads both stems (stride 2), its node 1 a stem and node 0 or both stems
    assert all(len(e.children) == 2 and e.params == {"reduce": "sum", "in_len": len(e.in_shapes)} for e in nodes)
    regular = {json.dumps(e.children, sort_keys=True) for e in nodes if e.in_shapes == [[8, 32, 32], [8, 32, 32]]}
    assert len(regular) == 7 * 8 // 2
    assert all(e.count == 4 and e.latency_ms >= 0 and e.overhead_ms > 0 for e in table.entries.values())
    sep = next(e for e in table.entries.values() if e.op == "sep_conv_3x3" and e.in_shapes == [[8, 32, 32]])
    # two (depthwise 3x3 + pointwise 1x1) convs on 8 channels at 32x32: 2 * 1024 * (8 * 9 + 8 * 8) multiply-adds;
    # weights: 2 * (8 * 9 depthwise + 8 * 8 pointwise + 2 * 8 BN scale and shift)
    assert sep.macs == 2 * 1024 * (8 * 9 + 8 * 8) and sep.params_count == 2 * (8 * 9 + 8 * 8 + 2 * 8)


def test_prediction_is_the_sum_of_entries(toy_conf, toy_table):
    table = load_table(toy_table)
    space = get_lut_space(toy_conf)
    for seed in range(5):
        desc = space.sample(seed)
        nodes = node_sites(desc)
        assert len(nodes) == sum(len(c.nodes) for c in desc.cell_descs)  # every final node has two edges
        edges = {p for n in nodes for p in n.edge_paths}
        expected = table.run_overhead_ms + sum(table.entries[site_key(n)].latency_ms for n in nodes)
        expected += sum(table.entries[site_key(s)].latency_ms for s in op_sites(desc) if s.path not in edges)
        assert predict_latency(table, desc) == pytest.approx(expected)
        # without node entries, edges and additions are priced apart
        plain = table.model_copy(update={"entries": {k: e for k, e in table.entries.items() if e.op != "multi_op"}})
        expected = plain.run_overhead_ms + sum(plain.entries[site_key(s)].latency_ms for s in op_sites(desc))
        expected += sum((s.terms - 1) * plain.entries[sum_key(s.shape)].latency_ms for s in sum_sites(desc))
        assert predict_latency(plain, desc) == pytest.approx(expected)


def test_every_entry_names_the_block_it_was_measured_on(toy_table):
    table = load_table(toy_table)
    assert all(entry_block(e).key() == key for key, e in table.entries.items())


def test_a_node_key_does_not_depend_on_the_order_of_its_edges():
    sep = OpDesc(name="sep_conv_3x3", params={"ch_in": 8, "ch_out": 8})
    pool = OpDesc(name="max_pool_3x3", params={"ch_in": 8, "ch_out": 8, "stride": 2})
    a = node_op([(sep, (8, 4, 4), 3), (pool, (8, 8, 8), 0)])
    b = node_op([(pool, (8, 8, 8), 0), (sep, (8, 4, 4), 3)])
    assert a == b and a[1] == ((8, 8, 8), (8, 4, 4)) and a[0].children_ins == [[0], [1]]
    same_input = node_op([(sep, (8, 4, 4), 2), (sep, (8, 4, 4), 2)])
    assert same_input[1] == ((8, 4, 4),) and same_input[0].children_ins == [[0], [0]]


def test_a_block_not_in_the_table_is_named(toy_conf, toy_table):
    table = load_table(toy_table)
    desc = get_lut_space(toy_conf).sample(0)
    edge = desc.cell_descs[0].nodes[0].edges[0]
    edge.op_desc.name = "sep_conv_7x7"  # neither its node nor the op alone is in the table
    with pytest.raises(LutError, match=r"cell_descs\[0\]\.nodes\[0\]\.edges\[0\]\.op_desc \(sep_conv_7x7 on"):
        predict_latency(table, desc)


def test_a_killed_build_resumes_where_it_stopped(toy_conf, toy_table, tmp_path, monkeypatch):
    table = load_table(toy_table)
    kept = dict(list(table.entries.items())[:7])
    partial = table.model_copy(update={"entries": kept})
    save_table(partial, tmp_path / "partial.yaml")
    measured = []
    real = lut_build_module.measure_blocks
    monkeypatch.setattr(
        lut_build_module, "measure_blocks", lambda blocks, *a, **k: measured.extend(blocks) or real(blocks, *a, **k)
    )
    resumed = build_table(toy_conf, tmp_path / "partial.yaml", runs=2, progress=False)
    assert len(measured) == len(table.entries) - 7
    assert sorted(resumed.entries) == sorted(table.entries)
    assert all(resumed.entries[k] == v for k, v in kept.items())


def test_table_file_errors(toy_table, tmp_path):
    data = yaml.safe_load(toy_table.read_text())
    data["schema_version"] = 99
    (tmp_path / "future.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(LutError, match="schema_version 99"):
        load_table(tmp_path / "future.yaml")
    data["schema_version"] = 1
    data["threads"] = "many"
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(DescgraphError, match="bad.yaml: threads"):
        load_table(tmp_path / "bad.yaml")


def test_cost_models_by_name(toy_conf, toy_table):
    desc = get_lut_space(toy_conf).sample(3)
    lut = cost_model_from_conf("lut_latency", HwConf(lut=str(toy_table)))
    assert lut.cost(desc) == pytest.approx(predict_latency(load_table(toy_table), desc))
    measured = get_cost_model("latency", runs=5)
    assert measured.unit == lut.unit == "ms" and measured.cost(desc) > 0
    with pytest.raises(DescgraphError, match="hw.lut: the lut_latency cost model needs a lookup table"):
        cost_model_from_conf("lut_latency", HwConf())


def test_cli_lut_predict_and_eval(toy_conf, toy_table, tmp_path, capsys):
    desc = get_lut_space(toy_conf).sample(1)
    save_desc(desc, tmp_path / "d.yaml")
    assert main(["lut", "predict", str(toy_table), str(tmp_path / "d.yaml"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["latency_ms"] == pytest.approx(predict_latency(load_table(toy_table), desc), abs=1e-5)
    assert main(["lut", "eval", str(toy_table), "--samples", "4", "--runs", "5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["samples"] == len(out["networks"]) == 4 and -1 <= out["kendall_tau"] <= 1
    assert 0 <= out["within_10pct"] <= 1 and out["mean_abs_pct_error"] >= 0
    assert out["speed_vs_table"] > 0 and 0 <= out["within_10pct_at_current_speed"] <= 1


def test_cli_lut_build(tmp_path, capsys):
    argv = ["lut", "build", "darts_toy", *TOY, "nas.eval.model_desc.model_stems.init_node_ch=4"]
    assert main([*argv, "-o", str(tmp_path / "t.json"), "--runs", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["entries"] == len(load_table(tmp_path / "t.json").entries) > 10
    assert main(["lut", "build", "darts_toy", "nas.eval.model_desc.n_cells=0.5", "-o", str(tmp_path / "x.json")]) == 2
    assert "nas.eval.model_desc.n_cells" in capsys.readouterr().err
