"""Archai's saved descriptions import faithfully, without running anything, at the DARTS paper's counts."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

from descgraph.builders import build_from_genotype, get_builder
from descgraph.cli import main
from descgraph.conf import load_conf
from descgraph.desc import load_desc, validate_model_desc
from descgraph.desc.genotype import DARTS_V1, Genotype
from descgraph.errors import DescError
from descgraph.interop import ArchaiTemplateWarning, from_archai, from_genotype, parse_archai_yaml, to_genotype

FILES = [f"final_model_desc{i}.yaml" for i in range(1, 6)] + ["darts_genotype.yaml"]


# --- an independent reading of the YAML text: regular expressions, no YAML parser ------------------
def _cells_from_text(text: str) -> list[tuple[str, list[tuple[str, int]]]]:
    """(cell type, [(op, input state) per edge]) of every cell, read off the text line by line."""
    anchors = dict(re.findall(r"&(id\d+) !!python/object/apply:archai\.nas\.model_desc\.CellType\n\s*- (\w+)", text))
    cells = []
    for chunk in text.split("- !!python/object:archai.nas.model_desc.CellDesc")[1:]:
        nodes = chunk.split("\n  cell_type:")[0]
        edges = re.findall(r"input_ids:\n\s*- (\d+)\n(?:.*\n)*?\s*name: (\w+)", nodes)
        cell_type = re.search(r"\n  cell_type: (?:\*(id\d+)|&id\d+ [^\n]*\n\s*- (\w+))", chunk)
        kind = anchors[cell_type.group(1)] if cell_type.group(1) else cell_type.group(2)
        cells.append((kind, [(op, int(state)) for state, op in edges]))
    return cells


def _genotype_from_text(text: str) -> Genotype:
    cells = _cells_from_text(text)
    normal = next(p for k, p in cells if k == "regular")
    reduce = next(p for k, p in cells if k == "reduction")
    return Genotype(normal=normal, normal_concat=[2, 3, 4, 5], reduce=reduce, reduce_concat=[2, 3, 4, 5])


# --- the original DARTS code's parameter count (quark0/darts cnn/model.py NetworkCIFAR), by hand ----
def _darts_op_params(name: str, c: int, stride: int) -> int:
    bn = 2 * c
    k = int(name[-1]) if name[-1].isdigit() else 0
    if name.startswith("sep_conv"):
        return 2 * (c * k * k + c * c + bn)
    if name.startswith("dil_conv"):
        return c * k * k + c * c + bn
    if name == "skip_connect" and stride == 2:
        return c * c + bn  # FactorizedReduce: two 1x1 convs to c/2 each, BN
    return 0  # pools, identity, zero


def _darts_network_params(g: Genotype, c: int = 36, layers: int = 20, n_classes: int = 10) -> int:
    """Weights of DARTS's CIFAR evaluation network of a genotype (no aux head)."""
    c_stem = 3 * c
    total = 3 * c_stem * 9 + 2 * c_stem
    c_pp, c_p, c_cur = c_stem, c_stem, c
    for i in range(layers):
        reduction = i in (layers // 3, 2 * layers // 3)
        c_cur *= 2 if reduction else 1
        total += (c_pp * c_cur + 2 * c_cur) + (c_p * c_cur + 2 * c_cur)  # ReLUConvBN or FactorizedReduce, same count
        pairs = g.reduce if reduction else g.normal
        total += sum(_darts_op_params(op, c_cur, 2 if reduction and s < 2 else 1) for op, s in pairs)
        concat = g.reduce_concat if reduction else g.normal_concat
        c_pp, c_p = c_p, len(concat) * c_cur
    return total + c_p * n_classes + n_classes


def test_the_hand_count_gives_the_darts_codes_published_counts():
    from descgraph.desc.genotype import DARTS_V2

    assert _darts_network_params(DARTS_V2) == 3_349_342
    assert _darts_network_params(DARTS_V1) == 3_169_414


# --- imports ------------------------------------------------------------------------------------
def _import(path: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ArchaiTemplateWarning)
        return from_archai(path)


@pytest.mark.parametrize("name", FILES)
def test_every_cell_imports_as_saved(shared_data, name):
    path = shared_data / "archai" / name
    desc = _import(path)
    validate_model_desc(desc)
    cells = _cells_from_text(path.read_text())
    assert len(desc.cell_descs) == len(cells) == 8
    for cell, (kind, pairs) in zip(desc.cell_descs, cells):
        assert cell.cell_type.value == kind
        assert [(e.op_desc.name, e.input_ids[0]) for n in cell.nodes for e in n.edges] == pairs
    assert desc.reduction_cell_ids() == [2, 5]
    assert [c.nodes[0].conv_params.ch_out for c in desc.cell_descs] == [16, 16, 32, 32, 32, 64, 64, 64]
    genotype = _genotype_from_text(path.read_text())
    assert to_genotype(desc) == genotype
    assert to_genotype(from_genotype(genotype)) == genotype  # the file's genotype round-trips too


def test_darts_genotype_file_leads_with_darts_v1_and_names_the_differing_cells(shared_data):
    path = shared_data / "archai" / "darts_genotype.yaml"
    cells = _cells_from_text(path.read_text())
    first = {kind: next(p for k, p in cells if k == kind) for kind in ("regular", "reduction")}
    differ = {kind: [i for i, (k, p) in enumerate(cells) if k == kind and p != first[kind]] for kind in first}
    assert differ["regular"] and differ["reduction"]  # the file's cells of one type do differ
    with pytest.warns(ArchaiTemplateWarning) as caught:
        desc = from_archai(path)
    assert len(caught) == 1 and "\n" not in str(caught[0].message)
    message = str(caught[0].message)
    for kind, ids in differ.items():
        assert f"{kind} cells {', '.join(map(str, ids))}" in message
    assert to_genotype(desc) == DARTS_V1


@pytest.mark.parametrize("name", [f for f in FILES if f != "darts_genotype.yaml"])
def test_files_whose_cells_agree_import_without_a_warning(shared_data, name):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ArchaiTemplateWarning)
        from_archai(shared_data / "archai" / name)


