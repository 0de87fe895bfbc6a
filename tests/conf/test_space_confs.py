"""The bundled search-space confs (confs/spaces) load, build and validate, for both stages."""

from __future__ import annotations

import pytest

from descgraph.builders import build_nb201, get_builder, nb201_model_conf
from descgraph.conf import confs_dir as package_confs_dir
from descgraph.conf import load_conf
from descgraph.desc import validate_model_desc

SPACES = sorted(p.stem for p in (package_confs_dir() / "spaces").glob("*.yaml"))
ROW_6111 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


def _conf(*names: str):
    return load_conf([package_confs_dir() / name for name in names])


def test_there_are_the_three_spaces():
    assert SPACES == ["enas_macro", "enas_micro", "nb201"]


@pytest.mark.parametrize("space", SPACES)
def test_space_conf_builds_a_valid_network_at_both_stages(space):
    conf = _conf(f"spaces/{space}.yaml")
    for md in (conf.nas.search.model_desc, conf.nas.eval.model_desc):
        assert md.builder == space and md.dataset == conf.dataset
        validate_model_desc(get_builder(md.builder).build(md), source=f"{space}.yaml")


def test_nb201_conf_is_the_benchmark_network_of_its_arch():
    md = _conf("spaces/nb201.yaml").nas.search.model_desc
    assert md.arch == ROW_6111
    assert get_builder("nb201").build(md).hash() == build_nb201(ROW_6111, nb201_model_conf()).hash()
    cifar100 = _conf("spaces/nb201.yaml", "datasets/cifar100.yaml").nas.eval.model_desc
    assert get_builder("nb201").build(cifar100).n_classes == 100


def test_enas_confs_have_nnis_layouts():
    micro = _conf("spaces/enas_micro.yaml").nas.search.model_desc
    assert get_builder("enas_micro").build(micro).reduction_cell_ids() == [2, 5]
    macro = _conf("spaces/enas_macro.yaml").nas.search.model_desc
    assert get_builder("enas_macro").build(macro).reduction_cell_ids() == [4, 8]  # pooling after layers 3 and 7


def test_an_nb201_string_overrides_the_arch_as_written():
    # '|' opens a YAML block scalar: a str field takes the text YAML cannot read as it is
    arch = "|none~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|none~1|nor_conv_1x1~2|"
    conf = load_conf([package_confs_dir() / "spaces" / "nb201.yaml"], [f"nas.search.model_desc.arch={arch}"])
    assert conf.nas.search.model_desc.arch == conf.nas.eval.model_desc.arch == arch
