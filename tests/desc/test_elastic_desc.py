"""Elastic supernet descriptions: channel rounding, child configs, their checks and static children."""

from __future__ import annotations

import pytest

from descgraph.builders import get_builder
from descgraph.conf import load_conf
from descgraph.desc import validate_model_desc
from descgraph.desc.elastic import (
    BigNASConfig,
    apply_config,
    check_config,
    elastic_space,
    largest_config,
    make_divisible,
    mbconv_params,
    smallest_config,
)
from descgraph.errors import DescError


@pytest.fixture(scope="module")
def supernet():
    md = load_conf("bignas_toy").nas.search.model_desc
    return get_builder(md.builder).build(md)


@pytest.mark.parametrize(
    ("value", "divisor", "expected"),
    [
        (32 * 0.75, 8, 24),  # MobileNetV2 0.75x: 32 -> 24 channels
        (16 * 0.35, 8, 8),  # never below the divisor
        (67.2, 8, 64),  # rounds down when within 10%
        (19.0, 8, 24),  # 16 would lose more than 10%, so one divisor more
        (12, 4, 12),
    ],
)
def test_make_divisible(value, divisor, expected):
    assert make_divisible(value, divisor) == expected


def test_mbconv_params_hand_derived():
    # 16 in, ratio 6: 96 middle channels, SE a quarter of them: 24; residual only when asked
    p = mbconv_params(16, 24, 5, 6, 2, True, "hswish", divisor=8)
    assert p == {
        "ch_in": 16,
        "ch_mid": 96,
        "ch_out": 24,
        "kernel": 5,
        "stride": 2,
        "act": "hswish",
        "ch_se": 24,
        "has_expand": True,
        "residual": False,
    }


def test_supernet_desc_validates_and_records_its_space(supernet):
    validate_model_desc(supernet)
    space = elastic_space(supernet)
    # bignas_digits: stem stride 1, stages 1, 2, 2, 1 -> total stride 4; resolutions 8, 12, 16
    assert (space.total_stride, space.resolutions) == (4, [8, 12, 16])
    # stage 2: 32 channels at widths 0.5, 0.75, 1.0 with divisor 4 -> 16, 24, 32
    assert space.stages[2].channels == [16, 24, 32]
    assert [len(c.nodes) for c in supernet.cell_descs] == [1, 2, 2, 2, 1]  # largest depths, then the head
    assert supernet.input_shape == [1, 16, 16]


def test_static_children_have_hand_derived_sizes(supernet):
    space = elastic_space(supernet)
    small = apply_config(supernet, smallest_config(space))
    validate_model_desc(small)
    assert small.input_shape == [1, 8, 8]
    assert [len(c.nodes) for c in small.cell_descs] == [1, 1, 1, 1, 1]
    block = small.cell_descs[1].nodes[0].edges[0].op_desc
    # stage 1 (24 channels at 0.5 -> 12) reads stage 0's 16 channels at ratio 2: middle 32
    assert (block.name, block.ch_in, block.params["ch_mid"], block.ch_out, block.params["kernel"]) == (
        "mbconv",
        16,
        32,
        12,
        3,
    )
    assert [c.out_shape for c in small.cell_descs] == [[16, 8, 8], [12, 4, 4], [16, 2, 2], [24, 2, 2], [64, 2, 2]]
    large = apply_config(supernet, largest_config(space))
    validate_model_desc(large)
    assert not any(
        op.name.startswith("elastic") for c in large.cell_descs for n in c.nodes for op in [n.edges[0].op_desc]
    )
    assert large.cell_descs[3].nodes[1].edges[0].op_desc.params["residual"] is True
    assert "elastic" not in large.params and large.params["bignas_config"]["resolution"] == 16


def _config(**changes) -> BigNASConfig:
    base = {
        "resolution": 8,
        "depths": [1, 1, 1, 1],
        "widths": [1.0, 0.5, 0.5, 0.5],
        "kernel_sizes": [[3], [3], [3], [3]],
        "expansion_ratios": [[1], [2], [2], [2]],
    }
    return BigNASConfig(**{**base, **changes})


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"depths": [1, 3, 1, 1]}, "config: depths[1]: 3 is not an allowed depth of stage 1 (allowed: 1, 2)"),
        (
            {"kernel_sizes": [[3], [7], [3], [3]]},
            "config: kernel_sizes[1][0]: 7 is not an allowed kernel size (allowed: 3, 5)",
        ),
        ({"resolution": 10}, "config: resolution: 10 is not an allowed resolution (allowed: 8, 12, 16)"),
        ({"widths": [1.0, 0.6, 0.5, 0.5]}, "config: widths[1]: 0.6 is not an allowed width of stage 1"),
        ({"expansion_ratios": [[1], [3], [2], [2]]}, "expansion ratio (allowed: 2, 4)"),
        ({"depths": [1, 2, 1, 1]}, "config: kernel_sizes[1]: 1 entries for depth 2"),
        ({"depths": [1, 1, 1]}, "config: depths: 3 entries for 4 stages"),
    ],
)
def test_bad_configs_are_one_line_errors_naming_value_and_allowed_set(supernet, changes, message):
    with pytest.raises(DescError) as err:
        check_config(elastic_space(supernet), _config(**changes))
    assert message in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(DescError, match="config: "):
        apply_config(supernet, _config(**changes))


def test_a_plain_desc_is_not_a_supernet():
    md = load_conf("darts_toy").nas.search.model_desc
    desc = get_builder(md.builder).build(md)
    with pytest.raises(DescError, match="params.elastic is missing: not an elastic supernet"):
        elastic_space(desc)
