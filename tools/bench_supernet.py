"""Benchmark: one forward+backward step of the DARTS search supernet on the CPU.

The DARTS search macro (8 cells, 2 reductions, 4 nodes, 16 channels, stem multiplier 3) on CIFAR
shapes: one warm-up step, then the median of N steps; prints JSON with the weight count, the batch,
the thread count, the median step time and the process's peak resident memory. With --peer PYTHON it
also runs Microsoft Archai 1.0.0's supernet (../shared/peers/archai/darts_supernet.py) in that
interpreter, one after the other in this one run, and prints both and the ratios.

    python tools/bench_supernet.py --json [--batch 64] [--steps 3] [--threads N] [--peer PYTHON [--rounds 3]]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PEER_SCRIPT = REPO.parent / "shared" / "peers" / "archai" / "darts_supernet.py"


def measure(batch: int, steps: int, threads: int, recompute: int | None = None) -> dict:
    """Build the supernet from the bundled darts conf and time forward+backward steps."""
    import torch

    from descgraph.builders import get_builder
    from descgraph.conf import load_conf, resolve_conf_path
    from descgraph.nn import Model

    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    stage = load_conf([resolve_conf_path("darts")]).nas.search
    md, trainer = stage.model_desc, stage.trainer
    model = Model(get_builder(md.builder).build(md), droppath=False)
    # the layout and recomputation the search trainer uses (nas.search.trainer in confs/algos/darts.yaml)
    layout = torch.channels_last if trainer.channels_last else torch.contiguous_format
    model = model.to(memory_format=layout)
    model.set_recompute(trainer.recompute_cells if recompute is None else recompute)
    x, y = torch.randn(batch, 3, 32, 32).contiguous(memory_format=layout), torch.randint(0, 10, (batch,))
    lossfn = torch.nn.CrossEntropyLoss()

    def step() -> None:
        logits, _ = model(x)
        lossfn(logits, y).backward()

    step()
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    times.sort()
    return {
        "peer": "descgraph",
        "weights": model.param_count(),
        "batch": batch,
        "threads": torch.get_num_threads(),
        "step_s": times[len(times) // 2],
        "channels_last": trainer.channels_last,
        "recompute_cells": model.recompute,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run_isolated(argv: list[str]) -> dict:
    """Run a measurement in a fresh process, so each one's peak memory is its own."""
    out = subprocess.run(argv, check=True, capture_output=True, text=True, cwd=REPO)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--peer", help="python of a venv with Archai 1.0.0 (shared/peers/archai/setup.sh prints it)")
    ap.add_argument("--recompute-cells", type=int, help="override nas.search.trainer.recompute_cells")
    ap.add_argument("--rounds", type=int, default=3, help="alternating runs of each side (with --peer)")
    ap.add_argument("--json", action="store_true", help="print JSON only")
    ap.add_argument("--_self", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._self or not args.peer:
        result = measure(args.batch, args.steps, args.threads, args.recompute_cells)
        print(json.dumps(result) if args.json or args._self else json.dumps(result, indent=2))
        return
    common = ["--batch", str(args.batch), "--steps", str(args.steps), "--threads", str(args.threads)]
    mine = common + ([] if args.recompute_cells is None else ["--recompute-cells", str(args.recompute_cells)])
    ours, peer = [], []
    for _ in range(args.rounds):  # alternate, so a slow spell of the machine hits both sides
        ours.append(run_isolated([sys.executable, __file__, "--_self", *mine]))
        peer.append(run_isolated([args.peer, str(PEER_SCRIPT), *common]))
    ours_med, peer_med = _median_run(ours), _median_run(peer)
    result = {
        "descgraph": ours_med,
        "archai": peer_med,
        "rounds": args.rounds,
        "step_s_each": {"descgraph": [r["step_s"] for r in ours], "archai": [r["step_s"] for r in peer]},
        "step_ratio": ours_med["step_s"] / peer_med["step_s"],
        "rss_ratio": ours_med["peak_rss_mb"] / peer_med["peak_rss_mb"],
        "cpu": _cpu_model(),
    }
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))


def _median_run(runs: list[dict]) -> dict:
    """The run with the median step time."""
    return sorted(runs, key=lambda r: r["step_s"])[len(runs) // 2]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return os.uname().machine


if __name__ == "__main__":
    main()
