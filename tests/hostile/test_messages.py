"""Every error a user can act on is one line naming the file and the key path, and echoes nothing it should not."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest
import yaml

from descgraph.cli import main
from descgraph.desc import parse_desc, save_desc
from descgraph.export import META_DESC, META_HASH, export_desc

SMALL = ["--conf", "darts", "nas.search.model_desc.n_cells=2", "nas.search.model_desc.n_reductions=1"]
EDGE = "cell_descs[1].nodes[0].edges[0].op_desc"


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("descgraph: error: "), err
    assert "Traceback" not in err
    return err


@pytest.fixture(scope="module")
def small_desc(tmp_path_factory) -> dict:
    """A 2-cell DARTS_V2 network as plain data."""
    path = tmp_path_factory.mktemp("small") / "final.yaml"
    assert (
        main(["genotype", "DARTS_V2", "-o", str(path), *SMALL, "nas.search.model_desc.model_stems.init_node_ch=4"]) == 0
    )
    return yaml.safe_load(path.read_text())


def _edited(data: dict, path: Path, edit) -> Path:
    data = yaml.safe_load(yaml.safe_dump(data))
    edit(data["cell_descs"][1]["nodes"][0]["edges"][0]["op_desc"])
    path.write_text(yaml.safe_dump(data))
    return path


LOADERS = {
    "validate": ["validate", "{desc}"],
    "show": ["show", "{desc}"],
    "export": ["export", "{desc}", "-o", "{dir}/x.onnx"],
    "lut predict": ["lut", "predict", "{dir}/lut.yaml", "{desc}"],
    "measure": ["measure", "{desc}"],
}


@pytest.mark.parametrize("command", list(LOADERS))
def test_an_extra_op_param_names_the_file_and_the_op(command, small_desc, tmp_path, capsys):
    desc = _edited(small_desc, tmp_path / "evil.yaml", lambda op: op["params"].update(evil=1))
    (tmp_path / "lut.yaml").write_text("space: darts\n")
    argv = [a.replace("{desc}", str(desc)).replace("{dir}", str(tmp_path)) for a in LOADERS[command]]
    assert main(argv) == 2
    err = one_line_error(capsys)
    assert f"{desc}: {EDGE}.params: op " in err and "unexpected param 'evil'" in err, err
    assert not (tmp_path / "x.onnx").exists()


def test_show_of_an_unknown_op_names_the_file_and_the_op(small_desc, tmp_path, capsys):
    desc = _edited(small_desc, tmp_path / "unknown.yaml", lambda op: op.update(name="sep_conv_9x9"))
    assert main(["show", str(desc)]) == 2
    assert f"{desc}: {EDGE}.name: unknown op 'sep_conv_9x9'" in one_line_error(capsys)


# --- lut predict, lut eval ----------------------------------------------------------------------------------
LUTS = {
    "no entry for a block": ("space: darts\n", ["predict"], "{desc}: model_stems[0] (stem_conv3x3 on"),
    "a non-finite overhead": ("space: darts\nrun_overhead_ms: .nan\n", ["predict"], "lut.yaml: run_overhead_ms"),
    "no recorded conf": ("space: darts\n", ["eval"], "lut.yaml: conf: the table for 'darts' does not record"),
    "a conf of the wrong shape": ("space: darts\nconf: 'nas: 3'\n", ["eval"], "lut.yaml: conf: nas: "),
}


@pytest.mark.parametrize("case", list(LUTS))
def test_lut_errors_are_one_line_naming_the_file(case, small_desc, tmp_path, capsys):
    text, command, expected = LUTS[case]
    (tmp_path / "lut.yaml").write_text(text)
    save_desc(parse_desc(small_desc), tmp_path / "d.yaml")
    extra = [str(tmp_path / "d.yaml")] if command == ["predict"] else ["--samples", "1", "--runs", "1"]
    assert main(["lut", *command, str(tmp_path / "lut.yaml"), *extra]) == 2
    assert expected.replace("{desc}", str(tmp_path / "d.yaml")) in one_line_error(capsys)


# --- child -------------------------------------------------------------------------------------------------
CONFIG = "resolution: 8\ndepths: [1, 3, 1, 1]\nwidths: [1.0, 0.5, 0.5, 0.5]\n"
CONFIG += "kernel_sizes: [[3], [3, 3, 3], [3], [3]]\nexpansion_ratios: [[1], [2, 2, 2], [2], [2]]\n"


def _deeper_space(data: dict) -> None:
    data["params"]["elastic"]["stages"][1]["depths"] = [1, 2, 3]  # cell 1 has 2 nodes


def _zero_channels(data: dict) -> None:
    data["params"]["elastic"]["stages"][1].update(width_multipliers=[0.5], channels=[0])


CHILD = {
    "not a supernet": (None, "{sup}: params.elastic is missing: not an elastic supernet"),
    "a space deeper than its cells": (_deeper_space, "{sup}: params.elastic.stages[1].depths: [1, 2, 3] outside 1..2"),
    "a stage of no channels": (_zero_channels, "{sup}: params.elastic.stages[1].channels: [0]"),
    "a malformed space": (lambda d: d["params"]["elastic"].update(colour=1), "{sup}: params.elastic.colour: Extra"),
}


@pytest.mark.parametrize("case", list(CHILD))
def test_child_errors_are_one_line_naming_the_file(case, small_desc, tmp_path, capsys):
    edit, expected = CHILD[case]
    sup = tmp_path / "supernet.yaml"
    if edit is None:
        save_desc(parse_desc(small_desc), sup)
    else:
        assert main(["build", "bignas_toy", "-o", str(sup)]) == 0
        data = yaml.safe_load(sup.read_text())
        edit(data)
        sup.write_text(yaml.safe_dump(data))
    (tmp_path / "config.yaml").write_text(CONFIG)
    capsys.readouterr()
    assert main(["child", str(sup), str(tmp_path / "config.yaml"), "-o", str(tmp_path / "child.yaml")]) == 2
    assert expected.replace("{sup}", str(sup)) in one_line_error(capsys)
    assert not (tmp_path / "child.yaml").exists()


# --- numbers on the command line ------------------------------------------------------------------------
NUMBERS = {
    "measure --warmup -1": (["measure", "{missing}", "--warmup", "-1"], "an integer of at least 0"),
    "measure --batch 0": (["measure", "{missing}", "--batch", "0"], "an integer of at least 1"),
    "measure --threads 0": (["measure", "{missing}", "--threads", "0"], "an integer of at least 1"),
    "measure --rounds 0": (["measure", "{missing}", "--rounds", "0"], "an integer of at least 1"),
    "export --opset 0": (["export", "{missing}", "-o", "{dir}/x.onnx", "--opset", "0"], "an opset from 7 to 23"),
    "export --atol -1": (["export", "{missing}", "-o", "{dir}/x.onnx", "--atol", "-1"], "a finite number of at least"),
    "export --atol nan": (
        ["export", "{missing}", "-o", "{dir}/x.onnx", "--atol", "nan"],
        "a finite number of at least",
    ),
    "bench --budget 0": (["bench", "nb201", "--table", "{missing}", "--budget", "0"], "an integer of at least 1"),
    "bench --max-proposals 0": (["bench", "nb201", "--table", "{missing}", "--max-proposals", "0"], "at least 1"),
    "bench --max-latency nan": (["bench", "nb201", "--table", "{missing}", "--max-latency", "nan"], "above 0"),
    "bench --max-latency -1": (["bench", "nb201", "--table", "{missing}", "--max-latency", "-1"], "above 0"),
    "import archai --image-size 0": (
        ["import", "archai", "{missing}", "-o", "{dir}/y.yaml", "--image-size", "0"],
        "at least 1",
    ),
}


@pytest.mark.parametrize("case", list(NUMBERS))
def test_every_number_on_the_command_line_is_range_checked(case, tmp_path, capsys):
    argv, expected = NUMBERS[case]
    argv = [a.replace("{missing}", str(tmp_path / "absent.yaml")).replace("{dir}", str(tmp_path)) for a in argv]
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert expected in err, err
    assert "error: argument --" in err
    assert list(tmp_path.iterdir()) == []


# --- measure: an ONNX file's metadata must describe its graph ----------------------------------------------
@pytest.fixture(scope="module")
def exported(small_desc) -> bytes:
    return export_desc(parse_desc(small_desc), verify=False).data


def _tampered(data: bytes, path: Path, edit) -> Path:
    model = onnx.load_from_string(data)
    meta = {p.key: p for p in model.metadata_props}
    edit(meta)
    path.write_bytes(model.SerializeToString())
    return path


def _other_input_shape(meta) -> None:
    data = yaml.safe_load(meta[META_DESC].value)
    data["input_shape"] = [3, 16, 16]
    meta[META_DESC].value = yaml.safe_dump(data)
    meta[META_HASH].value = parse_desc(data).hash()  # consistent metadata, another graph


def _dangling_input(meta) -> None:
    data = yaml.safe_load(meta[META_DESC].value)
    data["cell_descs"][1]["nodes"][0]["edges"][0]["input_ids"] = [9]
    meta[META_DESC].value = yaml.safe_dump(data)


TAMPERED = {
    "a stored hash that is not the description's": (
        lambda meta: setattr(meta[META_HASH], "value", "0" * 64),
        "metadata descgraph.desc_hash '000000000000' is not the hash of its descgraph.model_desc",
    ),
    "a description of another input shape": (
        _other_input_shape,
        "the graph's input shape [3, 32, 32] is not its metadata description's input_shape [3, 16, 16]",
    ),
    "a description that does not validate": (
        _dangling_input,
        "(metadata descgraph.model_desc): cell_descs[1].nodes[0].edges[0].input_ids: state 9 does not exist",
    ),
}


@pytest.mark.parametrize("case", list(TAMPERED))
def test_measure_refuses_an_onnx_file_whose_metadata_does_not_match(case, exported, tmp_path, capsys):
    edit, expected = TAMPERED[case]
    path = _tampered(exported, tmp_path / "model.onnx", edit)
    assert main(["measure", str(path), "--runs", "1", "--rounds", "1", "--warmup", "0", "--no-eager"]) == 2
    err = one_line_error(capsys)
    assert err.startswith(f"descgraph: error: {path}") and expected in err, err


# --- a conf include of a file that is not a conf ----------------------------------------------------------
@pytest.mark.parametrize(
    "secret",
    [
        "root:SECRET-HASH:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n",
        "[default]\nkey = SECRET-HASH\n",
        "[SECRET-HASH\n",
    ],
    ids=["shadow", "credentials", "malformed"],
)
def test_an_include_of_a_secret_file_does_not_echo_it(secret, tmp_path, capsys):
    (tmp_path / "shadow").write_text(secret)
    (tmp_path / "c.yaml").write_text(f"__include__: {tmp_path / 'shadow'}\n")
    assert main(["validate", str(tmp_path / "c.yaml")]) == 2
    err = one_line_error(capsys)
    assert str(tmp_path / "shadow") in err and "SECRET" not in err, err
