"""Picture and inspection commands: plot, diff, report."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from descgraph.cli._common import print_result
from descgraph.errors import DataError


def _plot_expdir(expdir: Path, args: argparse.Namespace) -> Path:
    """An experiment folder: its final cells, or with --alphas / --curves those plots (into the folder by default)."""
    from descgraph.desc import load_desc
    from descgraph.viz import alpha_tables, load_alphas, plot_alphas, plot_curves, plot_desc
    from descgraph.viz.curves import stage_metrics

    final = expdir / "search" / "final_model_desc.yaml"
    if args.alphas:
        final_desc = load_desc(final) if final.exists() else None
        tables = alpha_tables(load_alphas(expdir / "search" / "alphas.jsonl"), final_desc)
        return plot_alphas(tables, args.output or expdir / "alphas.png")
    if args.curves:
        return plot_curves(stage_metrics(expdir), args.output or expdir / "curves.png")
    if not final.exists():
        raise DataError(f"{final}: no final description to draw (run the search first)")
    return plot_desc(load_desc(final), args.output or expdir / "cells.png")


def _plot_desc_file(path: Path, args: argparse.Namespace) -> Path:
    """A description file; a supernet beside an alphas.jsonl is drawn with its last weights."""
    from descgraph.desc import load_desc
    from descgraph.viz import load_alphas, plot_desc
    from descgraph.viz.alphas import last_weights

    if args.alphas or args.curves:
        raise DataError(f"{path}: --alphas and --curves take an experiment folder")
    if not args.output:
        raise DataError(f"{path}: give -o/--output (a .png, .svg or .pdf file)")
    alphas = path.parent / "alphas.jsonl"
    weights = last_weights(load_alphas(alphas)) if alphas.exists() else None
    return plot_desc(load_desc(path), args.output, weights)


def _plot_inputs(target: Path) -> list[Path]:
    """The files a plot of `target` (an experiment folder or a description) reads."""
    if not target.is_dir():
        return [target, target.parent / "alphas.jsonl"]
    search = target / "search"
    return [
        search / "final_model_desc.yaml",
        search / "alphas.jsonl",
        search / "metrics.jsonl",
        target / "eval" / "metrics.jsonl",
    ]


def cmd_plot(args: argparse.Namespace) -> None:
    from descgraph._files import refuse_overwriting_inputs

    target = Path(args.target)
    if not target.exists():
        raise DataError(f"{target}: no such file or folder")
    refuse_overwriting_inputs(args.output, *_plot_inputs(target))
    out = _plot_expdir(target, args) if target.is_dir() else _plot_desc_file(target, args)
    print(out)


def cmd_diff(args: argparse.Namespace) -> int:
    """Exit codes as diff(1): 0 identical, 1 different (2, trouble, comes from the error handler)."""
    from descgraph.desc import load_desc
    from descgraph.desc.diff import diff_descs, format_diff

    diff = diff_descs(load_desc(args.a), load_desc(args.b))
    if args.json:
        print(json.dumps({"a": args.a, "b": args.b, **diff.to_dict()}, indent=2))
    else:
        print(format_diff(diff, args.a, args.b))
    return 0 if diff.identical else 1


def cmd_report(args: argparse.Namespace) -> None:
    from descgraph.viz import write_report

    print_result({"report": str(write_report(args.expdir))}, args.json)


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register plot, diff and report."""
    p = sub.add_parser("plot", help="draw a description's cells, or an experiment's cells, alphas or curves")
    p.add_argument("target", help="a description file, or an experiment folder")
    p.add_argument("-o", "--output", help="the picture (.png, .svg or .pdf); default for a folder: inside it")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--alphas", action="store_true", help="architecture weights of a DARTS search over epochs")
    what.add_argument("--curves", action="store_true", help="loss and top-1 of the search and eval stages")
    p.set_defaults(func=cmd_plot)

    p = sub.add_parser("diff", help="structural diff of two descriptions (exit 0 identical, 1 different, 2 trouble)")
    p.add_argument("a", help="a model description file")
    p.add_argument("b", help="another model description file")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_diff)

    p = sub.add_parser("report", help="write EXPDIR/report.html: one self-contained page of the experiment")
    p.add_argument("expdir", help="an experiment folder")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_report)
