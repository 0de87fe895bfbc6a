"""Cost models by name: params and FLOPs agree with the DARTS paper's network."""

from __future__ import annotations

import pytest

from descgraph.builders import build_from_genotype, get_builder
from descgraph.conf import load_conf, resolve_conf_path
from descgraph.desc.genotype import parse_genotype
from descgraph.errors import RegistryError
from descgraph.hw import COST_MODELS, get_cost_model


@pytest.fixture(scope="module")
def darts_v2_eval():
    conf = load_conf([resolve_conf_path("darts")])
    final = build_from_genotype(parse_genotype("DARTS_V2"), conf.nas.search.model_desc)
    md = conf.nas.eval.model_desc
    return get_builder(md.builder).build(md, template=final)


def test_params_cost_is_the_published_count(darts_v2_eval):
    # DARTS (Liu et al. 2019), Table 1: 3.3M; the original code counts 3,349,342 without the aux tower
    assert get_cost_model("params").cost(darts_v2_eval) == pytest.approx(3.349342)


def test_flops_cost_is_twice_the_multiply_adds(darts_v2_eval):
    # DARTS_V2 on CIFAR-10: about 528M multiply-adds in the convolution and linear layers
    assert 2 * 500 < get_cost_model("flops")(darts_v2_eval) < 2 * 560


def test_unknown_cost_model_lists_close_names():
    assert {"params", "flops"} <= set(COST_MODELS.names())
    with pytest.raises(RegistryError, match="did you mean: flops"):
        get_cost_model("flop")
