"""A description's size, estimated from its channels, kernels and shapes alone: nothing is compiled or allocated.

The estimate is an upper one (each op's weights by the formula of its kind, BN included; every tensor a cell
holds at batch 1, once per op that writes it), so a description far too large for any machine is refused
in one line before torch allocates anything, while real networks stay far below the limits:
`tests/desc/test_size.py` checks it against the compiled counts of known networks.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from descgraph.desc.model_desc import CellDesc, ModelDesc, OpDesc, Shape
from descgraph.errors import DescError

FLOAT_BYTES = 4
MIB = 2**20
_TENSORS = {"weightless": 3, "sep_conv": 9, "dil_conv": 5, "mbconv": 9, "linear": 1, "conv": 7}
BN_PER_CHANNEL = 4  # weight, bias, running mean and variance (counted as weights: an upper estimate)
_WEIGHTLESS = ("pool", "none", "identity", "skip_connect", "concate_channels", "batch_norm")
_POINTWISE = ("prepr_", "factorized_reduce", "proj_channels")
_NAMED_KERNEL = re.compile(r"(\d+)x\d+")


@dataclass(frozen=True)
class SizeLimits:
    """The largest description the tools compile; `common.max_params`, `common.max_activation_mib` in a conf,
    `--max-params`, `--max-activation-mib` on the command line."""

    max_params: int = 2_000_000_000
    max_activation_mib: int = 16_384


@dataclass(frozen=True)
class SizeEstimate:
    """Upper estimates of a description's weights and of the activation memory of one input at its shape."""

    params: int
    activation_bytes: int
    largest_op: str  # the key path of the op with the most weights


def _kind(name: str) -> str:
    """The family of an op by its registered name, which decides its formulas."""
    if any(w in name for w in _WEIGHTLESS):
        return "weightless"
    return next((kind for kind in ("sep_conv", "dil_conv", "mbconv", "linear") if kind in name), "conv")


def op_params_bound(op: OpDesc) -> int:
    """Weights of an op, by the formula of its kind (a composite op: the sum of its children)."""
    if op.children:
        return sum(op_params_bound(child) for child in op.children)
    p, kind = op.params, _kind(op.name)
    c_in = _int(p.get("ch_in"))
    c_out = _int(p.get("ch_out", c_in))
    k, c_mid = _kernel(op), _mid_channels(op)
    bn = BN_PER_CHANNEL * (c_in + c_out)
    if kind == "weightless":  # a BN after it, a 1x1 reduce when channels or size change
        return bn + (c_in * c_out if c_in != c_out or op.stride > 1 else 0)
    if kind == "sep_conv":  # two depthwise-pointwise pairs: c_in -> c_in -> c_out
        return 2 * k * k * c_in + c_in * c_in + c_in * c_out + 2 * bn
    if kind == "dil_conv":
        return k * k * c_in + c_in * c_out + bn
    if kind == "mbconv":
        c_se = _int(p.get("ch_se", c_mid))
        return c_in * c_mid + k * k * c_mid + c_mid * c_out + 2 * c_mid * c_se + BN_PER_CHANNEL * (2 * c_mid + c_out)
    if kind == "linear":
        return c_in * c_out + c_out
    return k * k * c_out * (c_in + c_out) + 2 * bn  # a conv stack: at most two kxk convs and their BNs


def _mid_channels(op: OpDesc) -> int:
    """An inverted bottleneck's middle width (`ch_mid`, else ch_in times its largest expansion); 0 for other ops."""
    p, c_in = op.params, _int(op.params.get("ch_in"))
    if _kind(op.name) != "mbconv":
        return 0
    return _int(p.get("ch_mid")) or c_in * max(_ints(p, "expansion_ratio", "expansion_ratios") or [6])


def _int(value) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _ints(params: dict, *keys: str) -> list[int]:
    """The ints under `keys` (a value or a list of them)."""
    out: list[int] = []
    for key in keys:
        value = params.get(key)
        out += [_int(v) for v in value] if isinstance(value, list) else [_int(value)] if key in params else []
    return out