def test_a_file_of_uniform_cells_is_the_network_its_genotype_builds(shared_data, confs_dir):
    path = shared_data / "archai" / "final_model_desc1.yaml"
    conf = load_conf([confs_dir / "algos" / "darts.yaml"])
    built = build_from_genotype(_genotype_from_text(path.read_text()), conf.nas.search.model_desc)
    assert _import(path).hash() == built.hash()


def _eval_desc(confs_dir, template):
    md = load_conf([confs_dir / "algos" / "darts.yaml"]).nas.eval.model_desc
    desc = get_builder(md.builder).build(md, template=template)
    validate_model_desc(desc)
    return desc


@pytest.mark.parametrize("name", FILES)
def test_eval_macro_counts_equal_the_darts_codes_for_the_files_genotype(shared_data, confs_dir, name):
    from descgraph.nn import Model

    path = shared_data / "archai" / name
    desc = _eval_desc(confs_dir, _import(path))
    assert len(desc.cell_descs) == 20 and desc.reduction_cell_ids() == [6, 13]
    assert Model(desc).param_count() == _darts_network_params(_genotype_from_text(path.read_text()))


@pytest.mark.slow
@pytest.mark.parametrize("name", FILES)
def test_each_file_at_the_eval_macro_runs_forward_and_backward(shared_data, confs_dir, name, one_thread):
    import torch

    from descgraph.nn import Model

    desc = _eval_desc(confs_dir, _import(shared_data / "archai" / name))
    model = Model(desc, droppath=True)
    logits, aux = model(torch.randn(2, *desc.input_shape))
    assert logits.shape == (2, 10) and aux is not None
    (logits.sum() + aux.sum()).backward()
    grads = [p.grad for p in model.weights()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)


