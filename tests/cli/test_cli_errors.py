"""Malformed confs and descs: exit code 2 and one line naming the file and the key path, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from descgraph.cli import main


@pytest.fixture(scope="module")
def good_desc(tmp_path_factory) -> dict:
    path = tmp_path_factory.mktemp("good") / "final.yaml"
    assert (
        main(
            [
                "genotype",
                "DARTS_V2",
                "-o",
                str(path),
                "--conf",
                "darts",
                "nas.search.model_desc.n_cells=3",
                "nas.search.model_desc.n_reductions=1",
            ]
        )
        == 0
    )
    return yaml.safe_load(path.read_text())


def _desc_edit(edit):
    def make(tmp: Path, good: dict) -> list[str]:
        data = json.loads(json.dumps(good))
        edit(data)
        path = tmp / "bad.yaml"
        path.write_text(yaml.safe_dump(data))
        return ["validate", str(path)]

    return make


def _file(name: str, text: str, *argv: str):
    def make(tmp: Path, good: dict) -> list[str]:
        (tmp / name).write_text(text)
        return [a.replace("{}", str(tmp / name)).replace("{dir}", str(tmp)) for a in argv]

    return make


def _set(path: list, value):
    def edit(data):
        node = data
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return edit


EDGE = ["cell_descs", 1, "nodes", 1, "edges", 0]
CASES = {
    "conf typo key": (
        _file("c.yaml", "nas:\n  search:\n    trainer:\n      epoch: 3\n", "validate", "{}"),
        ["c.yaml", "nas.search.trainer.epoch", "epochs"],
    ),
    "conf wrong type": (
        _file("c.yaml", "nas:\n  eval:\n    model_desc:\n      n_cells: many\n", "validate", "{}"),
        ["c.yaml", "nas.eval.model_desc.n_cells"],
    ),
    "conf another algorithm's key": (
        _file("c.yaml", "algo: bignas\nnas:\n  search:\n    trainer:\n      order: second\n", "validate", "{}"),
        ["c.yaml", "nas.search.trainer.order: unknown key for algo 'bignas': it belongs to algo darts"],
    ),
    "conf broken algorithm rule": (
        _file("x.txt", "", "build", "darts", "nas.search.loader.val_ratio=0", "-o", "{}"),
        ["command line: nas.search.loader.val_ratio: DARTS search needs a value in (0, 1)"],
    ),
    "conf unknown algorithm": (
        _file("c.yaml", "algo: bignaz\n", "validate", "{}"),
        ["c.yaml", "algo: unknown algorithm 'bignaz' (did you mean: bignas?)"],
    ),
    "conf missing include": (
        _file("c.yaml", "__include__: nowhere.yaml\n", "validate", "{}"),
        ["c.yaml", "nowhere.yaml"],
    ),
    "conf include cycle": (_file("c.yaml", "__include__: c.yaml\n", "validate", "{}"), ["c.yaml", "cycle"]),
    "conf bad _copy": (
        _file("c.yaml", "nas:\n  eval:\n    trainer: '_copy: /nas/nothing'\n", "validate", "{}"),
        ["nas.eval.trainer", "/nas/nothing"],
    ),
    "conf python tag": (
        _file("c.yaml", "algo: !!python/object/apply:os.system ['touch {dir}/pwned']\n", "validate", "{}"),
        ["c.yaml"],
    ),
    "conf truncated": (_file("c.yaml", "nas:\n  search: {trainer: [1, 2\n", "validate", "{}"), ["c.yaml"]),
    "override unknown key": (
        _file("x.txt", "", "build", "darts", "nas.search.model_desc.n_cell=3", "-o", "{}"),
        ["nas.search.model_desc.n_cell", "n_cells"],
    ),
    "override bad type": (
        _file("x.txt", "", "build", "darts", "nas.search.trainer.epochs=lots", "-o", "{}"),
        ["nas.search.trainer.epochs"],
    ),
    "unknown bundled conf": (_file("x.txt", "", "build", "dartz", "-o", "{}"), ["dartz", "darts"]),
    "desc unknown op": (_desc_edit(_set([*EDGE, "op_desc", "name"], "sep_conv_3x4")), ["sep_conv_3x4", "sep_conv_3x3"]),
    "desc dangling input": (
        _desc_edit(_set([*EDGE, "input_ids"], [7])),
        ["bad.yaml", "cell_descs[1].nodes[1].edges[0].input_ids: state 7 does not exist"],
    ),
    "desc cycle": (_desc_edit(_set([*EDGE, "input_ids"], [3])), ["cell_descs[1].nodes[1].edges[0].input_ids", "cycle"]),
    "desc channel mismatch": (
        _desc_edit(_set([*EDGE, "op_desc", "params", "ch_in"], 5)),
        ["cell_descs[1].nodes[1].edges[0].op_desc.params.ch_in"],
    ),
    "desc unknown key": (_desc_edit(_set(["cell_descs", 0, "colour"], "red")), ["bad.yaml", "cell_descs[0].colour"]),
    "desc wrong type": (_desc_edit(_set(["n_classes"], "ten")), ["bad.yaml", "n_classes"]),
    "desc schema version": (_desc_edit(_set(["schema_version"], 99)), ["bad.yaml", "schema_version"]),
    "desc zero size": (_desc_edit(_set(["input_shape"], [3, 0, 32])), ["bad.yaml", "input_shape[1]"]),
    "desc truncated": (
        _file("d.yaml", "input_shape: [3, 32, 32]\ncell_descs:\n  - {id: 0, stems: [\n", "show", "{}"),
        ["d.yaml"],
    ),
    "desc python tag": (
        _file("d.yaml", "!!python/object/apply:os.system ['touch {dir}/pwned']\n", "show", "{}"),
        ["d.yaml"],
    ),
    "desc missing file": (_file("x.txt", "", "show", "{dir}/absent.yaml"), ["absent.yaml"]),
    "desc bad json": (_file("d.json", '{"cell_descs": [', "show", "{}"), ["d.json"]),
    "bad genotype": (_file("x.txt", "", "genotype", "Genotype(normal=[('sep_conv_3x3',)])", "-o", "{}"), ["genotype"]),
    "missing template": (
        _file("x.txt", "", "build", "darts", "--stage", "eval", "--template", "{dir}/none.yaml", "-o", "{}"),
        ["none.yaml"],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_malformed_input_exits_2_with_one_line(case, tmp_path, good_desc, capsys):
    make, expected = CASES[case]
    argv = make(tmp_path, good_desc)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    for text in expected:
        assert text in err, (text, err)
    assert not (tmp_path / "pwned").exists()


def test_an_output_under_a_regular_file_is_one_line(tmp_path, capsys):
    (tmp_path / "afile").write_text("mine\n")
    assert main(["genotype", "DARTS_V2", "-o", str(tmp_path / "afile" / "final.yaml")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("descgraph: error: ") and "afile" in err and "\n" not in err
    assert (tmp_path / "afile").read_text() == "mine\n"


def test_a_reader_that_goes_away_ends_the_command_quietly(tmp_path):
    desc = tmp_path / "final.yaml"
    assert main(["genotype", "DARTS_V2", "-o", str(desc)]) == 0
    proc = subprocess.Popen(
        [sys.executable, "-m", "descgraph.cli", "show", str(desc), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.close()  # as `| head -0` would: every write finds the pipe closed
    assert proc.wait(timeout=120) == 141
    assert proc.stderr.read().decode() == ""


def test_a_genotype_with_an_unknown_op_is_refused_before_anything_is_written(tmp_path, capsys):
    normal = [("sep_conv_9x9", 0), ("sep_conv_3x3", 1)] + [("sep_conv_3x3", 1)] * 6
    reduce = [("max_pool_3x3", 0)] * 8
    literal = f"Genotype(normal={normal}, normal_concat=[2, 3, 4, 5], reduce={reduce}, reduce_concat=[2, 3, 4, 5])"
    assert main(["genotype", literal, "-o", str(tmp_path / "final.yaml")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("descgraph: error: genotype: ") and "unknown op 'sep_conv_9x9'" in err
    assert not (tmp_path / "final.yaml").exists()


@pytest.mark.parametrize("char", ["\n", "\r", "\x1b", "\u2028"])
def test_a_name_holding_a_line_break_or_control_character_is_still_one_line(tmp_path, capsys, char):
    # the key is echoed in the message: raw, a newline or U+2028 would start a second line, an escape recolour it
    assert main(["run", "rea_toy", f"nas.sea{char}rch.x=1", "--expdir", str(tmp_path), "--no-eval"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.endswith("\n")  # the one final newline
    line = err[:-1]
    assert line.isprintable() and "\u2028" not in line and "\x1b" not in line
    escaped = {"\n": "\\n", "\r": "\\r", "\x1b": "\\x1b", "\u2028": "\\u2028"}[char]
    assert f"command line: nas.sea{escaped}rch: unknown key" in line
