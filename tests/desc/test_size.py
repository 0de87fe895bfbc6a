"""The size estimate against the compiled network: an upper estimate, within a factor of 3 on known networks."""

from __future__ import annotations

import pytest
import torch

from descgraph.builders import build_enas_micro, build_nb201, get_builder, nb201_model_conf
from descgraph.conf import load_conf
from descgraph.conf.schema import ModelDescConf
from descgraph.desc import ModelDesc
from descgraph.desc.enas import loose_ends
from descgraph.desc.genotype import Genotype
from descgraph.desc.size import estimate_size
from descgraph.interop import from_genotype
from descgraph.nn import Model

pytestmark = pytest.mark.usefixtures("one_thread")
FACTOR = 3  # the estimate is at least the compiled count and at most this many times it

ENAS_CELL = [("sep_conv_bn_3x3", 0), ("skip_connect", 1), ("avg_pool_3x3", 2), ("sep_conv_bn_5x5", 0)]


def _stage(names: list[str], stage: str, template: ModelDesc | None = None) -> ModelDesc:
    md = getattr(load_conf(names).nas, stage).model_desc
    return get_builder(md.builder).build(md, template=template)


NETWORKS = {
    "darts_v2_eval": lambda: _stage(["darts"], "eval", from_genotype("DARTS_V2")),
    "darts_search_supernet": lambda: _stage(["darts"], "search"),
    "bignas_supernet": lambda: _stage(["bignas_digits"], "search"),
    "nb201": lambda: build_nb201(
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|nor_conv_1x1~0|none~1|avg_pool_3x3~2|", nb201_model_conf()
    ),
    "enas_micro": lambda: build_enas_micro(
        Genotype(ENAS_CELL, loose_ends(ENAS_CELL), ENAS_CELL, loose_ends(ENAS_CELL)), ModelDescConf(n_cells=8)
    ),
}


def _activations(model: Model, input_shape: list[int]) -> int:
    """Elements of every leaf module's output in one batch-1 forward (what autograd may keep)."""
    total = 0

    def count(_module, _inputs, out):
        nonlocal total
        total += out.numel() if isinstance(out, torch.Tensor) else 0

    leaves = [m for m in model.modules() if not list(m.children())]
    handles = [m.register_forward_hook(count) for m in leaves]
    with torch.no_grad():
        model.eval()(torch.zeros(1, *input_shape))
    for h in handles:
        h.remove()
    return total


@pytest.mark.parametrize("name", NETWORKS)
def test_the_estimate_bounds_the_compiled_network_within_a_factor(name):
    desc = NETWORKS[name]()
    model = Model(desc, droppath=False)
    size = estimate_size(desc)
    params = model.param_count(with_aux=True)
    assert params <= size.params <= FACTOR * params
    activations = _activations(model, desc.input_shape)
    assert activations * 4 <= size.activation_bytes <= FACTOR * activations * 4


def test_the_published_darts_v2_count_is_within_the_estimate():
    size = estimate_size(_stage(["darts"], "eval", from_genotype("DARTS_V2")))
    assert 3_825_768 <= size.params <= FACTOR * 3_825_768  # DARTS's own count, aux tower included
