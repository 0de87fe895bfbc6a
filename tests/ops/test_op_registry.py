"""Every registered op, parametrized over the registry itself: shape, stride and gradients; factory errors."""

from __future__ import annotations

import math

import pytest
import torch
from op_examples import EXAMPLES, C, example_op, make_multi_op  # tests/ is on sys.path through its conftest

from descgraph.desc import OpDesc
from descgraph.errors import DescError, RegistryError
from descgraph.ops import OPS, create, op_names, register_op

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
        (example_op("conv_3x3", affine=False), "unexpected param 'affine'"),  # affine comes from the model
        (OpDesc(name="multi_op", params={"children": []}), "unexpected param 'children'"),
        (OpDesc(name="conv_3x3", params=example_op("x").params, children=[example_op("none")]), "not a composite op"),
        (example_op("prepr_reduce", 3), "op 'prepr_reduce': stride must be 2, got 3"),
        (example_op("skip_connect", 3), "op 'skip_connect': stride must be 1 or 2, got 3"),
        (example_op("stem_conv3x3_s4", 2), "op 'stem_conv3x3_s4': stride must be 4, got 2"),
        (example_op("identity", ch_out=2 * C), "op 'identity': keeps its input's channels"),
        (example_op("max_pool_3x3", ch_out=2 * C), "op 'max_pool_3x3': keeps its input's channels"),
        (
            OpDesc(name="multi_op", params={"reduce": "max"}, children=[example_op("none")]),
            "reduce must be 'cat' or 'sum'",
        ),
        (
            OpDesc(name="multi_op", params={"in_len": 1}, children=[example_op("none")], children_ins=[[1]]),
            "reads input 1",
        ),
        (example_op("mbconv", 2, ch_mid=C, residual=True), "a residual needs stride 1 and ch_in == ch_out"),
        (example_op("mbconv", ch_mid=2 * C, has_expand=False), "without an expand conv ch_mid"),
        (example_op("conv_bn_act", ch_out=2 * C, depthwise=True), "a depthwise conv keeps its channels"),
        (example_op("conv_bn_act", act="gelu"), "unknown activation 'gelu'"),
        (example_op("elastic_mbconv", kernel_sizes=[3], expansion_ratios=[1, 2], has_expand=False), "must be \\[1\\]"),
    ],
)
def test_bad_params_are_desc_errors(desc, message):
    with pytest.raises(DescError, match=message):
        create(desc)


def test_create_leaves_the_desc_untouched():
    desc = make_multi_op("cat")
    before = desc.model_dump()
    op = create(desc)
    op.children_ins[0].append(1)
    assert desc.model_dump() == before


def test_duplicate_registration_is_refused():
    with pytest.raises(RegistryError, match="'sep_conv_3x3' is already registered"):
        register_op("sep_conv_3x3")(torch.nn.Identity)
