"""Benchmark: a short darts_digits search alone and beside a busy process, at torch's default thread count
and at descgraph's.

Each run is `descgraph run darts_digits --no-eval` in a fresh process (a few epochs, `dataset.max_batches`);
its time is the sum of the search epochs' `time_s` in search/metrics.jsonl (no start-up, no data loading).
The settings, side by side in one run and in rounds (alone, then busy, each setting in turn):

- `descgraph`: no `common.threads`, the rule of descgraph.train.threads;
- `torch_default`: `common.threads` set to the count torch picks in a fresh process, the old default;
- `torch_default_passive`: the same with `OMP_WAIT_POLICY=PASSIVE` (waiting threads sleep, not spin).

The busy neighbour is one process spinning a CPU (`--neighbour spin`, a Python loop), or a second
identical search (`--neighbour twin`, started alongside and timed apart). `busy_over_alone` is the
median busy time over the median alone time; on a machine doing other work the absolute times move,
the ratios within one run are what to compare. The last line of `--json` is one JSON object.

    python tools/bench_threads.py --json [--epochs 3] [--max-batches 8] [--rounds 2] [--neighbour spin|twin]
        [--settings descgraph,torch_default]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

SETTINGS = ("descgraph", "torch_default", "torch_default_passive")
SPIN = "while True: pass"


def torch_default_threads() -> int:
    """The intra-op thread count torch picks in a fresh process (no OMP_NUM_THREADS)."""
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    out = subprocess.run(
        [sys.executable, "-c", "import torch; print(torch.get_num_threads())"],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return int(out.stdout)


def search_command(expdir: Path, setting: str, args: argparse.Namespace, default: int) -> list[str]:
    """The `descgraph run` of one timed search."""
    argv = [sys.executable, "-m", "descgraph.cli", "run", "darts_digits", "--no-eval", "--expdir", str(expdir)]
    argv += [f"nas.search.trainer.epochs={args.epochs}", f"dataset.max_batches={args.max_batches}"]
    argv += ["common.resume=false"]
    return argv + ([f"common.threads={default}"] if setting.startswith("torch_default") else [])


def search_env(setting: str) -> dict[str, str]:
    """The environment of a timed search: torch's own choices, passive waiting for the `_passive` setting."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY")}
    return {**env, "OMP_WAIT_POLICY": "PASSIVE"} if setting.endswith("_passive") else env


def epochs_time(expdir: Path) -> float:
    """The summed `time_s` of a finished search's epochs."""
    lines = (expdir / "search" / "metrics.jsonl").read_text().splitlines()
    return sum(json.loads(line)["time_s"] for line in lines)


def timed_search(workdir: Path, name: str, setting: str, args: argparse.Namespace, default: int) -> float:
    """Runs one search to the end and returns its epochs' time."""
    expdir = workdir / name
    cmd, env = search_command(expdir, setting, args, default), search_env(setting)
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return epochs_time(expdir)


def timed_beside(workdir: Path, name: str, setting: str, args: argparse.Namespace, default: int) -> float:
    """One search with the neighbour running beside it the whole time."""
    if args.neighbour == "spin":
        neighbour = subprocess.Popen([sys.executable, "-c", SPIN])
    else:
        twin_dir = workdir / f"{name}-twin"
        cmd = search_command(twin_dir, setting, args, default) + ["nas.search.trainer.epochs=1000"]
        neighbour = subprocess.Popen(cmd, env=search_env(setting), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        return timed_search(workdir, name, setting, args, default)
    finally:
        neighbour.kill()
        neighbour.wait()


def measure(args: argparse.Namespace) -> dict:
    """Every setting alone and busy, `args.rounds` times, interleaved."""
    default = torch_default_threads()
    times: dict[str, dict[str, list[float]]] = {s: {"alone": [], "busy": []} for s in args.settings}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for setting in args.settings:
                for side, timed in (("alone", timed_search), ("busy", timed_beside)):
                    times[setting][side].append(timed(Path(tmp), f"{setting}-{r}-{side}", setting, args, default))
                    print(f"round {r} {setting} {side}: {times[setting][side][-1]:.2f} s", file=sys.stderr, flush=True)
    return {s: summarize(t) for s, t in times.items()} | {"torch_default_threads": default}


def summarize(times: dict[str, list[float]]) -> dict:
    """Medians and their ratio."""
    alone, busy = statistics.median(times["alone"]), statistics.median(times["busy"])
    return {
        "alone_s": round(alone, 3),
        "busy_s": round(busy, 3),
        "busy_over_alone": round(busy / alone, 2),
        "runs_s": {k: [round(t, 3) for t in v] for k, v in times.items()},
    }


def settings(text: str) -> list[str]:
    """The settings of `--settings`: known names, each once, in the order given."""
    names = list(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    unknown = [n for n in names if n not in SETTINGS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown setting {unknown[0] if unknown else text!r}; known: {', '.join(SETTINGS)}"
        )
    return names


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=3, help="search epochs per run")
    ap.add_argument("--max-batches", type=int, default=8, help="dataset.max_batches of each run")
    ap.add_argument("--rounds", type=int, default=2, help="times each setting runs alone and busy")
    ap.add_argument("--neighbour", choices=["spin", "twin"], default="spin", help="the busy process beside the run")
    ap.add_argument(
        "--settings", type=settings, default=list(SETTINGS), help=f"comma-separated, of {', '.join(SETTINGS)}"
    )
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args()
    from descgraph.hw.latency import cpu_model
    from descgraph.train.threads import available_cpus

    result = {
        "bench": "threads",
        "conf": f"darts_digits --no-eval epochs={args.epochs} max_batches={args.max_batches}",
        "neighbour": args.neighbour,
        "rounds": args.rounds,
        "cpus": available_cpus(),
        "machine": cpu_model(),
        "load_avg_1m_at_start": round(os.getloadavg()[0], 2),
        **measure(args),
    }
    if args.json:
        print(json.dumps(result))
    else:
        for s in args.settings:
            r = result[s]
            print(f"{s:24s} alone {r['alone_s']:8.2f} s  busy {r['busy_s']:8.2f} s  busy/alone {r['busy_over_alone']}")


if __name__ == "__main__":
    main()
