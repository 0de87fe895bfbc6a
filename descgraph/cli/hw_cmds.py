"""Device commands: export (ONNX, verified), measure (onnxruntime beside eager), lut build|predict|eval."""

from __future__ import annotations

import argparse
from typing import Any

from descgraph.cli._common import (
    add_size_limits,
    load_model_desc,
    non_negative_float,
    non_negative_int,
    positive_int,
    print_result,
    ranged,
    size_limits,
)

# the opsets torch.onnx exports (torch.onnx._constants.ONNX_MIN_OPSET, ONNX_MAX_OPSET)
MIN_OPSET, MAX_OPSET = 7, 23


def _flat(result: dict[str, Any]) -> dict[str, Any]:
    """Stats dicts as one readable line each, for the non-JSON output."""
    out = {}
    for key, value in result.items():
        if isinstance(value, dict) and "median_ms" in value:
            value = (
                f"median {value['median_ms']:.3f}  mean {value['mean_ms']:.3f}  std {value['std_ms']:.3f}  "
                f"p90 {value['p90_ms']:.3f}  (n={value['count']})"
            )
        elif isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items())
        out[key] = value
    return out


def cmd_export(args: argparse.Namespace) -> None:
    from descgraph._files import refuse_overwriting_inputs
    from descgraph.export import export_onnx

    refuse_overwriting_inputs(args.output, args.desc, args.weights)
    desc = load_model_desc(args.desc, size_limits(args))
    report = export_onnx(desc, args.output, args.weights, opset=args.opset, atol=args.atol)
    print_result(report.to_dict(), args.json)


def cmd_measure(args: argparse.Namespace) -> None:
    from descgraph.hw.measure import measure_network

    source = args.model if args.model.lower().endswith(".onnx") else load_model_desc(args.model, size_limits(args))
    result = measure_network(
        source,
        threads=args.threads,
        batch=args.batch,
        runs=args.runs,
        warmup=args.warmup,
        rounds=args.rounds,
        weights=args.weights,
        eager=not args.no_eager,
    )
    print_result(result if args.json else _flat(result), args.json)


def cmd_lut_build(args: argparse.Namespace) -> None:
    from descgraph._files import refuse_overwriting_inputs
    from descgraph.cli._common import conf_paths, load_confs
    from descgraph.hw.lut_build import build_table

    refuse_overwriting_inputs(args.output, *conf_paths(args.items))
    conf = load_confs(args.items, "lut build")
    table = build_table(
        conf, args.output, batch=args.batch, threads=args.threads, runs=args.runs, resume=not args.fresh
    )
    summary = {"output": args.output, "space": table.space, "entries": len(table.entries)}
    print_result({**summary, "run_overhead_ms": round(table.run_overhead_ms, 5), "threads": table.threads}, args.json)


def cmd_lut_predict(args: argparse.Namespace) -> None:
    from descgraph.hw.lut import load_table, predict_latency

    table, desc = load_table(args.lut), load_model_desc(args.desc)
    latency = predict_latency(table, desc, source=args.desc)
    print_result({"latency_ms": round(latency, 5), "desc_hash": desc.hash(), "threads": table.threads}, args.json)


def cmd_lut_eval(args: argparse.Namespace) -> None:
    from descgraph.hw.lut import load_table
    from descgraph.hw.lut_build import evaluate_table, table_conf

    table = load_table(args.lut)
    table_conf(table, source=args.lut)  # a table without a readable conf is refused naming its file
    result = evaluate_table(table, samples=args.samples, seed=args.seed, runs=args.runs)
    if not args.json:
        result.pop("networks")
    print_result(result, args.json)


def _add_timing_args(p: argparse.ArgumentParser, runs: int) -> None:
    p.add_argument(
        "--threads", type=positive_int, default=1, help="intra-op threads of onnxruntime and PyTorch (default 1)"
    )
    p.add_argument("--runs", type=positive_int, default=runs, help=f"timed runs (default {runs})")


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register export, measure and lut."""
    p = sub.add_parser("export", help="export a description (and weights) to ONNX, verified with onnxruntime")
    p.add_argument("desc", help="a model description file (.yaml or .json)")
    p.add_argument("--weights", help="a state_dict file (eval/model.pt); random weights when left out")
    p.add_argument("-o", "--output", required=True, help="the .onnx file to write")
    opset = ranged(int, lambda v: MIN_OPSET <= v <= MAX_OPSET, f"an opset from {MIN_OPSET} to {MAX_OPSET}")
    p.add_argument("--opset", type=opset, default=17, help="ONNX opset (default 17)")
    p.add_argument(
        "--atol", type=non_negative_float, default=1e-4, help="largest allowed |onnxruntime - PyTorch| (default 1e-4)"
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    add_size_limits(p)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("measure", help="latency of a network: onnxruntime beside PyTorch eager")
    p.add_argument("model", help="an .onnx file (exported by descgraph for the eager side) or a description")
    p.add_argument("--weights", help="a state_dict file for a description")
    p.add_argument("--batch", type=positive_int, default=1, help="batch size (default 1)")
    _add_timing_args(p, runs=100)
    p.add_argument("--warmup", type=non_negative_int, default=10, help="untimed runs first (default 10)")
    p.add_argument("--rounds", type=positive_int, default=5, help="rounds the candidates alternate in (default 5)")
    p.add_argument("--no-eager", action="store_true", help="time onnxruntime only")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_size_limits(p)
    p.set_defaults(func=cmd_measure)

    lut = sub.add_parser("lut", help="hardware cost lookup tables: build, predict, evaluate")
    lut_sub = lut.add_subparsers(dest="lut_command", required=True)
    p = lut_sub.add_parser("build", help="measure every block of a conf's search space at its eval macro")
    p.add_argument("items", nargs="+", metavar="CONF|key=value", help="conf files or bundled names, then overrides")
    p.add_argument("-o", "--output", required=True, help="the table to write (.yaml or .json); a partial one resumes")
    p.add_argument("--batch", type=positive_int, default=1, help="batch size (default 1)")
    _add_timing_args(p, runs=200)
    p.add_argument("--fresh", action="store_true", help="measure everything again instead of resuming")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_lut_build)

    p = lut_sub.add_parser("predict", help="predicted latency of a description from a table")
    p.add_argument("lut", help="a table written by lut build")
    p.add_argument("desc", help="a model description file")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_lut_predict)

    p = lut_sub.add_parser("eval", help="predicted against measured latency on random networks of the table's space")
    p.add_argument("lut", help="a table written by lut build")
    p.add_argument("--samples", type=positive_int, default=50, help="random networks (default 50)")
    p.add_argument("--seed", type=int, default=0, help="seed of the first network (default 0)")
    p.add_argument("--runs", type=positive_int, default=200, help="timed runs per network (default 200)")
    p.add_argument("--json", action="store_true", help="print JSON (with every network)")
    p.set_defaults(func=cmd_lut_eval)
