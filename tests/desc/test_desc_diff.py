"""`descgraph diff`: the edges that differ, derived here from the genotypes themselves; diff(1)'s exit codes."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from descgraph.cli import main
from descgraph.desc import load_desc
from descgraph.desc.diff import diff_descs
from descgraph.desc.genotype import parse_genotype


@pytest.fixture(scope="module")
def genotypes(tmp_path_factory):
    out = tmp_path_factory.mktemp("genotypes")
    paths = {}
    for name in ("DARTS_V1", "DARTS_V2"):
        paths[name] = out / f"{name}.yaml"
        assert main(["genotype", name, "-o", str(paths[name])]) == 0
    return paths


def genotype_node_differences(a: list[tuple[str, int]], b: list[tuple[str, int]]) -> dict[int, tuple[Counter, Counter]]:
    """Per intermediate node (pairs 2j and 2j+1), the (op, input) pairs only A has and only B has."""
    out = {}
    for j in range(len(a) // 2):
        ca, cb = Counter(a[2 * j : 2 * j + 2]), Counter(b[2 * j : 2 * j + 2])
        if ca != cb:
            out[j] = (ca - cb, cb - ca)
    return out


def listed_differences(cell: dict) -> dict[int, tuple[Counter, Counter]]:
    """The same, from one cell entry of `descgraph diff --json`."""
    out = {}
    for change in cell["changes"]:
        j = int(change["where"].removeprefix("nodes[").removesuffix("]"))
        out[j] = tuple(Counter((e["op"], e["input_ids"][0]) for e in change[side]) for side in ("a", "b"))
    return out


def test_darts_v1_against_v2_lists_exactly_the_differing_edges(genotypes, capsys):
    assert main(["diff", str(genotypes["DARTS_V1"]), str(genotypes["DARTS_V2"]), "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    v1, v2 = parse_genotype("DARTS_V1"), parse_genotype("DARTS_V2")
    cells = {c["cell"]: c for c in result["cells"]}
    assert set(cells) == {"normal cell", "reduction cell"}
    assert listed_differences(cells["normal cell"]) == genotype_node_differences(v1.normal, v2.normal)
    assert listed_differences(cells["reduction cell"]) == genotype_node_differences(v1.reduce, v2.reduce)
    assert result["macro"] == [] and result["verdict"] == "different cells, same macro"
    assert not result["identical"] and result["hash_a"] != result["hash_b"]


def test_a_description_against_itself_is_identical(genotypes, capsys):
    path = str(genotypes["DARTS_V2"])
    assert main(["diff", path, path]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "identical"
    assert main(["diff", path, path, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["identical"] and result["cells"] == [] and result["macro"] == []


def test_a_file_that_is_not_a_description_is_one_line_and_exit_2(genotypes, tmp_path, capsys, confs_dir):
    for other in (confs_dir / "algos" / "darts_digits.yaml", tmp_path / "missing.yaml"):
        assert main(["diff", str(genotypes["DARTS_V2"]), str(other)]) == 2
        captured = capsys.readouterr()
        assert captured.out == "" and len(captured.err.strip().splitlines()) == 1 and str(other) in captured.err


def test_searched_cells_against_their_scaled_up_network_differ_only_in_macro(genotypes, tmp_path, capsys):
    final, evaluated = tmp_path / "final.yaml", tmp_path / "eval.yaml"
    assert main(["genotype", "DARTS_V2", "-o", str(final), "--conf", "darts_digits"]) == 0
    assert main(["build", "darts_digits", "--stage", "eval", "--template", str(final), "-o", str(evaluated)]) == 0
    capsys.readouterr()
    assert main(["diff", str(final), str(evaluated), "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["verdict"] == "same cells, different macro" and result["cells"] == []
    macro = {c["where"]: (c["a"], c["b"]) for c in result["macro"]}
    assert macro["cells"] == (5, 8) and macro["reduction_cells"] == ([1, 3], [2, 5])  # darts_digits' two macros


def test_edge_order_inside_a_node_is_not_a_cell_change(genotypes):
    a = load_desc(genotypes["DARTS_V1"])
    b = a.clone()
    b.cell_descs[0].nodes[0].edges.reverse()
    diff = diff_descs(a, b)
    assert not diff.identical and not diff.macro and not any(c.changes for c in diff.cells)
    assert diff.other[0].where.startswith("cell_descs[0].nodes[0].edges[0]")


def test_a_non_finite_op_parameter_is_one_line_not_an_equal_hash(genotypes, tmp_path, capsys):
    # NaN and inf both serialize as JSON null: kept, the two descriptions would hash (and diff) as identical
    text = genotypes["DARTS_V2"].read_text()
    stem = "params: {ch_in: 3, ch_out: 48}"
    assert text.count(stem) == 1
    for name, value in (("nan", ".nan"), ("inf", ".inf")):
        (tmp_path / f"{name}.yaml").write_text(text.replace(stem, f"params: {{ch_in: 3, ch_out: 48, scale: {value}}}"))
    assert main(["diff", str(tmp_path / "nan.yaml"), str(tmp_path / "inf.yaml"), "--json"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.endswith(
        "model_stems[0]: Value error, params.scale: nan is not a finite number"
    )
    with pytest.raises(Exception, match=r"params\.scale: inf is not a finite number"):
        load_desc(tmp_path / "inf.yaml")
