"""Latency measurement: onnxruntime and PyTorch eager on the same inputs, with the environment recorded.

Every figure is a set of timed runs after warm-up runs, at a fixed thread count, summarized as count,
mean, std, median and p90 in milliseconds. Candidates measured side by side alternate in rounds, so a
slow spell of a shared machine falls on all of them.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn


@dataclass
class LatencyStats:
    """Summary of timed runs, in milliseconds (`p25_ms` is the lower quartile, `p90_ms` the 90th percentile)."""

    count: int
    mean_ms: float
    std_ms: float
    median_ms: float
    p90_ms: float
    min_ms: float
    p25_ms: float

    @classmethod
    def from_seconds(cls, samples: list[float]) -> LatencyStats:
        ms = sorted(s * 1000.0 for s in samples)
        if not ms:
            raise ValueError("no timed runs")
        std = statistics.stdev(ms) if len(ms) > 1 else 0.0
        mean, median = statistics.fmean(ms), statistics.median(ms)
        return cls(len(ms), mean, std, median, _quantile(ms, 0.9), ms[0], _quantile(ms, 0.25))

    def to_dict(self, digits: int = 4) -> dict[str, float | int]:
        return {k: (round(v, digits) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def _quantile(sorted_ms: list[float], q: float) -> float:
    """Linear-interpolated quantile of sorted values (numpy's default method)."""
    return float(np.quantile(np.asarray(sorted_ms), q))


def cpu_model() -> str:
    """The CPU's model name as the OS reports it."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment(threads: int, provider: str = "CPUExecutionProvider") -> dict[str, Any]:
    """What a latency figure depends on besides the model: CPU, threads, runtime versions."""
    import onnxruntime as ort

    return {
        "cpu": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "threads": threads,
        "provider": provider,
        "onnxruntime": ort.__version__,
        "torch": torch.__version__.split("+")[0],
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
    }


def available_providers() -> list[str]:
    """onnxruntime's execution providers to measure with: the CPU always, CUDA when present."""
    import onnxruntime as ort

    have = ort.get_available_providers()
    return [p for p in ("CPUExecutionProvider", "CUDAExecutionProvider") if p in have]


def ort_session(model: bytes | str | os.PathLike, threads: int = 1, provider: str = "CPUExecutionProvider"):
    """An onnxruntime session with every graph optimization, `threads` intra-op threads and sequential execution."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    source = model if isinstance(model, bytes) else str(model)
    return ort.InferenceSession(source, options, providers=[provider])


def session_runner(session, inputs: list[np.ndarray]) -> Callable[[], Any]:
    """A no-argument call that runs `session` once on `inputs` (matched by input order).

    Inputs and outputs are bound to preallocated arrays (onnxruntime's IO binding), as a deployed
    model runs: the timing holds the graph's work, not Python's copies of the outputs.
    """
    binding = session.io_binding()
    arrays = [np.ascontiguousarray(x, dtype=np.float32) for x in inputs]
    for meta, x in zip(session.get_inputs(), arrays):
        binding.bind_cpu_input(meta.name, x)
    outputs = []
    for meta in session.get_outputs():
        shape = [d if isinstance(d, int) else arrays[0].shape[0] for d in meta.shape]
        out = np.empty(shape, dtype=np.float32)
        binding.bind_output(meta.name, "cpu", 0, np.float32, shape, out.ctypes.data)
        outputs.append(out)

    def run(binding=binding, keep=(arrays, outputs)) -> list[np.ndarray]:  # keep: the bound buffers must live
        session.run_with_iobinding(binding)
        return keep[1]

    return run


def eager_runner(module: nn.Module, inputs: list[torch.Tensor]) -> Callable[[], Any]:
    """A no-argument call that runs `module` once in eval mode without autograd."""
    module.eval()

    def run() -> Any:
        with torch.inference_mode():
            return module(*inputs)

    return run


@contextmanager
def torch_threads(n: int):
    """Run PyTorch with `n` intra-op threads inside the block."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def time_runs(fn: Callable[[], Any], runs: int) -> list[float]:
    """Seconds of each of `runs` calls of `fn`."""
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def measure_side_by_side(
    candidates: dict[str, Callable[[], Any]], runs: int = 100, warmup: int = 10, rounds: int = 5, threads: int = 1
) -> dict[str, LatencyStats]:
    """Time each candidate `runs` times in all, after `warmup` calls each, alternating in `rounds` rounds.

    PyTorch runs with `threads` threads; onnxruntime sessions carry their own thread count.
    """
    per_round = max(1, -(-runs // rounds))
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    with torch_threads(threads):
        for fn in candidates.values():
            time_runs(fn, warmup)
        for _ in range(rounds):
            for name, fn in candidates.items():
                samples[name] += time_runs(fn, per_round)
    return {name: LatencyStats.from_seconds(s[:runs]) for name, s in samples.items()}
