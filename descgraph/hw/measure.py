"""Measuring a whole network: onnxruntime beside PyTorch eager, from a description or an exported file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from descgraph.desc import ModelDesc, validate_model_desc
from descgraph.errors import ExportError
from descgraph.hw.latency import (
    available_providers,
    eager_runner,
    environment,
    measure_side_by_side,
    ort_session,
    session_runner,
)


def read_onnx_desc(path: str | os.PathLike) -> tuple[bytes, ModelDesc | None]:
    """The bytes of an ONNX file and the description in its metadata (None for a file from elsewhere)."""
    import onnx

    from descgraph._files import yaml_safe_load
    from descgraph.desc import parse_desc
    from descgraph.export import META_DESC
    from descgraph.nn.check import check_ops

    try:
        data = Path(path).read_bytes()
        proto = onnx.load_from_string(data)
    except FileNotFoundError:
        raise ExportError(f"{path}: no such file") from None
    except Exception as e:  # noqa: BLE001 - protobuf raises DecodeError and friends
        raise ExportError(f"{path}: not an ONNX model ({type(e).__name__})") from None
    if not proto.HasField("graph") or not proto.graph.output:  # an empty file parses as an empty model
        raise ExportError(f"{path}: not an ONNX model (no graph{' outputs' if proto.HasField('graph') else ''})")
    meta = {p.key: p.value for p in proto.metadata_props}
    if META_DESC not in meta:
        return data, None
    where = f"{path} (metadata {META_DESC})"
    desc = parse_desc(yaml_safe_load(meta[META_DESC], where, ExportError), source=where)
    validate_model_desc(desc, source=where)
    check_ops(desc, source=where)
    _check_metadata(proto, meta, desc, str(path))
    return data, desc


def _check_metadata(proto, meta: dict[str, str], desc: ModelDesc, path: str) -> None:
    """The description in an ONNX file's metadata is the graph's: its stored hash and the graph's input shape agree.

    Raises:
        ExportError: one line naming the file and what disagrees (a file changed after its export).
    """
    from descgraph.export import META_DESC, META_HASH

    stored = meta.get(META_HASH, "")
    if stored != desc.hash():
        raise ExportError(
            f"{path}: metadata {META_HASH} {stored[:12]!r} is not the hash of its {META_DESC} ({desc.hash()[:12]}): "
            "the file was changed after export; export it again"
        )
    graph_input = proto.graph.input[0].type.tensor_type.shape.dim if proto.graph.input else []
    dims = [d.dim_value if d.HasField("dim_value") else None for d in graph_input]
    if dims[1:] != list(desc.input_shape):
        raise ExportError(
            f"{path}: the graph's input shape {dims[1:]} is not its metadata description's input_shape "
            f"{list(desc.input_shape)}; export it again"
        )


def measure_network(
    source: ModelDesc | str | os.PathLike,
    *,
    threads: int = 1,
    batch: int = 1,
    runs: int = 100,
    warmup: int = 10,
    rounds: int = 5,
    weights: str | os.PathLike | None = None,
    eager: bool = True,
) -> dict[str, Any]:
    """onnxruntime latency (each available provider) beside PyTorch eager latency, alternating in rounds.

    Args:
        source: a description (exported and verified in memory first) or an .onnx file (its description,
            when descgraph wrote it, gives the eager side).
        threads: intra-op threads of both runtimes.
        batch: the batch size of the timed input.
        runs, warmup, rounds: timed runs per candidate, untimed runs first, alternation rounds.
        weights: a state_dict file for a description.
        eager: also time PyTorch eager.

    Returns:
        `ort_ms` (and `ort_cuda_ms` on CUDA machines), `eager_ms`, `ort_over_eager`, `env`, `batch`, `desc_hash`.
    """
    from descgraph.export import compile_for_export, export_desc

    if isinstance(source, ModelDesc):
        desc = source
        exported = export_desc(desc, weights)
        data, net = exported.data, exported.net
    else:
        data, desc = read_onnx_desc(source)
        net = compile_for_export(desc) if desc is not None and eager else None
    session_cpu = ort_session(data, threads)
    shape = [d if isinstance(d, int) else batch for d in session_cpu.get_inputs()[0].shape]
    x = np.random.default_rng(0).standard_normal(shape, dtype=np.float32)
    candidates = {"ort_ms": session_runner(session_cpu, [x])}
    if "CUDAExecutionProvider" in available_providers():
        candidates["ort_cuda_ms"] = session_runner(ort_session(data, threads, "CUDAExecutionProvider"), [x])
    if net is not None and eager:
        candidates["eager_ms"] = eager_runner(net, [torch.from_numpy(x)])
    stats = measure_side_by_side(candidates, runs=runs, warmup=warmup, rounds=rounds, threads=threads)
    out: dict[str, Any] = {name: s.to_dict() for name, s in stats.items()}
    if "eager_ms" in stats:
        out["ort_over_eager"] = round(stats["ort_ms"].median_ms / stats["eager_ms"].median_ms, 4)
    out.update(batch=shape[0], input_shape=shape[1:], desc_hash=desc.hash() if desc else None, env=environment(threads))
    return out
