"""Ops of the zoo spaces compute what NAS-Bench-201's and ENAS's code compute: counts by hand, forward by hand."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from op_examples import counted_op, n_params
from torch import nn

from descgraph.desc import OpDesc
from descgraph.errors import DescError
from descgraph.ops import create


# Layer formulas (C = 16 unless stated): conv k x k C->C' is C*C'*k*k (bias-free), depthwise C*k*k,
# an affine BN 2 per channel. ENAS branches start with a 1x1 conv-BN-ReLU from ch_in to ch_out.
@pytest.mark.parametrize(
    ("desc", "count"),
    [
        (counted_op("sep_conv_bn_3x3"), 16 * 9 + 16 * 16 + 2 * 16),
        (counted_op("sep_conv_bn_5x5", ch_out=32), 16 * 25 + 16 * 32 + 2 * 32),
        (counted_op("enas_conv_3x3", ch_in=48), (48 * 16 + 2 * 16) + 16 * 16 * 9 + 2 * 16),
        (counted_op("enas_conv_5x5"), (16 * 16 + 2 * 16) + 16 * 16 * 25 + 2 * 16),
        (counted_op("enas_sep_conv_3x3"), (16 * 16 + 2 * 16) + 16 * 9 + 16 * 16 + 2 * 16),
        (counted_op("enas_sep_conv_5x5"), (16 * 16 + 2 * 16) + 16 * 25 + 16 * 16 + 2 * 16),
        (counted_op("enas_max_pool_3x3"), (16 * 16 + 2 * 16) + 2 * 16),
        (counted_op("enas_avg_pool_3x3", ch_in=8), (8 * 16 + 2 * 16) + 2 * 16),
        (counted_op("factorized_reduce", ch_out=32, stride=2), 16 * 16 * 2 + 2 * 32),
        (counted_op("factorized_reduce", stride=4), 2 * (16 * 8 * 2 + 2 * 16)),  # two halvings, 16 -> 16 each
        (counted_op("resnet_downsample", ch_out=32, stride=2), 16 * 32),  # 1x1 conv, no BN (NB201 ResNetBasicblock)
        (counted_op("batch_norm"), 2 * 16),
        (counted_op("pool_bn_relu_avg2d"), 2 * 16),
        (counted_op("pool_relu_avg2d"), 0),
    ],
    ids=lambda v: v.name if isinstance(v, OpDesc) else str(v),
)
def test_param_counts_match_the_layer_formulas(desc, count):
    assert n_params(create(desc, affine=True)) == count


def test_factorized_reduce_reads_its_input_without_a_relu():
    torch.manual_seed(0)
    op = create(counted_op("factorized_reduce", 4, 8, stride=2)).eval()
    x = torch.randn(2, 4, 8, 6)
    halving = op[0]
    expected = halving.bn(torch.cat([halving.conv_1(x), halving.conv_2(x[:, :, 1:, 1:])], dim=1))
    assert torch.allclose(op(x), expected)
    with_relu = create(counted_op("prepr_reduce", 4, 8, stride=2))
    with_relu.load_state_dict(halving.state_dict())
    assert not torch.allclose(with_relu.eval()(x), expected)  # negative inputs count here


def test_factorized_reduce_by_four_halves_twice():
    torch.manual_seed(0)
    op = create(counted_op("factorized_reduce", 4, 8, stride=4)).eval()
    x = torch.randn(2, 4, 8, 8)
    assert op(x).shape == (2, 8, 2, 2)
    assert torch.allclose(op(x), op[1](op[0](x)))
    with pytest.raises(DescError, match="stride must be 2 or 4, got 3"):
        create(counted_op("factorized_reduce", stride=3))


def test_resnet_downsample_is_avg_pool_then_1x1_conv():
    torch.manual_seed(0)
    op = create(counted_op("resnet_downsample", 4, 8, stride=2))
    x = torch.randn(2, 4, 8, 8)
    expected = F.conv2d(F.avg_pool2d(x, 2, 2), op[1].weight)
    assert torch.allclose(op(x), expected, atol=1e-6)


def test_enas_branches_keep_the_size_and_start_with_a_1x1_conv_bn_relu():
    for name in ("enas_conv_3x3", "enas_sep_conv_5x5", "enas_max_pool_3x3", "enas_avg_pool_3x3"):
        op = create(counted_op(name, 6, 4))
        first = op[0]
        assert isinstance(first[0], nn.Conv2d) and first[0].kernel_size == (1, 1)
        assert isinstance(first[1], nn.BatchNorm2d) and isinstance(first[2], nn.ReLU)
        assert op(torch.randn(2, 6, 5, 5)).shape == (2, 4, 5, 5)


def test_head_pools_apply_relu_before_averaging():
    x = torch.randn(2, 4, 5, 5)
    assert torch.allclose(create(counted_op("pool_relu_avg2d", 4, 4))(x), F.relu(x).mean(dim=(2, 3)))
    op = create(counted_op("pool_bn_relu_avg2d", 4, 4)).eval()
    with torch.no_grad():
        op.bn.weight.uniform_(0.5, 2.0)
        op.bn.bias.uniform_(-1.0, 1.0)
    assert torch.allclose(op(x), F.relu(op.bn(x)).mean(dim=(2, 3)))
