"""The elastic MobileNet builder: the bundled BigNAS spaces build and validate; bad spaces are one-line errors."""

from __future__ import annotations

import pytest

from descgraph.builders import get_builder
from descgraph.conf import load_conf
from descgraph.desc import validate_model_desc
from descgraph.desc.elastic import apply_config, elastic_space, largest_config, smallest_config
from descgraph.errors import ConfError
from descgraph.nn import Model


def _build(name: str, overrides: list[str] | None = None):
    md = load_conf(name, overrides or []).nas.search.model_desc
    return get_builder(md.builder).build(md)


def test_paper_space_builds_and_validates():
    desc = _build("bignas")
    validate_model_desc(desc)
    space = elastic_space(desc)
    # Table 1 of the BigNAS paper as configured: 7 stages, 192..320 at total stride 32
    assert (len(space.stages), space.resolutions, space.total_stride) == (7, [192, 224, 256, 288, 320], 32)
    assert [s.channels for s in space.stages] == [
        [16, 24],
        [24, 32],
        [40, 48],
        [80, 88],
        [112, 120, 128],
        [192, 200, 208, 216],
        [320, 336, 352],
    ]
    assert [max(s.depths) for s in space.stages] == [2, 3, 3, 4, 6, 6, 2]
    for config in (largest_config(space), smallest_config(space)):
        validate_model_desc(apply_config(desc, config))


def test_supernet_compiles_and_runs_at_every_resolution():
    desc = _build("bignas_toy")
    model = Model(desc, droppath=False).eval()
    import torch

    for r in elastic_space(desc).resolutions:
        assert model(torch.randn(2, 1, r, r))[0].shape == (2, 10)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            ["nas.search.model_desc.elastic.elastic_resolutions=[8,10]"],
            "model_desc.elastic.elastic_resolutions: 10 is not a multiple of the total stride 4 (1 x 1 x 2 x 2 x 1); "
            "allowed: 4, 8, 12, ...",
        ),
        (["nas.search.model_desc.elastic.elastic_kernel_sizes=[3,4]"], "model_desc.elastic.stages[1].kernel_sizes: 4"),
        (["nas.search.model_desc.elastic.elastic_depths=[0,1]"], "model_desc.elastic.stages[1].depths: 0"),
        (["nas.search.model_desc.elastic.stages=[]"], "model_desc.elastic.stages: the elastic space needs"),
    ],
)
def test_bad_spaces_are_one_line_conf_errors(overrides, message):
    with pytest.raises(ConfError) as err:
        _build("bignas_toy", overrides)
    assert message in str(err.value) and "\n" not in str(err.value)
