"""NNI 3.0 arch dicts: the hub's DARTS_V2 dict, every NAS-Bench-201 architecture, random dicts of each space."""

from __future__ import annotations

import csv
import json
import random

import pytest

from descgraph.builders import nb201_model_conf
from descgraph.cli import main
from descgraph.desc import load_desc
from descgraph.errors import DescError
from descgraph.interop import CELL_SPACES, darts_macro, from_nni, nb201_to_nni, to_nni

# nni/nas/hub/pytorch/nasnet.py (NNI v3.0), DARTS.load_searched_model('darts-v2'), as NNI writes it.
NNI_DARTS_V2 = {
    "normal/op_2_0": "sep_conv_3x3",
    "normal/op_2_1": "sep_conv_3x3",
    "normal/input_2_0": [0],
    "normal/input_2_1": [1],
    "normal/op_3_0": "sep_conv_3x3",
    "normal/op_3_1": "sep_conv_3x3",
    "normal/input_3_0": [0],
    "normal/input_3_1": [1],
    "normal/op_4_0": "sep_conv_3x3",
    "normal/op_4_1": "skip_connect",
    "normal/input_4_0": [1],
    "normal/input_4_1": [0],
    "normal/op_5_0": "skip_connect",
    "normal/op_5_1": "dil_conv_3x3",
    "normal/input_5_0": [0],
    "normal/input_5_1": [2],
    "reduce/op_2_0": "max_pool_3x3",
    "reduce/op_2_1": "max_pool_3x3",
    "reduce/input_2_0": [0],
    "reduce/input_2_1": [1],
    "reduce/op_3_0": "skip_connect",
    "reduce/op_3_1": "max_pool_3x3",
    "reduce/input_3_0": [2],
    "reduce/input_3_1": [1],
    "reduce/op_4_0": "max_pool_3x3",
    "reduce/op_4_1": "skip_connect",
    "reduce/input_4_0": [0],
    "reduce/input_4_1": [2],
    "reduce/op_5_0": "skip_connect",
    "reduce/op_5_1": "max_pool_3x3",
    "reduce/input_5_0": [2],
    "reduce/input_5_1": [1],
}
# nni/nas/hub/pytorch/nasbench201.py PRIMITIVES; cells are labelled 'cell', edges '<from>_<to>'.
NNI_NB201_OPS = ["none", "skip_connect", "conv_1x1", "conv_3x3", "avg_pool_3x3"]
NB201_EDGE_KEYS = ["cell/0_1", "cell/0_2", "cell/1_2", "cell/0_3", "cell/1_3", "cell/2_3"]


def test_darts_v2_as_nni_writes_it_is_descgraph_genotype_darts_v2(tmp_path, capsys):
    out = tmp_path / "g.yaml"
    assert main(["genotype", "DARTS_V2", "-o", str(out)]) == 0
    assert from_nni(NNI_DARTS_V2, "darts").hash() == load_desc(out).hash()
    assert to_nni(load_desc(out), "darts") == NNI_DARTS_V2


def test_cli_import_nni_from_a_json_file(tmp_path, capsys):
    arch, out = tmp_path / "arch.json", tmp_path / "d.yaml"
    arch.write_text(json.dumps(NNI_DARTS_V2))
    assert main(["import", "nni", str(arch), "--space", "darts", "-o", str(out)]) == 0
    capsys.readouterr()
    assert main(["export-arch", str(out), "--to", "nni"]) == 0
    assert json.loads(capsys.readouterr().out) == NNI_DARTS_V2


def _nb201_table(shared_data) -> list[str]:
    with open(shared_data / "nb201" / "accuracy.csv", newline="") as f:
        return [row["arch"] for row in csv.DictReader(f)]


def _nb201_string_dict_desc_dict(arch: str, conf=None) -> None:
    nni = nb201_to_nni(arch)
    assert list(nni) == NB201_EDGE_KEYS and set(nni.values()) <= set(NNI_NB201_OPS)
    assert to_nni(from_nni(nni, "nb201", conf), "nb201") == nni


def test_a_sample_of_the_nb201_table_goes_string_dict_desc_dict(shared_data):
    rows = _nb201_table(shared_data)
    for arch in rows[::250]:
        _nb201_string_dict_desc_dict(arch)


@pytest.mark.slow
def test_every_nb201_table_string_goes_string_dict_desc_dict_unchanged(shared_data):
    rows = _nb201_table(shared_data)
    assert len(rows) == len(set(rows)) == 15_625
    one_cell_per_stage = nb201_model_conf(n_cells=1)  # the same cell in a network a third the size
    for arch in rows:
        _nb201_string_dict_desc_dict(arch, one_cell_per_stage)


def _random_cell_dict(rng: random.Random, space: str, macro: bool) -> dict:
    cs = CELL_SPACES[space]
    arch = {}
    for label in ("normal", "reduce"):
        for i in range(2, 2 + cs.n_nodes):
            for k in range(2):
                arch[f"{label}/op_{i}_{k}"] = rng.choice(cs.ops)
                arch[f"{label}/input_{i}_{k}"] = [rng.randrange(i)]
    if macro:
        arch["width"], arch["depth"] = rng.choice([8, 16]), rng.choice([3, 5, 8])
    return arch


