"""Export a description (and its weights) to ONNX, verified against PyTorch with onnxruntime.

The exported graph is the inference network: eval mode, aux towers left out, one input `input`
with a dynamic batch axis and one output `logits`. The description's YAML and hash travel in the
ONNX metadata, so a measured file leads back to its architecture.
"""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from descgraph._files import atomic_open
from descgraph.desc import ModelDesc, dump_desc
from descgraph.errors import ExportError

OPSET = 17
INPUT_NAME, OUTPUT_NAME = "input", "logits"
# metadata keys written into every exported model
META_DESC, META_HASH, META_SCHEMA = "descgraph.model_desc", "descgraph.desc_hash", "descgraph.schema_version"


@dataclass
class ExportReport:
    """What an export wrote and how closely onnxruntime matched PyTorch."""

    path: str
    desc_hash: str
    opset: int
    max_abs_diff: float
    verified_batches: list[int]
    nodes: int
    bytes: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class InferenceNet(nn.Module):
    """A compiled Model as it is deployed: logits only (the aux output dropped)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)[0]


def export_module(
    module: nn.Module,
    example_inputs: tuple[torch.Tensor, ...],
    input_names: list[str],
    output_names: list[str],
    opset: int = OPSET,
) -> bytes:
    """Trace `module` (in eval mode) to a serialized ONNX model whose inputs and outputs have a dynamic batch axis.

    Raises:
        ExportError: torch could not export the module (one line, the exporter's first sentence).
    """
    axes = {name: {0: "batch"} for name in [*input_names, *output_names]}
    buffer = io.BytesIO()
    module.eval()
    try:
        # the exporter prints the whole traced graph when it fails; the error message says what matters
        with warnings.catch_warnings(), torch.no_grad(), contextlib.redirect_stdout(io.StringIO()):
            # The TorchScript exporter warns of its deprecation and of shape-dependent Python branches;
            # input shapes other than the batch are fixed at export, so those branches are taken once.
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module,
                example_inputs,
                buffer,
                input_names=input_names,
                output_names=output_names,
                dynamic_axes=axes,
                opset_version=opset,
                do_constant_folding=True,
                dynamo=False,
            )
    except (
        Exception
    ) as e:  # the exporter raises many types (RuntimeError, SymbolicValueError, UnsupportedOperatorError...)
        raise ExportError(f"torch.onnx could not export {type(module).__name__}: {_first_line(e)}") from e
    return buffer.getvalue()


def _first_line(error: BaseException, limit: int = 200) -> str:
    text = " ".join(str(error).split())
    return (text[: limit - 3] + "...") if len(text) > limit else (text or type(error).__name__)


def compile_for_export(desc: ModelDesc, weights: str | os.PathLike | dict | None = None, seed: int = 0) -> nn.Module:
    """The inference network of `desc` with its weights loaded (seeded random weights when none are given)."""
    from descgraph.export.weights import load_weights
    from descgraph.nn import Model

    torch.manual_seed(seed)
    model = Model(desc, droppath=False)
    if weights is not None:
        load_weights(model, weights, desc)
    return InferenceNet(model).eval()


@dataclass
class Exported:
    """An exported network in memory: the ONNX bytes, the PyTorch network they came from, and the report."""

    data: bytes
    net: nn.Module
    report: ExportReport


def export_desc(
    desc: ModelDesc,
    weights: str | os.PathLike | dict | None = None,
    *,
    opset: int = OPSET,
    verify: bool = True,
    atol: float = 1e-4,
    seed: int = 0,
) -> Exported:
    """Export `desc` (with `weights`) into memory, check it, and verify it with onnxruntime; see `export_onnx`."""
    net = compile_for_export(desc, weights, seed)
    example = torch.randn(1, *desc.input_shape)
    try:
        data = export_module(net, (example,), [INPUT_NAME], [OUTPUT_NAME], opset)
    except ExportError as e:
        raise _locate_failure(net, example) or e from None
    model_proto = _with_metadata(data, desc)
    data = model_proto.SerializeToString()
    report = ExportReport("", desc.hash(), opset, float("nan"), [], len(model_proto.graph.node), len(data))
    if verify:
        report.max_abs_diff, report.verified_batches = verify_onnx(data, net, desc.input_shape, atol, seed)
    return Exported(data, net, report)


def export_onnx(
    desc: ModelDesc,
    output: str | os.PathLike,
    weights: str | os.PathLike | dict | None = None,
    *,
    opset: int = OPSET,
    verify: bool = True,
    atol: float = 1e-4,
    seed: int = 0,
) -> ExportReport:
    """Export `desc` (with `weights`, a state_dict file) to `output`, check it, and verify it with onnxruntime.

    The file is written atomically once the checker has passed (and verification, when asked), so a
    failed export never leaves a file behind.

    Args:
        desc: the description to export.
        output: the .onnx file to write.
        weights: a state_dict file saved with torch.save (`eval/model.pt`) or a state_dict; random when None.
        opset: the ONNX opset.
        verify: compare onnxruntime against PyTorch on random inputs at batch 1 and 2.
        atol: the largest absolute difference allowed.
        seed: seed of the random weights (when no file is given) and of the random inputs.

    Raises:
        DescError: an unknown op. ExportError: an op that cannot export (named with its path), weights
        that do not fit, a checker failure, or a difference above `atol`. CheckpointError: an unreadable
        weights file.
    """
    exported = export_desc(desc, weights, opset=opset, verify=verify, atol=atol, seed=seed)
    with atomic_open(output, "wb") as f:
        f.write(exported.data)
    exported.report.path = str(output)
    return exported.report


def _with_metadata(data: bytes, desc: ModelDesc):
    """The ONNX model with the description in its metadata, after onnx.checker has passed."""
    import onnx

    model_proto = onnx.load_from_string(data)
    for key, value in ((META_DESC, dump_desc(desc)), (META_HASH, desc.hash()), (META_SCHEMA, str(desc.schema_version))):
        entry = model_proto.metadata_props.add()
        entry.key, entry.value = key, value
    model_proto.producer_name = "descgraph"
    try:
        onnx.checker.check_model(model_proto, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as e:
        raise ExportError(f"onnx.checker refused the exported model: {_first_line(e)}") from None
    return model_proto


def verify_onnx(
    data: bytes, net: nn.Module, input_shape: list[int], atol: float = 1e-4, seed: int = 0, batches=(1, 2)
) -> tuple[float, list[int]]:
    """Run onnxruntime and PyTorch on the same random inputs; return the largest absolute difference.

    Raises:
        ExportError: the difference exceeds `atol`, or either side's output is not finite.
    """
    import onnxruntime as ort

    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    gen = torch.Generator().manual_seed(seed)
    worst = 0.0
    for batch in batches:
        x = torch.randn(batch, *input_shape, generator=gen)
        with torch.no_grad():
            expected = net(x).numpy()
        got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
        if got.shape != expected.shape:
            raise ExportError(f"onnxruntime output shape {list(got.shape)} != PyTorch {list(expected.shape)}")
        for side, out in (("PyTorch", expected), ("onnxruntime", got)):
            if not np.isfinite(out).all():  # max() would pass NaN over: max(0.0, nan) is 0.0
                raise ExportError(f"the {side} output at batch {batch} is not finite (NaN or inf): check the weights")
        worst = max(worst, float(np.max(np.abs(got - expected))))
    if not worst <= atol:
        raise ExportError(f"onnxruntime and PyTorch differ by {worst:.3g} (allowed {atol:g})")
    return worst, list(batches)


def _locate_failure(net: InferenceNet, example: torch.Tensor) -> ExportError | None:
    """Export each op alone, on the inputs it gets in the network, in model order; name the first that fails."""
    from descgraph.nn.op_modules import capture_op_inputs, iter_op_modules

    inputs = capture_op_inputs(net.model, example)
    for path, op_desc, module in iter_op_modules(net.model):
        if path not in inputs:
            continue
        try:
            export_module(module, inputs[path], [f"x{i}" for i in range(len(inputs[path]))], ["y"])
        except ExportError as e:
            return ExportError(f"{path}: op {op_desc.name!r} cannot be exported to ONNX ({e})")
    return None
