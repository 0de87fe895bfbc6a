"""The descgraph command: genotype, build, show, validate, end to end on real confs."""

from __future__ import annotations

import json

import pytest

from descgraph.cli import main
from descgraph.desc import load_desc


def _run_json(capsys, *argv: str) -> dict:
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_genotype_build_show_darts_v2(tmp_path, capsys):
    final, full = tmp_path / "final.yaml", tmp_path / "eval.json"
    out = _run_json(capsys, "genotype", "DARTS_V2", "-o", str(final))
    assert out["cells"] == 8
    _run_json(capsys, "build", "darts", "--stage", "eval", "--template", str(final), "-o", str(full))
    shown = _run_json(capsys, "show", str(full))
    assert shown["params"] == 3_349_342 and shown["params_with_aux"] == 3_825_768
    assert shown["cells"] == 20 and shown["arch_params"] == 0
    assert shown["op_histogram"] == {"dil_conv_3x3": 18, "max_pool_3x3": 10, "sep_conv_3x3": 90, "skip_connect": 42}
    # DARTS reports about 528M multiply-adds for DARTS_V2 on CIFAR-10 (conv and linear terms)
    assert 500e6 < shown["macs"] < 560e6
    assert load_desc(full).params["genotype"].startswith("Genotype(")


def test_genotype_literal_and_overrides(tmp_path, capsys):
    literal = (
        "Genotype(normal=[('sep_conv_3x3', 0), ('skip_connect', 1), ('dil_conv_5x5', 2), ('avg_pool_3x3', 0)], "
        "normal_concat=range(2, 4), reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), "
        "('sep_conv_5x5', 1)], reduce_concat=[2, 3])"
    )
    out = tmp_path / "g.yaml"
    assert main(["genotype", literal, "-o", str(out), "--conf", "darts", "nas.search.model_desc.n_cells=5"]) == 0
    desc = load_desc(out)
    assert len(desc.cell_descs) == 5 and len(desc.cell_descs[0].nodes) == 2 and desc.cell_descs[0].concat == [2, 3]


def test_build_search_supernet_and_show(tmp_path, capsys):
    out = tmp_path / "search.yaml"
    _run_json(capsys, "build", "darts", "--stage", "search", "-o", str(out))
    shown = _run_json(capsys, "show", str(out))
    assert shown["arch_params"] == 2 * 14 * 8 and shown["op_histogram"] == {"mixed_op": 8 * 14}


def test_validate_desc_and_conf(tmp_path, capsys):
    final = tmp_path / "final.yaml"
    assert main(["genotype", "DARTS_V1", "-o", str(final)]) == 0
    assert main(["validate", str(final), "darts", "darts_toy"]) == 0
    assert capsys.readouterr().out.count(": ok") == 3


@pytest.mark.parametrize("cmd", [[], ["genotype"], ["build"], ["show"], ["validate"]])
def test_help_on_every_command(cmd, capsys):
    with pytest.raises(SystemExit) as e:
        main([*cmd, "--help"])
    assert e.value.code == 0 and "usage: descgraph" in capsys.readouterr().out
