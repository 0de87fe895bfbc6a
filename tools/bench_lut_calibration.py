"""Benchmark: can whole measured networks correct a lookup table, and how repeatable is a measurement?

Builds the table of a conf's search space (as `tools/bench_lut.py`), then measures, round-robin in one
pass, `--train` random networks and `--test` other ones, each test network in two onnxruntime sessions;
a second pass measures the test networks again. Prints JSON with, on the test networks:

- `table`: Kendall's tau of the table's prediction against the first pass;
- `calibrated`: the same after corrections fitted by least squares on the training networks: one scale
  per op (`per_op_scale`, 8 numbers), and one cost per (op, channels, stride) added to the table's
  prediction (`per_site_cost`, ridge-regularized);
- `same_session_second_pass` and `second_session_same_pass`: the first pass against a second pass of
  the same sessions, and against other sessions of the same networks measured beside them: what the
  machine lets any predictor reach.

    python tools/bench_lut_calibration.py --json [--train 100] [--test 50] [--runs 200] [CONF key=value ...]
"""

from __future__ import annotations

import collections
import json
import time

import numpy as np


def _sites(table, desc) -> tuple[collections.Counter, collections.Counter]:
    """Per op name, the table's latency of its sites; per (op, channels, stride) in cells, the site count."""
    from descgraph.hw.lut import site_key, sum_key
    from descgraph.hw.sites import op_sites, sum_sites

    per_op, per_site = collections.Counter(), collections.Counter()
    for site in op_sites(desc):
        in_cell = ".nodes[" in site.path
        per_op[site.op.name if in_cell else "fixed"] += table.entries[site_key(site)].latency_ms
        if in_cell:
            per_site[(site.op.name, site.in_shapes[0][0], site.op.params.get("stride", 1))] += 1
    for s in sum_sites(desc):
        per_op["add"] += (s.terms - 1) * table.entries[sum_key(s.shape)].latency_ms
    return per_op, per_site


def _fit(x_train: np.ndarray, y_train: np.ndarray, ridge: float = 0.0, free: int = 0) -> np.ndarray:
    """Least squares with an intercept; `ridge` on every column after the first `free`."""
    a = np.c_[x_train, np.ones(len(x_train))]
    penalty = ridge * len(a) * np.eye(a.shape[1])
    penalty[:free, :free] = 0.0
    penalty[-1, -1] = 0.0
    return np.linalg.solve(a.T @ a + penalty, a.T @ y_train)


def _apply(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    return np.c_[x, np.ones(len(x))] @ w


def main() -> None:
    from bench_lut import table_arguments, table_of

    from descgraph.hw.latency import environment, measure_side_by_side
    from descgraph.hw.lut import predict_latency
    from descgraph.hw.lut_build import agreement, network_runner, table_conf
    from descgraph.hw.lut_space import get_lut_space

    ap = table_arguments(__doc__)
    ap.add_argument("--train", type=int, default=100, help="networks the corrections are fitted on (default 100)")
    ap.add_argument("--test", type=int, default=50, help="networks they are judged on (default 50)")
    args = ap.parse_args()
    start = time.perf_counter()
    table = table_of(args, "bench_lut_calibration")
    space = get_lut_space(table_conf(table))
    train = [space.sample(10_000 + i) for i in range(args.train)]  # apart from the test seeds
    test = [space.sample(i) for i in range(args.test)]

    def runner(desc):
        return network_runner(desc, table.batch, table.threads)

    runners = {f"train{i}": runner(d) for i, d in enumerate(train)}
    tests = {f"{side}{i}": runner(d) for i, d in enumerate(test) for side in ("a", "b")}
    first = measure_side_by_side({**runners, **tests}, args.runs, warmup=20, rounds=10, threads=table.threads)
    second = measure_side_by_side(tests, args.runs, warmup=20, rounds=10, threads=table.threads)

    def medians(stats, prefix: str, n: int) -> np.ndarray:
        return np.array([stats[f"{prefix}{i}"].median_ms for i in range(n)])

    y_train, y_test = medians(first, "train", args.train), medians(first, "a", args.test)
    features = [_sites(table, d) for d in train + test]
    op_names = sorted(set().union(*(f[0] for f in features)))
    site_names = sorted(set().union(*(f[1] for f in features)))
    per_op = np.array([[f[0][k] for k in op_names] for f in features])
    predicted = np.array([predict_latency(table, d) for d in train + test])
    per_site = np.c_[predicted, np.array([[f[1][k] for k in site_names] for f in features])]
    n = args.train
    w_op = _fit(per_op[:n], y_train)
    w_site = _fit(per_site[:n], y_train, ridge=1e-2, free=1)
    result = {
        "space": table.space,
        "train": args.train,
        "test": args.test,
        "table": agreement(predicted[n:], y_test),
        "calibrated": {
            "per_op_scale": agreement(_apply(w_op, per_op[n:]), y_test),
            "per_site_cost": agreement(_apply(w_site, per_site[n:]), y_test),
        },
        "per_op_scales": {k: round(float(v), 3) for k, v in zip(op_names, w_op)},
        "same_session_second_pass": agreement(medians(second, "a", args.test), y_test),
        "second_session_same_pass": agreement(medians(first, "b", args.test), y_test),
        "spread_pct": round(float(y_test.std() / y_test.mean() * 100), 2),
        "wall_s": round(time.perf_counter() - start, 1),
        "env": environment(table.threads),
    }
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
