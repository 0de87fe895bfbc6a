"""What the fuzzer found in descriptions: each is one line before anything is compiled."""

from __future__ import annotations

import copy

import pytest

from descgraph.builders import get_builder
from descgraph.conf import load_conf
from descgraph.desc import parse_desc, validate_model_desc
from descgraph.errors import DescError


@pytest.fixture(scope="module")
def built() -> dict:
    md = load_conf(["darts_toy"]).nas.search.model_desc
    return get_builder(md.builder).build(md).model_dump(mode="json")


@pytest.fixture
def supernet(built) -> dict:
    return copy.deepcopy(built)


@pytest.mark.parametrize("value", ["", -4, 2.5, True, None])
def test_a_channel_count_that_is_no_positive_integer_is_one_line(supernet, value):
    supernet["cell_descs"][0]["nodes"][0]["edges"][1]["op_desc"]["children"][4]["params"]["ch_in"] = value
    with pytest.raises(DescError) as err:
        parse_desc(supernet, source="s.yaml")
    message = str(err.value)
    assert "\n" not in message and message.startswith("s.yaml: cell_descs[0].nodes[0].edges[1].op_desc.children[4]")
    assert "params.ch_in: expected a positive integer" in message


def test_a_cell_sharing_the_alphas_of_a_cell_with_other_edges_is_one_line(supernet):
    del supernet["cell_descs"][2]["nodes"][0]["edges"][1]  # cell 2 shares cell 0's architecture parameters
    desc = parse_desc(supernet, source="s.yaml")
    with pytest.raises(DescError) as err:
        validate_model_desc(desc, source="s.yaml")
    assert str(err.value) == (
        "s.yaml: cell_descs[2].trainables_from: cell 0 has other nodes, edges or candidate ops: "
        "it has no parameters to share"
    )
