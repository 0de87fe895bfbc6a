"""Example descs of every registered op, with input and output shapes: the op sweeps run over these.

A name missing from EXAMPLES fails the sweeps, so every op, algorithm plugins' included, needs one.
"""

from __future__ import annotations

from typing import NamedTuple

from descgraph.desc import OpDesc

C, H = 4, 8  # small channels and 8x8 maps keep the whole sweep fast


class Example(NamedTuple):
    """An op desc, the shapes of its inputs and of its output, all without the batch axis."""

    desc: OpDesc
    in_shapes: list[list[int]]
    out_shape: list[int]


def example_op(name: str, stride: int = 1, **params) -> OpDesc:
    """A C -> C op desc, with `stride` only when it is not 1 (as builders write them)."""
    return OpDesc(name=name, params={"ch_in": C, "ch_out": C, **({"stride": stride} if stride != 1 else {}), **params})


def counted_op(name: str, ch_in: int = 16, ch_out: int = 16, **params) -> OpDesc:
    """An op desc at 16 channels unless told, the width the op tests count weights by hand at."""
    return OpDesc(name=name, params={"ch_in": ch_in, "ch_out": ch_out, **params})


def n_params(module) -> int:
    """Weights of a module (its parameters' elements)."""
    return sum(p.numel() for p in module.parameters())


def _map(ch: int = C, size: int = H) -> list[int]:
    return [ch, size, size]


