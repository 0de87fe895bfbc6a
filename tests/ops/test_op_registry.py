"""Every registered op: shape, stride and gradient, parametrized over the registry itself."""

from __future__ import annotations

import pytest
import torch

from descgraph._plugins import load_plugins
from descgraph.desc import OpDesc
from descgraph.errors import DescError, RegistryError
from descgraph.ops import OPS, create, register_op

load_plugins()  # algorithm packages register ops too (DARTS's mixed_op); collect them all

C, H = 4, 8


def _op(name: str, **params) -> OpDesc:
    return OpDesc(name=name, params={"ch_in": C, "ch_out": C, **params})


def _cell_op(name: str, stride: int) -> OpDesc:
    return _op(name, **({"stride": stride} if stride != 1 else {}))


# name -> (desc at stride s, number of inputs, output shape without batch for an input [C, H, H])
CELL_OPS = [
    "none",
    "skip_connect",
    "max_pool_3x3",
    "avg_pool_3x3",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "sep_conv_7x7",
    "dil_conv_3x3",
    "dil_conv_5x5",
    "conv_7x1_1x7",
    "conv_1x1",
    "conv_3x3",
    "convbnrelu_1x1",
    "convbnrelu_3x3",
]
EXAMPLES = {
    **{n: [(_cell_op(n, 1), 1, [C, H, H]), (_cell_op(n, 2), 1, [C, H // 2, H // 2])] for n in CELL_OPS},
    "identity": [(_op("identity"), 1, [C, H, H])],
    "prepr_reduce": [(_op("prepr_reduce", stride=2), 1, [C, H // 2, H // 2])],
    "prepr_normal": [(OpDesc(name="prepr_normal", params={"ch_in": 6, "ch_out": C}), 1, [C, H, H])],
    "stem_conv3x3": [(OpDesc(name="stem_conv3x3", params={"ch_in": 3, "ch_out": C}), 1, [C, H, H])],
    "stem_conv3x3_relu": [(OpDesc(name="stem_conv3x3_relu", params={"ch_in": 3, "ch_out": C}), 1, [C, H, H])],
    "stem_conv3x3_s4": [
        (OpDesc(name="stem_conv3x3_s4", params={"ch_in": 3, "ch_out": C, "stride": 4}), 1, [C, H // 4, H // 4])
    ],
    "stem_conv3x3_s4s2": [
        (OpDesc(name="stem_conv3x3_s4s2", params={"ch_in": C, "ch_out": C, "stride": 2}), 1, [C, H // 2, H // 2])
    ],
    "pool_adaptive_avg2d": [(_op("pool_adaptive_avg2d"), 1, [C])],
    "pool_avg2d7x7": [(_op("pool_avg2d7x7"), 1, [C, H, H])],  # input 7x7 below
    "pool_mean_tensor": [(_op("pool_mean_tensor"), 1, [C])],
    "concate_channels": [
        (
            OpDesc(name="concate_channels", params={"ch_in": 3 * C, "ch_out": 3 * C, "in_len": 3}, in_len=3),
            3,
            [3 * C, H, H],
        )
    ],
    "proj_channels": [
        (OpDesc(name="proj_channels", params={"ch_in": 2 * C, "ch_out": C, "in_len": 2}, in_len=2), 2, [C, H, H])
    ],
    "linear": [(OpDesc(name="linear", params={"ch_in": C * H * H, "ch_out": 5}), 1, [5])],
    "multi_op": [
        (
            OpDesc(
                name="multi_op",
                params={"reduce": "cat"},
                in_len=2,
                children=[_op("conv_1x1"), _op("sep_conv_3x3"), _op("skip_connect")],
                children_ins=[[0], [1], [0]],
            ),
            2,
            [3 * C, H, H],
        )
    ],
    "mixed_op": [
        (
            OpDesc(
                name="mixed_op",
                params={"ch_in": C, "ch_out": C, "stride": s},
                children=[_cell_op(n, s) for n in ("none", "max_pool_3x3", "sep_conv_3x3", "skip_connect")],
            ),
            1,
            [C, H // s, H // s],
        )
        for s in (1, 2)
    ],
}
CASES = [(name, i) for name in OPS.names() for i in range(len(EXAMPLES.get(name, [None])))]


@pytest.mark.parametrize(("name", "index"), CASES, ids=[f"{n}-{i}" for n, i in CASES])
def test_registered_op_shape_stride_gradient(name, index):
    assert name in EXAMPLES, f"op {name!r} is registered but has no example in this test"
    desc, n_inputs, out_shape = EXAMPLES[name][index]
    torch.manual_seed(0)
    op = create(desc, affine=True)
    size = 7 if name == "pool_avg2d7x7" else H
    ch_in = desc.params.get("ch_in", n_inputs * C) // n_inputs  # multi-input ops split ch_in evenly
    xs = [torch.randn(2, ch_in, size, size, requires_grad=True) for _ in range(n_inputs)]
    if name == "linear":
        xs = [torch.randn(2, C, H, H, requires_grad=True)]
    out = op(*xs)
    expected = [C] if name == "pool_avg2d7x7" else out_shape
    assert list(out.shape) == [2, *expected]
    out.pow(2).sum().backward()
    params = [p for p in op.parameters() if p.requires_grad]
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in params)
    if name != "none":
        assert all(x.grad is not None and x.grad.abs().sum() > 0 for x in xs)


# Parameter counts from the published formulas (DARTS operations.py), C = 16, affine BN: 2 per channel.
@pytest.mark.parametrize(
    ("name", "params", "count"),
    [
        ("sep_conv_3x3", {}, 2 * (16 * 9 + 16 * 16 + 2 * 16)),
        ("sep_conv_5x5", {}, 2 * (16 * 25 + 16 * 16 + 2 * 16)),
        ("sep_conv_7x7", {}, 2 * (16 * 49 + 16 * 16 + 2 * 16)),
        ("dil_conv_3x3", {}, 16 * 9 + 16 * 16 + 2 * 16),
        ("dil_conv_5x5", {}, 16 * 25 + 16 * 16 + 2 * 16),
        ("conv_7x1_1x7", {}, 16 * 16 * 7 * 2 + 2 * 16),
        ("conv_3x3", {}, 16 * 16 * 9 + 2 * 16),
        ("conv_1x1", {}, 16 * 16 + 2 * 16),
        ("skip_connect", {"stride": 2, "ch_out": 32}, 16 * 16 * 2 + 2 * 32),
        ("prepr_reduce", {"stride": 2, "ch_out": 32}, 16 * 16 * 2 + 2 * 32),
        ("max_pool_3x3", {}, 0),
        ("skip_connect", {}, 0),
    ],
)
def test_param_counts_by_hand(name, params, count):
    op = create(OpDesc(name=name, params={"ch_in": 16, "ch_out": 16, **params}), affine=True)
    assert sum(p.numel() for p in op.parameters()) == count


def test_pools_in_a_searched_mixed_op_get_a_non_affine_bn():
    op = create(OpDesc(name="avg_pool_3x3", params={"ch_in": C, "ch_out": C, "bn_after": True}))
    assert sum(p.numel() for p in op.parameters()) == 0
    assert any(isinstance(m, torch.nn.BatchNorm2d) and not m.affine for m in op.modules())


def test_avg_pool_does_not_count_padding():
    op = create(_op("avg_pool_3x3"))
    out = op(torch.ones(1, C, H, H))
    assert torch.equal(out, torch.ones_like(out))  # corners average 4 ones, not 4 ones and 5 zeros


def test_none_is_zero_with_strided_shape():
    out = create(_cell_op("none", 2))(torch.randn(2, C, 7, 7))
    assert out.shape == (2, C, 4, 4) and not out.any()


def test_factorized_reduce_takes_odd_sizes():
    out = create(_op("prepr_reduce", stride=2))(torch.randn(2, C, 7, 7))
    assert out.shape == (2, C, 4, 4)


def test_unknown_op_lists_close_matches():
    with pytest.raises(RegistryError, match="sep_conv_3x3"):
        create(OpDesc(name="sep_conv_3x4"))


@pytest.mark.parametrize(
    ("params", "message"),
    [({"ch_in": 4, "ch_out": 4, "kernel": 3}, "unexpected param 'kernel'"), ({"ch_in": 4}, "missing param 'ch_out'")],
)
def test_bad_params_are_desc_errors(params, message):
    with pytest.raises(DescError, match=message):
        create(OpDesc(name="sep_conv_3x3", params=params))


def test_duplicate_registration_is_refused():
    with pytest.raises(RegistryError, match="already registered"):
        register_op("sep_conv_3x3")(torch.nn.Identity)