def test_cli_import_then_eval_build(shared_data, tmp_path, capsys):
    out, eval_out = tmp_path / "desc.yaml", tmp_path / "eval.yaml"
    assert main(["import", "archai", str(shared_data / "archai" / "darts_genotype.yaml"), "-o", str(out)]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("descgraph: warning:") and "reduction cells 5" in err[0]
    argv = ["build", "darts", "--stage", "eval", "--template", str(out), "-o", str(eval_out)]
    assert main(argv) == 0
    assert to_genotype(load_desc(eval_out)) == DARTS_V1


# --- refusing what is not Archai's --------------------------------------------------------------
def _planted(shared_data: Path, tmp_path: Path, old: str, new: str) -> Path:
    text = (shared_data / "archai" / "final_model_desc2.yaml").read_text()
    assert old in text
    path = tmp_path / "planted.yaml"
    path.write_text(text.replace(old, new, 1))
    return path


def _cli_error(path: Path, tmp_path: Path, capsys) -> str:
    assert main(["import", "archai", str(path), "-o", str(tmp_path / "out.yaml")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "out.yaml").exists()
    return err


def test_an_os_system_tag_beside_archais_is_refused_and_never_run(shared_data, tmp_path, capsys):
    marker = tmp_path / "pwned"
    payload = f"params: !!python/object/apply:os.system ['touch {marker}']"
    path = _planted(shared_data, tmp_path, "params:\n  gs_num_sample: 4", payload)
    with pytest.raises(DescError, match="python/object/apply:os.system"):
        from_archai(path)
    err = _cli_error(path, tmp_path, capsys)
    assert "!!python/object/apply:os.system" in err and str(path) in err
    assert not marker.exists()


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("archai.nas.model_desc.ModelDesc", "archai.nas.model_desc.SearchDesc", "archai.nas.model_desc.SearchDesc"),
        ("!!python/object:archai.nas.model_desc.OpDesc", "!!python/object:collections.OrderedDict", "collections"),
        ("!!python/object/apply:archai.nas.model_desc.CellType", "!!python/name:builtins.print", "builtins.print"),
        ("ch_in: 64\n        ch_out: 32", "ch_in: 65\n        ch_out: 32", "_cell_descs[2].s0_op.params.conv.ch_in"),
        ("name: prepr_reduce", "name: prepr_normal", "_cell_descs[3].s0_op.name"),
        ("name: sep_conv_3x3", "name: sep_conv_9x9", "_cell_descs[0]._nodes[0].edges[0].op_desc.name"),
    ],
    ids=["unknown Archai class", "other module", "python name tag", "channels", "missing reduce", "unknown op"],
)
def test_bad_files_are_one_line_and_exit_2(shared_data, tmp_path, capsys, old, new, expected):
    assert expected in _cli_error(_planted(shared_data, tmp_path, old, new), tmp_path, capsys)


def test_a_wrong_stride_is_named(shared_data, tmp_path, capsys):
    text = (shared_data / "archai" / "final_model_desc1.yaml").read_text()
    path = tmp_path / "stride.yaml"
    path.write_text(text.replace("stride: 2", "stride: 1", 1))
    assert "cell_descs[2].nodes[0].edges[0].op_desc" in _cli_error(path, tmp_path, capsys)


def test_a_truncated_file_is_one_line(shared_data, tmp_path, capsys):
    text = (shared_data / "archai" / "final_model_desc1.yaml").read_text()
    path = tmp_path / "truncated.yaml"
    path.write_text(text[: len(text) // 2])
    assert str(path) in _cli_error(path, tmp_path, capsys)


def test_aliases_are_followed_but_bounded():
    conv = "!!python/object:archai.nas.model_desc.ConvMacroParams {ch_in: 1, ch_out: 1}"
    data = parse_archai_yaml(f"a: &x {conv}\nb: *x\n")
    assert data["b"] is data["a"] and data["a"]["ch_in"] == 1
    with pytest.raises(DescError, match="aliases"):
        parse_archai_yaml("a: &x [1]\nb: [" + ", ".join(["*x"] * 10_001) + "]\n")


def test_archai_1_0_module_paths_read_the_same(shared_data, tmp_path):
    path = shared_data / "archai" / "final_model_desc1.yaml"
    moved = tmp_path / "moved.yaml"
    moved.write_text(path.read_text().replace("archai.nas.model_desc", "archai.supergraph.nas.model_desc"))
    assert from_archai(moved).hash() == from_archai(path).hash()