CELL_OPS = ["none", "skip_connect", "max_pool_3x3", "avg_pool_3x3", "conv_7x1_1x7"]
CONV_OPS = ["sep_conv_3x3", "sep_conv_5x5", "sep_conv_7x7", "dil_conv_3x3", "dil_conv_5x5"]
CONV_OPS += ["conv_1x1", "conv_3x3", "convbnrelu_1x1", "convbnrelu_3x3", "conv_7x1_1x7"]
ZOO_CELL_OPS = ["sep_conv_bn_3x3", "sep_conv_bn_5x5"]
ENAS_MACRO_OPS = ["enas_conv_3x3", "enas_conv_5x5", "enas_sep_conv_3x3", "enas_sep_conv_5x5"]
ENAS_MACRO_OPS += ["enas_max_pool_3x3", "enas_avg_pool_3x3"]
DARTS_CANDIDATES = ["none", "max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "dil_conv_5x5"]


def _mixed_op(stride: int) -> OpDesc:
    """A DARTS search edge: pools get the non-affine BN after them, as the DARTS builder writes it."""
    children = [example_op(n, stride, **({"bn_after": True} if "pool" in n else {})) for n in DARTS_CANDIDATES]
    return OpDesc(name="mixed_op", params=dict(example_op("mixed_op", stride).params), children=children)


def make_multi_op(reduce: str) -> OpDesc:
    children = [example_op("conv_1x1"), example_op("sep_conv_3x3"), example_op("skip_connect")]
    params = {"reduce": reduce, "in_len": 2}
    return OpDesc(name="multi_op", params=params, in_len=2, children=children, children_ins=[[0], [1], [0]])


EXAMPLES: dict[str, list[Example]] = {
    **{n: [Example(example_op(n, s), [_map()], _map(C, H // s)) for s in (1, 2)] for n in CELL_OPS + CONV_OPS},
    "identity": [Example(example_op("identity"), [_map()], _map())],
    "prepr_reduce": [
        Example(example_op("prepr_reduce", 2, ch_out=2 * C), [_map()], _map(2 * C, H // 2)),
        Example(example_op("prepr_reduce", 2, ch_out=5), [_map(C, 7)], _map(5, 4)),  # odd size and odd ch_out
    ],
    "prepr_normal": [Example(example_op("prepr_normal", ch_in=6), [_map(6)], _map())],
    "stem_conv3x3": [Example(example_op("stem_conv3x3", ch_in=3), [_map(3)], _map())],
    "stem_conv3x3_relu": [Example(example_op("stem_conv3x3_relu", ch_in=3), [_map(3)], _map())],
    "stem_conv3x3_s4": [Example(example_op("stem_conv3x3_s4", 4, ch_in=3), [_map(3)], _map(C, H // 4))],
    "stem_conv3x3_s4s2": [Example(example_op("stem_conv3x3_s4s2", 2), [_map()], _map(C, H // 2))],
    "pool_adaptive_avg2d": [Example(example_op("pool_adaptive_avg2d"), [_map()], [C])],
    "pool_avg2d7x7": [Example(example_op("pool_avg2d7x7"), [_map(C, 7)], [C])],
    "pool_mean_tensor": [Example(example_op("pool_mean_tensor"), [_map()], [C])],
    "linear": [Example(example_op("linear", ch_out=5), [[C]], [5])],
    "concate_channels": [
        Example(example_op("concate_channels", ch_in=3 * C, ch_out=3 * C, in_len=2), [_map(), _map(2 * C)], _map(3 * C))
    ],
    "proj_channels": [Example(example_op("proj_channels", ch_in=2 * C, in_len=2), [_map(), _map()], _map())],
    "multi_op": [
        Example(make_multi_op("cat"), [_map(), _map()], _map(3 * C)),
        Example(make_multi_op("sum"), [_map(), _map()], _map()),
    ],
    "mixed_op": [Example(_mixed_op(s), [_map()], _map(C, H // s)) for s in (1, 2)],
    **{n: [Example(example_op(n, s), [_map()], _map(C, H // s)) for s in (1, 2)] for n in ZOO_CELL_OPS},
    **{n: [Example(example_op(n, ch_in=6), [_map(6)], _map())] for n in ENAS_MACRO_OPS},
    "factorized_reduce": [
        Example(example_op("factorized_reduce", 2, ch_out=2 * C), [_map()], _map(2 * C, H // 2)),
        Example(example_op("factorized_reduce", 4), [_map()], _map(C, H // 4)),
    ],
    "resnet_downsample": [
        Example(example_op("resnet_downsample", 2, ch_out=2 * C), [_map()], _map(2 * C, H // 2)),
        Example(example_op("resnet_downsample", 2), [_map(C, 7)], _map(C, 4)),  # odd size: ceil, as the strided conv
    ],
    "batch_norm": [Example(example_op("batch_norm"), [_map()], _map())],
    "pool_relu_avg2d": [Example(example_op("pool_relu_avg2d"), [_map()], [C])],
    "pool_bn_relu_avg2d": [Example(example_op("pool_bn_relu_avg2d"), [_map()], [C])],
    "conv_bn_act": [
        Example(example_op("conv_bn_act", 2, kernel=3, act="hswish"), [_map()], _map(C, H // 2)),
        Example(example_op("conv_bn_act", kernel=5, depthwise=True), [_map()], _map()),
    ],
    "mbconv": [
        Example(example_op("mbconv", ch_mid=3 * C, kernel=5, ch_se=8, residual=True), [_map()], _map()),
        Example(example_op("mbconv", 2, ch_mid=C, ch_out=6, has_expand=False, act="swish"), [_map()], _map(6, H // 2)),
    ],
    "elastic_conv_bn_act": [
        Example(example_op("elastic_conv_bn_act", 2, ch_out=6, kernel=3), [_map()], _map(6, H // 2))
    ],
    "elastic_mbconv": [
        Example(
            example_op("elastic_mbconv", kernel_sizes=[3, 5], expansion_ratios=[2, 4], se=True, residual=True),
            [_map()],
            _map(),
        ),
        Example(
            example_op("elastic_mbconv", 2, ch_out=8, kernel_sizes=[3], expansion_ratios=[1], has_expand=False),
            [_map()],
            _map(8, H // 2),
        ),
    ],
    "elastic_linear": [Example(example_op("elastic_linear", ch_out=5), [[C]], [5])],
}
