"""The supernet's MixedOp shortcuts keep the math: the plain softmax-weighted sum within 1e-5."""

from __future__ import annotations

import pytest
import torch

from algos.darts.builder import mixed_op_desc
from descgraph.conf.schema import ModelDescConf
from descgraph.ops import create

PRIMITIVES = ModelDescConf().primitives


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_mixed_op_equals_the_plain_weighted_sum(stride, layout):
    desc = mixed_op_desc(PRIMITIVES, 8, stride)
    torch.manual_seed(0)
    mixed = create(desc, affine=False).to(memory_format=layout)
    torch.manual_seed(0)  # the same initial weights, built the plain way
    plain = [create(c, affine=False).to(memory_format=layout) for c in desc.children]
    with torch.no_grad():
        mixed.alphas.normal_()
    x = torch.randn(4, 8, 8, 8).contiguous(memory_format=layout).requires_grad_(True)
    x_ref = x.detach().clone().requires_grad_(True)
    alphas_ref = mixed.alphas.detach().clone().requires_grad_(True)
    ref = sum(w * op(x_ref) for w, op in zip(torch.softmax(alphas_ref, -1), plain))
    out = mixed(x)
    assert (out - ref).abs().max() <= 1e-5
    g = torch.randn_like(ref)
    out.backward(g)
    ref.backward(g)
    assert (x.grad - x_ref.grad).abs().max() <= 1e-5
    assert (mixed.alphas.grad - alphas_ref.grad).abs().max() <= 1e-5


def test_none_is_not_run_and_relu_is_shared():
    mixed = create(mixed_op_desc(PRIMITIVES, 4, 1), affine=False)
    names = [c.name for c in mixed_op_desc(PRIMITIVES, 4, 1).children]
    assert names[0] == "none" and 0 not in mixed.active
    assert [names[i] for i, r in enumerate(mixed.reads_relu) if r] == [
        "sep_conv_3x3",
        "sep_conv_5x5",
        "dil_conv_3x3",
        "dil_conv_5x5",
    ]