def _kernel(op: OpDesc) -> int:
    """The op's largest kernel: its params, else the NxN in its name, else 1 for pointwise ops and 3."""
    kernels = _ints(op.params, "kernel", "kernel_size", "kernel_sizes")
    if kernels:
        return max(kernels)
    named = [int(n) for n in _NAMED_KERNEL.findall(op.name)]
    if named:
        return max(named)
    return 1 if op.name.startswith(_POINTWISE) else 3


def _elements(shape: Shape) -> int:
    return math.prod(shape)


def _op_tensors(op: OpDesc) -> int:
    """Tensors of its output's size an op makes, at most: one per layer (ReLU, conv, BN; twice in a separable
    conv) and the one its node weighs or sums, more for an inverted bottleneck by its expansion; a composite op,
    its children's."""
    if op.children:
        return sum(_op_tensors(c) for c in op.children)
    c_out = max(1, _int(op.params.get("ch_out", op.params.get("ch_in"))))
    return _TENSORS[_kind(op.name)] * max(1, -(-_mid_channels(op) // c_out))


def _cell_activations(cell: CellDesc) -> int:
    """Elements a cell's ops make at batch 1 (see `_op_tensors`), and the states it holds."""
    held = sum(_elements(s) * _op_tensors(stem) for stem, s in zip(cell.stems, cell.stem_shapes))
    for node, shape in zip(cell.nodes, cell.node_shapes):
        held += _elements(shape) * (1 + sum(_op_tensors(e.op_desc) for e in node.edges))
    return held + _elements(cell.out_shape) * _op_tensors(cell.post_op)


def estimate_size(desc: ModelDesc) -> SizeEstimate:
    """Upper estimates of the weights and the batch-1 activation memory of `desc`, without compiling it."""
    from descgraph.desc.validate import iter_op_descs

    largest, most, total = "model_stems[0]", -1, 0
    for path, op in iter_op_descs(desc):
        if op.children:
            continue  # its children come next
        count = op_params_bound(op)
        total += count
        if count > most:
            largest, most = path, count
    total += sum(_aux_params(a.ch_in, a.n_classes) for a in desc.aux_tower_descs if a is not None)
    stems = _elements(desc.input_shape) * sum(_op_tensors(s) for s in desc.model_stems)  # no smaller than its input
    elements = stems + sum(_cell_activations(c) for c in desc.cell_descs)
    return SizeEstimate(params=total, activation_bytes=elements * FLOAT_BYTES, largest_op=largest)


def _aux_params(ch_in: int, n_classes: int) -> int:
    """DARTS's aux tower: 1x1 conv to 128, 2x2 conv to 768, their BNs, the classifier."""
    return ch_in * 128 + 128 * 768 * 4 + BN_PER_CHANNEL * (128 + 768) + 768 * n_classes + n_classes


def check_size(desc: ModelDesc, limits: SizeLimits | None = None, source: str | None = None) -> SizeEstimate:
    """The estimate of `desc`, refused in one line when it passes a limit.

    Raises:
        DescError: names the largest op and the setting that raises the limit.
    """
    limits = limits or SizeLimits()
    size, where = estimate_size(desc), f"{source}: " if source else ""
    if size.params > limits.max_params:
        raise DescError(
            f"{where}{size.largest_op}: the description has about {size.params:.3g} parameters, above the limit of "
            f"{limits.max_params:.3g} (raise it with common.max_params or --max-params)"
        )
    mib = size.activation_bytes / MIB
    if mib > limits.max_activation_mib:
        raise DescError(
            f"{where}input_shape: one {desc.input_shape} input needs about {mib:.3g} MiB of activations, above "
            f"the limit of {limits.max_activation_mib} MiB (raise it with common.max_activation_mib or "
            "--max-activation-mib)"
        )
    return size
