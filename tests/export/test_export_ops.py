"""Every op that can appear in a final description exports to ONNX, passes onnx.checker and matches onnxruntime."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from op_examples import EXAMPLES

from descgraph.export import export_module
from descgraph.ops import OPS, create, op_names


def _is_final(name: str) -> bool:
    return not getattr(OPS.get(name), "supernet_only", False)


CASES = [(n, i) for n in op_names() if _is_final(n) for i in range(len(EXAMPLES.get(n, [None])))]


def test_only_search_ops_are_left_out():
    left_out = sorted(n for n in op_names() if not _is_final(n))
    assert left_out == ["elastic_conv_bn_act", "elastic_linear", "elastic_mbconv", "mixed_op"]


@pytest.mark.parametrize(("name", "index"), CASES, ids=[f"{n}-{i}" for n, i in CASES])
def test_registered_op_exports_and_matches_onnxruntime(name, index):
    assert name in EXAMPLES, f"op {name!r} is registered but has no example in tests/op_examples.py"
    example = EXAMPLES[name][index]
    torch.manual_seed(0)
    op = create(example.desc, affine=True)
    for m in op.modules():  # BN statistics away from the identity, so folding them is really checked
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    op.eval()
    names = [f"x{i}" for i in range(len(example.in_shapes))]
    data = export_module(op, tuple(torch.randn(1, *s) for s in example.in_shapes), names, ["y"])
    onnx.checker.check_model(onnx.load_from_string(data), full_check=True)
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    for batch in (1, 3):  # the batch axis is dynamic
        xs = [torch.randn(batch, *s) for s in example.in_shapes]
        with torch.no_grad():
            expected = op(*xs).numpy()
        got = session.run(None, {n: x.numpy() for n, x in zip(names, xs)})[0]
        assert got.shape == expected.shape == (batch, *example.out_shape)
        assert np.abs(got - expected).max() <= 1e-4
