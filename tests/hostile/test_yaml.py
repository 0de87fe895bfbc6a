"""Hostile YAML and JSON: alias bombs, deep nesting and duplicate keys are one line, refused before any work."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from descgraph._files import read_data
from descgraph.conf import load_conf
from descgraph.desc import load_desc
from descgraph.errors import ConfError, DescError
from descgraph.interop.archai_yaml import parse_archai_yaml

MAX_DEPTH = 100  # the nesting YAML and JSON files may have
# Expanded, this is 9**9 (387 million) strings: the billion-laughs shape.
ALIAS_BOMB = 'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n' + "".join(
    f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi")
)


def _one_line(err: pytest.ExceptionInfo, *parts: str) -> str:
    message = str(err.value)
    assert "\n" not in message
    for part in parts:
        assert part in message
    return message


def _cli(argv: list[str], timeout: float = 60) -> subprocess.CompletedProcess:
    """`descgraph ARGV` in a subprocess that is killed after `timeout` seconds (a hang fails, never blocks)."""
    return subprocess.run(
        [sys.executable, "-m", "descgraph.cli", *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )


def test_an_alias_bomb_conf_is_one_line_and_exit_2(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text("nas:\n  search:\n    model_desc:\n      params:\n" + _indent(ALIAS_BOMB, 8))
    done = _cli(["validate", str(path)], timeout=60)
    assert done.returncode == 2
    err = done.stderr.strip()
    assert len(err.splitlines()) == 1 and str(path) in err and "aliases" in err


def _indent(text: str, n: int) -> str:
    return "".join(" " * n + line + "\n" for line in text.splitlines())


def test_an_alias_bomb_desc_is_refused_before_it_expands(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text("params:\n" + _indent(ALIAS_BOMB, 2))
    with pytest.raises(DescError) as err:
        load_desc(path)
    _one_line(err, str(path), "aliases")


def test_an_alias_bomb_in_an_archai_file_is_refused():
    with pytest.raises(DescError) as err:
        parse_archai_yaml(ALIAS_BOMB, "final_model_desc.yaml")
    _one_line(err, "final_model_desc.yaml (line ", "aliases")


def test_a_chain_of_aliases_cannot_nest_deeper_than_the_bound():
    chain = "a0: &a0 [1]\n" + "".join(f"a{i}: &a{i} [*a{i - 1}]\n" for i in range(1, 2 * MAX_DEPTH))
    with pytest.raises(DescError) as err:
        parse_archai_yaml(chain, "chain.yaml")
    _one_line(err, "chain.yaml (line ", f"nested deeper than {MAX_DEPTH} levels")


def test_a_conf_nested_1000_deep_is_one_line(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text("common:\n" + "".join("  " * i + f"  k{i}:\n" for i in range(1, 1000)))
    with pytest.raises(ConfError) as err:
        load_conf([path])
    _one_line(err, str(path), f"nested deeper than {MAX_DEPTH} levels")


def test_a_flow_list_nested_1000_deep_is_one_line(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text("params: " + "[" * 1000 + "]" * 1000 + "\n")
    with pytest.raises(DescError) as err:
        load_desc(path)
    _one_line(err, str(path), "(line 1)", f"nested deeper than {MAX_DEPTH} levels")


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 100_000])
def test_json_nested_deep_is_one_line(tmp_path, depth):
    path = tmp_path / "deep.json"
    path.write_text('{"params": ' + "[" * depth + "]" * depth + "}")
    with pytest.raises(DescError) as err:
        load_desc(path)
    _one_line(err, str(path), f"nested deeper than {MAX_DEPTH} levels")


@pytest.mark.slow
def test_json_nested_100000_deep_is_one_line_from_the_cli(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    done = _cli(["show", str(path)])
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1


def test_a_duplicate_key_in_a_conf_names_the_file_the_key_and_its_line(tmp_path):
    path = tmp_path / "dup.yaml"
    path.write_text("common:\n  seed: 1\n  resume: false\n  seed: 8\n")
    with pytest.raises(ConfError) as err:
        load_conf([path])
    _one_line(err, f"{path} (line 4): duplicate key 'seed' (first at line 2)")


def test_a_duplicate_key_in_an_override_value_is_refused(tmp_path):
    with pytest.raises(ConfError) as err:
        load_conf(["darts_toy"], ["nas.search.model_desc.params={a: 1, a: 2}"])
    _one_line(err, "duplicate key 'a'")


def test_a_duplicate_key_in_a_desc_is_refused(tmp_path):
    path = tmp_path / "desc.yaml"
    path.write_text("n_classes: 10\ninput_shape: [3, 32, 32]\nn_classes: 100\n")
    with pytest.raises(DescError) as err:
        load_desc(path)
    _one_line(err, f"{path} (line 3): duplicate key 'n_classes'")


def test_a_merge_key_may_still_be_overridden(tmp_path):
    path = tmp_path / "merge.yaml"
    path.write_text("base: &base {seed: 1, resume: false}\ncommon:\n  <<: *base\n  seed: 8\n")
    assert read_data(path, ConfError)["common"] == {"seed": 8, "resume": False}


def test_an_alias_inside_its_own_anchor_is_one_line(tmp_path):
    with pytest.raises(ConfError) as err:
        load_conf(["darts_toy"], ["common=&a [*a]"])
    _one_line(err, "command line: common", "a YAML alias inside its own anchor")


def test_a_character_yaml_does_not_allow_is_one_line():
    with pytest.raises(ConfError) as err:
        load_conf(["darts_toy"], ["algo=\x1b"])
    _one_line(err, "command line: algo", "malformed YAML")


@pytest.mark.parametrize(("suffix", "text"), [(".json", '{"schema_version": 1, "n": %s}'), (".yaml", "n: %s\n")])
def test_a_number_of_thousands_of_digits_is_one_line(tmp_path, capsys, suffix, text):
    # Python refuses to convert an integer of more than 4,300 digits (a guard against quadratic conversion)
    path = tmp_path / f"huge{suffix}"
    path.write_text(text % ("9" * 5000))
    with pytest.raises(DescError) as err:
        read_data(path)
    assert str(err.value) == f"{path}: a number of more than {sys.get_int_max_str_digits():,} digits"
    from descgraph.cli import main

    assert main(["show", str(path)]) == 2
    assert capsys.readouterr().err.strip() == f"descgraph: error: {err.value}"
