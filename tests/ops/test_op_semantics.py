"""Ops compute what DARTS's operations.py computes: parameter counts by hand, pooling, zero, factorized reduce."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from op_examples import counted_op, n_params
from torch import nn

from descgraph.desc import OpDesc
from descgraph.ops import create


# Counts from the published layer formulas (C = 16): conv k x k C->C' is C*C'*k*k (bias-free),
# depthwise is C*k*k, an affine BN is 2 per channel, a linear layer is in*out + out.
@pytest.mark.parametrize(
    ("desc", "count"),
    [
        (counted_op("sep_conv_3x3"), 2 * (16 * 9 + 16 * 16 + 2 * 16)),  # 864
        (counted_op("sep_conv_5x5"), 2 * (16 * 25 + 16 * 16 + 2 * 16)),
        (counted_op("sep_conv_7x7"), 2 * (16 * 49 + 16 * 16 + 2 * 16)),
        (counted_op("sep_conv_3x3", ch_out=32, stride=2), (16 * 9 + 16 * 16 + 2 * 16) + (16 * 9 + 16 * 32 + 2 * 32)),
        (counted_op("dil_conv_3x3"), 16 * 9 + 16 * 16 + 2 * 16),
        (counted_op("dil_conv_5x5"), 16 * 25 + 16 * 16 + 2 * 16),
        (counted_op("conv_7x1_1x7"), 16 * 16 * 7 * 2 + 2 * 16),
        (counted_op("conv_1x1"), 16 * 16 + 2 * 16),
        (counted_op("conv_3x3"), 16 * 16 * 9 + 2 * 16),
        (counted_op("convbnrelu_1x1"), 16 * 16 + 2 * 16),
        (counted_op("convbnrelu_3x3"), 16 * 16 * 9 + 2 * 16),
        (counted_op("skip_connect", ch_out=32, stride=2), 16 * 16 * 2 + 2 * 32),
        (counted_op("prepr_reduce", ch_out=32, stride=2), 16 * 16 * 2 + 2 * 32),
        (counted_op("prepr_reduce", ch_out=33, stride=2), 16 * 16 + 16 * 17 + 2 * 33),
        (counted_op("prepr_normal", ch_in=48), 48 * 16 + 2 * 16),
        (counted_op("stem_conv3x3", ch_in=3, ch_out=48), 3 * 48 * 9 + 2 * 48),  # DARTS CIFAR stem, C = 16 * 3
        (counted_op("stem_conv3x3_relu", ch_in=3, ch_out=48), 3 * 48 * 9 + 2 * 48),
        (counted_op("stem_conv3x3_s4", ch_in=3, ch_out=48, stride=4), 3 * 24 * 9 + 2 * 24 + 24 * 48 * 9 + 2 * 48),
        (counted_op("stem_conv3x3_s4s2", ch_in=48, ch_out=48, stride=2), 48 * 48 * 9 + 2 * 48),
        (counted_op("proj_channels", ch_in=64, in_len=4), 64 * 16 + 2 * 16),
        (counted_op("linear", ch_in=256, ch_out=10), 256 * 10 + 10),
        (counted_op("skip_connect"), 0),
        (counted_op("none", stride=2), 0),
        (counted_op("identity"), 0),
        (counted_op("max_pool_3x3", bn_after=True), 0),
        (counted_op("avg_pool_3x3", stride=2), 0),
        (counted_op("concate_channels", ch_in=64, ch_out=64, in_len=4), 0),
        (counted_op("pool_adaptive_avg2d"), 0),
    ],
    ids=lambda v: v.name if isinstance(v, OpDesc) else str(v),
)
def test_param_counts_match_the_published_formulas(desc, count):
    assert n_params(create(desc, affine=True)) == count


@pytest.mark.parametrize(
    ("desc", "count"),
    [
        (counted_op("sep_conv_3x3"), 2 * (16 * 9 + 16 * 16)),
        (counted_op("skip_connect", ch_out=32, stride=2), 16 * 16 * 2),
    ],
)
def test_non_affine_bns_have_no_parameters(desc, count):
    assert n_params(create(desc, affine=False)) == count  # DARTS search: affine=False everywhere in cells


def test_pools_in_a_search_get_a_non_affine_bn_after():
    op = create(counted_op("avg_pool_3x3", bn_after=True), affine=True)
    bns = [m for m in op.modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(bns) == 1 and not bns[0].affine
    assert not any(isinstance(m, nn.BatchNorm2d) for m in create(counted_op("avg_pool_3x3")).modules())


@pytest.mark.parametrize("stride", [1, 2])
def test_avg_pool_leaves_padding_out_of_the_average(stride):
    out = create(counted_op("avg_pool_3x3", 4, 4, stride=stride))(torch.ones(1, 4, 8, 8))
    assert out[0, 0, 0, 0].item() == 1.0  # a corner averages 4 ones; with the padding it would be 4/9
    assert torch.equal(out, torch.ones_like(out))


def test_max_pool_pads_with_minus_infinity():
    out = create(counted_op("max_pool_3x3", 4, 4))(-torch.ones(1, 4, 8, 8))
    assert torch.equal(out, -torch.ones_like(out))


@pytest.mark.parametrize(("stride", "size"), [(1, 7), (2, 4)])
def test_none_is_all_zeros_of_the_strided_shape(stride, size):
    out = create(counted_op("none", 4, 4, stride=stride))(torch.randn(2, 4, 7, 7))
    assert out.shape == (2, 4, size, size) and not out.any()


def _darts_factorized_reduce(op: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """DARTS cnn/operations.py FactorizedReduce.forward, with the op's own weights."""
    x = F.relu(x)
    return op.bn(torch.cat([op.conv_1(x), op.conv_2(x[:, :, 1:, 1:])], dim=1))


