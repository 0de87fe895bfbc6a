"""Every registered op, parametrized over the registry itself: shape, stride and gradients; factory errors."""

from __future__ import annotations

import math
from typing import NamedTuple

import pytest
import torch

from descgraph.desc import OpDesc
from descgraph.errors import DescError, RegistryError
from descgraph.ops import OPS, create, op_names, register_op

C, H = 4, 8  # small channels and 8x8 maps keep the whole sweep fast


class Example(NamedTuple):
    """An op desc, the shapes of its inputs and of its output, all without the batch axis."""

    desc: OpDesc
    in_shapes: list[list[int]]
    out_shape: list[int]


def _op(name: str, stride: int = 1, **params) -> OpDesc:
    """A C -> C op desc, with `stride` only when it is not 1 (as builders write them)."""
    return OpDesc(name=name, params={"ch_in": C, "ch_out": C, **({"stride": stride} if stride != 1 else {}), **params})


def _map(ch: int = C, size: int = H) -> list[int]:
    return [ch, size, size]


CELL_OPS = ["none", "skip_connect", "max_pool_3x3", "avg_pool_3x3", "conv_7x1_1x7"]
CONV_OPS = ["sep_conv_3x3", "sep_conv_5x5", "sep_conv_7x7", "dil_conv_3x3", "dil_conv_5x5"]
CONV_OPS += ["conv_1x1", "conv_3x3", "convbnrelu_1x1", "convbnrelu_3x3", "conv_7x1_1x7"]
DARTS_CANDIDATES = ["none", "max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "dil_conv_5x5"]


def _mixed_op(stride: int) -> OpDesc:
    """A DARTS search edge: pools get the non-affine BN after them, as the DARTS builder writes it."""
    children = [_op(n, stride, **({"bn_after": True} if "pool" in n else {})) for n in DARTS_CANDIDATES]
    return OpDesc(name="mixed_op", params=dict(_op("mixed_op", stride).params), children=children)


def _multi_op(reduce: str) -> OpDesc:
    children = [_op("conv_1x1"), _op("sep_conv_3x3"), _op("skip_connect")]
    params = {"reduce": reduce, "in_len": 2}
    return OpDesc(name="multi_op", params=params, in_len=2, children=children, children_ins=[[0], [1], [0]])


# A name missing here fails the sweep: every registered op, plugins' included, needs an example.
EXAMPLES: dict[str, list[Example]] = {
    **{n: [Example(_op(n, s), [_map()], _map(C, H // s)) for s in (1, 2)] for n in CELL_OPS + CONV_OPS},
    "identity": [Example(_op("identity"), [_map()], _map())],
    "prepr_reduce": [
        Example(_op("prepr_reduce", 2, ch_out=2 * C), [_map()], _map(2 * C, H // 2)),
        Example(_op("prepr_reduce", 2, ch_out=5), [_map(C, 7)], _map(5, 4)),  # odd size and odd ch_out
    ],
    "prepr_normal": [Example(_op("prepr_normal", ch_in=6), [_map(6)], _map())],
    "stem_conv3x3": [Example(_op("stem_conv3x3", ch_in=3), [_map(3)], _map())],
    "stem_conv3x3_relu": [Example(_op("stem_conv3x3_relu", ch_in=3), [_map(3)], _map())],
    "stem_conv3x3_s4": [Example(_op("stem_conv3x3_s4", 4, ch_in=3), [_map(3)], _map(C, H // 4))],
    "stem_conv3x3_s4s2": [Example(_op("stem_conv3x3_s4s2", 2), [_map()], _map(C, H // 2))],
    "pool_adaptive_avg2d": [Example(_op("pool_adaptive_avg2d"), [_map()], [C])],
    "pool_avg2d7x7": [Example(_op("pool_avg2d7x7"), [_map(C, 7)], [C])],
    "pool_mean_tensor": [Example(_op("pool_mean_tensor"), [_map()], [C])],
    "linear": [Example(_op("linear", ch_out=5), [[C]], [5])],
    "concate_channels": [
        Example(_op("concate_channels", ch_in=3 * C, ch_out=3 * C, in_len=2), [_map(), _map(2 * C)], _map(3 * C))
    ],
    "proj_channels": [Example(_op("proj_channels", ch_in=2 * C, in_len=2), [_map(), _map()], _map())],
    "multi_op": [
        Example(_multi_op("cat"), [_map(), _map()], _map(3 * C)),
        Example(_multi_op("sum"), [_map(), _map()], _map()),
    ],
    "mixed_op": [Example(_mixed_op(s), [_map()], _map(C, H // s)) for s in (1, 2)],
    "conv_bn_act": [
        Example(_op("conv_bn_act", 2, kernel=3, act="hswish"), [_map()], _map(C, H // 2)),
        Example(_op("conv_bn_act", kernel=5, depthwise=True), [_map()], _map()),
    ],
    "mbconv": [
        Example(_op("mbconv", ch_mid=3 * C, kernel=5, ch_se=8, residual=True), [_map()], _map()),
        Example(_op("mbconv", 2, ch_mid=C, ch_out=6, has_expand=False, act="swish"), [_map()], _map(6, H // 2)),
    ],
    "elastic_conv_bn_act": [Example(_op("elastic_conv_bn_act", 2, ch_out=6, kernel=3), [_map()], _map(6, H // 2))],
    "elastic_mbconv": [
        Example(
            _op("elastic_mbconv", kernel_sizes=[3, 5], expansion_ratios=[2, 4], se=True, residual=True),
            [_map()],
            _map(),
        ),
        Example(
            _op("elastic_mbconv", 2, ch_out=8, kernel_sizes=[3], expansion_ratios=[1], has_expand=False),
            [_map()],
            _map(8, H // 2),
        ),
    ],
    "elastic_linear": [Example(_op("elastic_linear", ch_out=5), [[C]], [5])],
}
# op_names() is OPS.names() after loading the algorithm plugins, so their ops are swept too.
CASES = [(name, i) for name in op_names() for i in range(len(EXAMPLES.get(name, [None])))]


@pytest.mark.parametrize(("name", "index"), CASES, ids=[f"{n}-{i}" for n, i in CASES])
def test_registered_op_shape_stride_and_gradients(name, index):
    assert name in EXAMPLES, f"op {name!r} is registered but has no example in EXAMPLES"
    example = EXAMPLES[name][index]
    torch.manual_seed(0)
    op = create(example.desc, affine=True).train()
    xs = [torch.randn(2, *shape, requires_grad=True) for shape in example.in_shapes]
    out = op(*xs)
    assert list(out.shape) == [2, *example.out_shape]
    if out.dim() == 4:  # stride semantics: every spatial size divided by the desc's stride, rounded up
        stride = example.desc.stride
        assert list(out.shape[-2:]) == [math.ceil(s / stride) for s in xs[0].shape[-2:]]
    (out * torch.randn_like(out)).sum().backward()
    for pname, p in op.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, pname
    if name != "none":  # `none` is constant zero: its input gets no useful gradient
        assert all(x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0 for x in xs)


def test_examples_name_only_registered_ops():
    assert sorted(set(EXAMPLES) - set(OPS.names())) == []


def test_unknown_op_lists_close_matches():
    with pytest.raises(RegistryError, match="did you mean: sep_conv_3x3"):
        create(OpDesc(name="sep_conv_3x4"))


def test_unknown_op_loads_plugins_before_failing(monkeypatch):
    import descgraph._plugins

    calls = []
    monkeypatch.setattr(descgraph._plugins, "load_plugins", lambda: calls.append(1))
    with pytest.raises(RegistryError, match="unknown op 'no_such_op'"):
        create(OpDesc(name="no_such_op"))
    assert calls == [1]


def test_unexpected_param_is_a_one_line_desc_error():
    with pytest.raises(DescError) as err:
        create(OpDesc(name="sep_conv_3x3", params={"ch_in": 4, "ch_out": 4, "kernel": 3}))
    assert str(err.value) == "op 'sep_conv_3x3': unexpected param 'kernel' (accepts: ch_in, ch_out, stride)"


@pytest.mark.parametrize(
    ("desc", "message"),
    [
        (OpDesc(name="sep_conv_3x3", params={"ch_in": 4}), "op 'sep_conv_3x3': missing param 'ch_out'"),
        (_op("conv_3x3", affine=False), "unexpected param 'affine'"),  # affine comes from the model
        (OpDesc(name="multi_op", params={"children": []}), "unexpected param 'children'"),
        (OpDesc(name="conv_3x3", params=_op("x").params, children=[_op("none")]), "not a composite op"),
        (_op("prepr_reduce", 3), "op 'prepr_reduce': stride must be 2, got 3"),
        (_op("skip_connect", 3), "op 'skip_connect': stride must be 1 or 2, got 3"),
        (_op("stem_conv3x3_s4", 2), "op 'stem_conv3x3_s4': stride must be 4, got 2"),
        (_op("identity", ch_out=2 * C), "op 'identity': keeps its input's channels"),
        (_op("max_pool_3x3", ch_out=2 * C), "op 'max_pool_3x3': keeps its input's channels"),
        (OpDesc(name="multi_op", params={"reduce": "max"}, children=[_op("none")]), "reduce must be 'cat' or 'sum'"),
        (OpDesc(name="multi_op", params={"in_len": 1}, children=[_op("none")], children_ins=[[1]]), "reads input 1"),
        (_op("mbconv", 2, ch_mid=C, residual=True), "a residual needs stride 1 and ch_in == ch_out"),
        (_op("mbconv", ch_mid=2 * C, has_expand=False), "without an expand conv ch_mid"),
        (_op("conv_bn_act", ch_out=2 * C, depthwise=True), "a depthwise conv keeps its channels"),
        (_op("conv_bn_act", act="gelu"), "unknown activation 'gelu'"),
        (_op("elastic_mbconv", kernel_sizes=[3], expansion_ratios=[1, 2], has_expand=False), "must be \\[1\\]"),
    ],
)
def test_bad_params_are_desc_errors(desc, message):
    with pytest.raises(DescError, match=message):
        create(desc)


def test_create_leaves_the_desc_untouched():
    desc = _multi_op("cat")
    before = desc.model_dump()
    op = create(desc)
    op.children_ins[0].append(1)
    assert desc.model_dump() == before


def test_duplicate_registration_is_refused():
    with pytest.raises(RegistryError, match="'sep_conv_3x3' is already registered"):
        register_op("sep_conv_3x3")(torch.nn.Identity)
