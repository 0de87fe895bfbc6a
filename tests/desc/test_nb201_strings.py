"""NAS-Bench-201 architecture strings: every string of the benchmark round-trips; malformed ones say where."""

from __future__ import annotations

import csv

import pytest

from descgraph.desc.nb201 import EDGES, NB201_OPS, format_nb201, parse_nb201
from descgraph.errors import DescError

BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"


def test_parse_names_the_edges_in_string_order():
    assert EDGES == ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
    ops = parse_nb201(BEST)
    assert ops == ("nor_conv_3x3", "nor_conv_3x3", "avg_pool_3x3", "skip_connect", "nor_conv_3x3", "skip_connect")
    assert format_nb201(ops) == BEST


def test_every_benchmark_string_round_trips(shared_data):
    with (shared_data / "nb201" / "accuracy.csv").open() as f:
        archs = [row["arch"] for row in csv.DictReader(f)]
    assert len(archs) == len(set(archs)) == len(NB201_OPS) ** len(EDGES) == 15_625
    assert all(format_nb201(parse_nb201(a)) == a for a in archs)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("|conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|", "node 1 edge 'conv_3x3~0': unknown op 'conv_3x3'"),
        ("|none~0|+|none~0|none~2|+|none~0|none~1|none~2|", "node 2 edge 'none~2' must read '<op>~1'"),
        ("|none~0|+|none~0|+|none~0|none~1|none~2|", "node 2 needs 2 edges"),
        ("|none~0|+|none~0|none~1|", "expected 3 nodes"),
        ("none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "node 1 'none~0|' must be"),
    ],
)
def test_malformed_strings_name_the_node(text, message):
    with pytest.raises(DescError, match="^line 7: ") as err:
        parse_nb201(text, source="line 7")
    assert message in str(err.value)
    assert "\n" not in str(err.value)