def test_factorized_reduce_matches_darts_on_even_sizes():
    torch.manual_seed(0)
    op = create(counted_op("prepr_reduce", 4, 8, stride=2))
    x = torch.randn(2, 4, 8, 6)
    assert torch.allclose(op(x), _darts_factorized_reduce(op, x))


def test_factorized_reduce_pads_odd_sizes_at_the_bottom_right():
    torch.manual_seed(0)
    op = create(counted_op("prepr_reduce", 4, 8, stride=2))
    x = torch.randn(2, 4, 7, 5)
    out = op(x)
    assert out.shape == (2, 8, 4, 3)
    assert torch.allclose(out, _darts_factorized_reduce(op, F.pad(x, (0, 1, 0, 1))))


@pytest.mark.parametrize(
    "name", ["sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "conv_1x1", "conv_3x3", "conv_7x1_1x7", "prepr_normal"]
)
def test_ops_starting_with_relu_keep_it_first(name):
    # DARTS's MixedOp shares one ReLU among candidates: it finds it at index 0 of (nested) Sequentials.
    module = create(counted_op(name))
    while isinstance(module, nn.Sequential) and isinstance(module[0], nn.Sequential):
        module = module[0]
    assert isinstance(module, nn.Sequential) and isinstance(module[0], nn.ReLU)


def test_multi_op_routes_inputs_and_reduces():
    children = [counted_op("identity", 4, 4), counted_op("identity", 4, 4)]
    x0, x1 = torch.randn(2, 4, 3, 3), torch.randn(2, 4, 3, 3)
    cat = create(OpDesc(name="multi_op", in_len=2, children=children, children_ins=[[1], [0]]))
    total = create(OpDesc(name="multi_op", params={"reduce": "sum"}, in_len=2, children=children))
    assert torch.equal(cat(x0, x1), torch.cat([x1, x0], dim=1))
    assert torch.equal(create(OpDesc(name="multi_op", children=children))(x0), torch.cat([x0, x0], dim=1))
    assert torch.equal(total(x0), x0 + x0)


def test_concate_channels_concatenates_in_order():
    xs = [torch.randn(2, c, 3, 3) for c in (1, 2, 3)]
    out = create(counted_op("concate_channels", 6, 6, in_len=3))(*xs)
    assert torch.equal(out, torch.cat(xs, dim=1))


def test_global_pools_agree():
    x = torch.randn(2, 4, 7, 7)
    outs = [create(counted_op(n, 4, 4))(x) for n in ("pool_adaptive_avg2d", "pool_avg2d7x7", "pool_mean_tensor")]
    assert all(o.shape == (2, 4) and torch.allclose(o, outs[0], atol=1e-6) for o in outs)
