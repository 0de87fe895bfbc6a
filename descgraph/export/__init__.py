"""ONNX export of descriptions, verified numerically against PyTorch with onnxruntime."""

from __future__ import annotations

from descgraph.export.onnx_export import (
    INPUT_NAME,
    META_DESC,
    META_HASH,
    OPSET,
    OUTPUT_NAME,
    Exported,
    ExportReport,
    InferenceNet,
    compile_for_export,
    export_desc,
    export_module,
    export_onnx,
    verify_onnx,
)
from descgraph.export.weights import load_weights

__all__ = [
    "INPUT_NAME",
    "META_DESC",
    "META_HASH",
    "OPSET",
    "OUTPUT_NAME",
    "ExportReport",
    "Exported",
    "InferenceNet",
    "compile_for_export",
    "export_desc",
    "export_module",
    "export_onnx",
    "load_weights",
    "verify_onnx",
]
