"""Benchmark: batch-1 inference latency of the DARTS_V2 evaluation network, onnxruntime beside PyTorch eager.

DARTS_V2 at the DARTS eval macro (20 cells, 36 channels, CIFAR-10 shapes) is exported to ONNX,
verified against PyTorch, then timed with onnxruntime and with PyTorch eager side by side, the two
alternating in rounds within this one process. With --peer PYTHON it also runs Microsoft Archai
1.0.0's evaluation network (../shared/peers/archai/eval_net.py, a comparable 20-cell DARTS network
built from Archai's saved final_model_desc1.yaml) in that interpreter, once before and once after ours.

    python tools/bench_latency.py --json [--threads N] [--runs 200] [--rounds 5] [--peer PYTHON]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PEERS = REPO.parent / "shared" / "peers" / "archai"
ARCHAI_DESC = REPO.parent / "shared" / "data" / "archai" / "final_model_desc1.yaml"


def darts_v2_eval():
    """DARTS_V2 at the eval macro of the bundled darts conf."""
    from descgraph.builders import build_from_genotype, get_builder
    from descgraph.conf import load_conf, resolve_conf_path
    from descgraph.desc.genotype import parse_genotype

    conf = load_conf([resolve_conf_path("darts")])
    final = build_from_genotype(parse_genotype("DARTS_V2"), conf.nas.search.model_desc)
    md = conf.nas.eval.model_desc
    return get_builder(md.builder).build(md, template=final)


def measure_ours(threads: int, runs: int, rounds: int) -> dict:
    """Export, verify, then time onnxruntime and eager alternately."""
    import torch

    from descgraph.export import export_desc
    from descgraph.hw.latency import eager_runner, environment, measure_side_by_side, ort_session, session_runner

    desc = darts_v2_eval()
    exported = export_desc(desc)
    x = torch.randn(1, *desc.input_shape)
    candidates = {
        "ort_ms": session_runner(ort_session(exported.data, threads), [x.numpy()]),
        "eager_ms": eager_runner(exported.net, [x]),
    }
    stats = measure_side_by_side(candidates, runs=runs, warmup=10, rounds=rounds, threads=threads)
    return {
        "network": "DARTS_V2, 20 cells, 36 channels, 32x32",
        "params": sum(p.numel() for n, p in exported.net.named_parameters() if "aux" not in n),
        "max_abs_diff": exported.report.max_abs_diff,
        **{k: v.to_dict() for k, v in stats.items()},
        "ort_over_eager": stats["ort_ms"].median_ms / stats["eager_ms"].median_ms,
        "env": environment(threads),
        "torch_threads": torch.get_num_threads(),
    }


def run_peer(python: str, threads: int) -> dict:
    """Archai's eager eval-network latency, in its own interpreter (it takes torch's default threads)."""
    env = {"OMP_NUM_THREADS": str(threads), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [python, str(PEERS / "eval_net.py"), str(ARCHAI_DESC)], check=True, capture_output=True, text=True, env=env
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2, help="intra-op threads of both runtimes (default 2)")
    ap.add_argument("--runs", type=int, default=200, help="timed runs of each runtime")
    ap.add_argument("--rounds", type=int, default=5, help="rounds the runtimes alternate in")
    ap.add_argument("--peer", help="python of a venv with Archai 1.0.0 (shared/peers/archai/setup.sh prints it)")
    ap.add_argument("--json", action="store_true", help="print JSON on one line")
    args = ap.parse_args()
    peer = [run_peer(args.peer, args.threads)] if args.peer else []
    result = measure_ours(args.threads, args.runs, args.rounds)
    if args.peer:
        peer.append(run_peer(args.peer, args.threads))
        result["archai_eager_b1_ms_each"] = [p["eager_b1_ms"] for p in peer]
        result["archai_eager_b1_ms"] = statistics.median(p["eager_b1_ms"] for p in peer)
        result["archai_params"] = peer[0]["params"]
        result["ort_over_archai_eager"] = result["ort_ms"]["median_ms"] / result["archai_eager_b1_ms"]
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
