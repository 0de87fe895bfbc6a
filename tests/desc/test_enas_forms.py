"""ENAS native forms: loose ends as ENAS and NNI's zoo count them, the macro layer list as text."""

from __future__ import annotations

import pytest

from descgraph.desc.enas import format_macro_arch, loose_ends, parse_macro_arch
from descgraph.errors import DescError


def test_loose_ends_are_the_states_no_node_reads_inputs_included():
    # NNI ENASMicroLayer: the mask of used states covers the two inputs; unused ones join the output
    assert loose_ends([("skip_connect", 0), ("skip_connect", 1), ("avg_pool_3x3", 2), ("skip_connect", 2)]) == [3]
    assert loose_ends([("skip_connect", 0), ("skip_connect", 0), ("avg_pool_3x3", 2), ("skip_connect", 0)]) == [1, 3]
    assert loose_ends([("skip_connect", 0), ("skip_connect", 0)], n_stems=1) == [1]


def test_macro_text_round_trips():
    arch = (("enas_conv_3x3", ()), ("enas_sep_conv_5x5", (0,)), ("enas_avg_pool_3x3", (0, 1)))
    text = format_macro_arch(arch)
    assert text == "[('enas_conv_3x3', []), ('enas_sep_conv_5x5', [0]), ('enas_avg_pool_3x3', [0, 1])]"
    assert parse_macro_arch(text) == arch
    assert parse_macro_arch('[["enas_conv_5x5", []], ["enas_max_pool_3x3", [0]]]') == (
        ("enas_conv_5x5", ()),
        ("enas_max_pool_3x3", (0,)),
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("__import__('os')", "conf.yaml: expected a list of (op, [skips]) layers"),
        ("[]", "conf.yaml: expected a non-empty list"),
        ("[('enas_conv_3x3', [0])]", "conf.yaml[0].skips: [0] must be distinct earlier outputs"),
        ("[('enas_conv_3x3', []), ('enas_conv_3x3', [0, 0])]", "conf.yaml[1].skips: [0, 0] must be distinct"),
        ("[('enas_conv_3x3', []), ('conv_3x3', [])]", "conf.yaml[1]: unknown ENAS macro op 'conv_3x3'"),
        ("[('enas_conv_3x3', [True])]", "conf.yaml[0]: expected (op, [skips]) with integer skips"),
        ("[('enas_conv_3x3',)]", "conf.yaml[0]: expected (op, [skips])"),
    ],
)
def test_malformed_macro_text_names_the_layer(text, message):
    with pytest.raises(DescError) as err:
        parse_macro_arch(text, source="conf.yaml")
    assert str(err.value).startswith(message) and "\n" not in str(err.value)