@pytest.mark.parametrize("space", list(CELL_SPACES))
def test_random_cell_dicts_go_dict_desc_dict_unchanged(space):
    rng, conf = random.Random(14), darts_macro()
    for n in range(200):
        arch = _random_cell_dict(rng, space, macro=n % 2 == 1)
        desc = from_nni(arch, space, conf)
        assert to_nni(desc, space, macro=n % 2 == 1) == arch
        if "depth" in arch:
            assert len(desc.cell_descs) == arch["depth"]
            assert desc.cell_descs[0].nodes[0].conv_params.ch_out == arch["width"]


def test_random_nb201_dicts_go_dict_desc_dict_unchanged():
    rng = random.Random(201)
    for _ in range(200):
        arch = {key: rng.choice(NNI_NB201_OPS) for key in NB201_EDGE_KEYS}
        assert to_nni(from_nni(arch, "nb201"), "nb201") == arch


def test_an_enas_cell_concatenates_its_loose_ends():
    rng = random.Random(5)
    arch = _random_cell_dict(rng, "enas", macro=False)
    desc = from_nni(arch, "enas")
    cell = desc.cell_descs[0]
    read = {arch[f"normal/input_{i}_{k}"][0] for i in range(2, 7) for k in range(2)}
    assert cell.concat == [n for n in range(2, 7) if n not in read]


def _without(key: str) -> dict:
    return {k: v for k, v in NNI_DARTS_V2.items() if k != key}


@pytest.mark.parametrize(
    ("arch", "space", "expected"),
    [
        (_without("reduce/op_4_1"), "darts", "reduce/op_4_1: missing"),
        ({**NNI_DARTS_V2, "normal/op_6_0": "sep_conv_3x3"}, "darts", "normal/op_6_0: not a key of the darts space"),
        ({**NNI_DARTS_V2, "normal/op_2_0": "conv_7x1_1x7"}, "darts", "'conv_7x1_1x7' is not an op of the darts space"),
        ({**NNI_DARTS_V2, "normal/input_3_1": [3]}, "darts", "normal/input_3_1: state 3 is not earlier than node 3"),
        ({**NNI_DARTS_V2, "width": "wide"}, "darts", "width"),
        ({**NNI_DARTS_V2, "width": 10**9}, "darts", "width: 1000000000; Input should be less than or equal to 65536"),
        ({**NNI_DARTS_V2, "depth": 10**9}, "darts", "depth: 1000000000; Input should be less than or equal to 1000"),
        ({k: "conv_3x3" for k in NB201_EDGE_KEYS[:5]}, "nb201", "cell/2_3: missing"),
        ({**{k: "conv_3x3" for k in NB201_EDGE_KEYS}, "cell/0_4": "none"}, "nb201", "cell/0_4: not a key"),
        (NNI_DARTS_V2, "darst", "did you mean"),
    ],
    ids=[
        "missing key",
        "unknown key",
        "op outside the space",
        "later input",
        "width",
        "huge width",
        "huge depth",
        "nb201 missing",
        "nb201 unknown",
        "unknown space",
    ],
)
def test_bad_dicts_are_one_line_and_exit_2(arch, space, expected, tmp_path, capsys):
    with pytest.raises(DescError, match=expected):
        from_nni(arch, space)
    argv = ["import", "nni", json.dumps(arch), "--space", space, "-o", str(tmp_path / "out.yaml")]
    if space in ("darts", "nb201"):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and expected.split(":")[0] in err
        assert not (tmp_path / "out.yaml").exists()


@pytest.mark.parametrize(("arch", "expected"), [("missing.json", "no such file"), ("{'a': 1}", "malformed JSON")])
def test_an_unreadable_arch_is_one_line(tmp_path, capsys, arch, expected):
    assert main(["import", "nni", arch, "-o", str(tmp_path / "out.yaml")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and expected in err


def test_a_desc_the_space_cannot_hold_is_one_line(tmp_path, capsys):
    out = tmp_path / "g.yaml"
    assert main(["genotype", "DARTS_V2", "-o", str(out)]) == 0
    capsys.readouterr()
    assert main(["export-arch", str(out), "--to", "nni", "--space", "enas"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "the enas space has 5" in err


def test_the_hubs_darts_v2_at_its_width_and_depth_is_the_darts_papers_network():
    from descgraph.nn import Model

    # load_searched_model('darts-v2') builds DARTS(width=36, num_cells=20); a multi-width space keys them
    desc = from_nni({**NNI_DARTS_V2, "width": 36, "depth": 20}, "darts")
    assert len(desc.cell_descs) == 20 and desc.reduction_cell_ids() == [6, 13]
    assert Model(desc).param_count() == 3_349_342  # the DARTS code's count for DARTS_V2
