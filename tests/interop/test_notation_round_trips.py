"""Genotypes and NAS-Bench-201 strings through descriptions and back, unchanged; bad ones in one line."""

from __future__ import annotations

import random

import pytest

from descgraph.cli import main
from descgraph.desc.genotype import NAMED, Genotype, format_genotype, parse_genotype
from descgraph.desc.nb201 import NB201_OPS, format_nb201
from descgraph.errors import DescError
from descgraph.interop import darts_macro, from_genotype, from_nb201, to_genotype, to_nb201

DARTS_OPS = (
    "max_pool_3x3",
    "avg_pool_3x3",
    "skip_connect",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
)


def _random_genotype(rng: random.Random, n_nodes: int = 4) -> Genotype:
    def cell() -> list[tuple[str, int]]:
        return [(rng.choice(DARTS_OPS), rng.randrange(2 + j)) for j in range(n_nodes) for _ in range(2)]

    concat = list(range(2, 2 + n_nodes))
    return Genotype(normal=cell(), normal_concat=concat, reduce=cell(), reduce_concat=list(concat))


@pytest.mark.parametrize("name", sorted(NAMED))
def test_every_named_genotype_goes_genotype_desc_genotype_unchanged(name):
    genotype = parse_genotype(name)
    assert to_genotype(from_genotype(genotype)) == genotype
    assert parse_genotype(format_genotype(to_genotype(from_genotype(name)))) == genotype


def test_random_genotypes_go_genotype_desc_genotype_unchanged():
    rng, conf = random.Random(2019), darts_macro()
    for _ in range(200):
        genotype = _random_genotype(rng)
        assert to_genotype(from_genotype(format_genotype(genotype), conf)) == genotype


def test_random_nb201_strings_go_string_desc_string_unchanged():
    rng = random.Random(2020)
    for _ in range(200):
        arch = format_nb201(tuple(rng.choice(NB201_OPS) for _ in range(6)))
        assert to_nb201(from_nb201(arch)) == arch


def test_export_arch_prints_the_literal_and_the_string(tmp_path, capsys):
    arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
    g, n = tmp_path / "g.yaml", tmp_path / "n.yaml"
    assert main(["import", "genotype", "DARTS_V1", "-o", str(g)]) == 0
    assert main(["import", "nb201", arch, "-o", str(n)]) == 0
    capsys.readouterr()
    assert main(["export-arch", str(g), "--to", "genotype"]) == 0
    assert parse_genotype(capsys.readouterr().out) == NAMED["DARTS_V1"]
    assert main(["export-arch", str(n), "--to", "nb201"]) == 0
    assert capsys.readouterr().out.strip() == arch


def test_a_genotype_reading_a_later_node_is_one_line_and_exit_2(tmp_path, capsys):
    bad = format_genotype(NAMED["DARTS_V2"]).replace("('sep_conv_3x3', 1)", "('sep_conv_3x3', 4)", 1)
    with pytest.raises(DescError, match=r"normal\[1\].*state 4.*not earlier than its node \(state 2\)"):
        from_genotype(bad)
    for argv in (["import", "genotype", bad], ["genotype", bad]):
        assert main([*argv, "-o", str(tmp_path / "out.yaml")]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "not earlier than its node" in err
    assert not (tmp_path / "out.yaml").exists()


@pytest.mark.parametrize(("to", "expected"), [("genotype", "1 stems"), ("nni", "1 stems")])
def test_a_desc_the_notation_cannot_hold_is_one_line(tmp_path, capsys, to, expected):
    n = tmp_path / "n.yaml"
    assert main(["import", "nb201", "|skip_connect~0|+|none~0|none~1|+|none~0|none~1|none~2|", "-o", str(n)]) == 0
    capsys.readouterr()
    assert main(["export-arch", str(n), "--to", to]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and expected in err


def test_a_darts_desc_is_not_an_nb201_network(tmp_path, capsys):
    g = tmp_path / "g.yaml"
    assert main(["import", "genotype", "DARTS_V2", "-o", str(g)]) == 0
    capsys.readouterr()
    assert main(["export-arch", str(g), "--to", "nb201"]) == 2
    assert "NAS-Bench-201" in capsys.readouterr().err
