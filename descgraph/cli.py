"""The `descgraph` command. A DescgraphError prints as one line and exits 2; a traceback is a bug."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from descgraph.errors import DescgraphError


def _split_overrides(items: list[str]) -> tuple[list[str], list[str]]:
    """Separate `a.b=c` overrides from conf paths among positional arguments."""
    overrides = [x for x in items if "=" in x]
    return [x for x in items if "=" not in x], overrides


def _print(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(data, indent=2))
        return
    width = max(len(k) for k in data)
    for key, value in data.items():
        print(f"{key:<{width}}  {value}")


# --- genotype ---------------------------------------------------------------------------------
def cmd_genotype(args: argparse.Namespace) -> None:
    from descgraph.builders import build_from_genotype
    from descgraph.conf import load_conf, resolve_conf_path
    from descgraph.desc import save_desc, validate_model_desc
    from descgraph.desc.genotype import parse_genotype

    genotype = parse_genotype(args.genotype)
    confs, overrides = _split_overrides(args.conf or ["darts"])
    conf = load_conf([resolve_conf_path(c) for c in confs], overrides)
    desc = build_from_genotype(genotype, _stage(conf, args.stage).model_desc)
    validate_model_desc(desc)
    save_desc(desc, args.output)
    _print({"output": args.output, "cells": len(desc.cell_descs), "hash": desc.hash()}, args.json)


def _stage(conf, stage: str):
    return conf.nas.search if stage == "search" else conf.nas.eval


# --- build ------------------------------------------------------------------------------------
def cmd_build(args: argparse.Namespace) -> None:
    from descgraph.builders import get_builder
    from descgraph.conf import load_conf, resolve_conf_path
    from descgraph.desc import load_desc, save_desc, validate_model_desc

    confs, overrides = _split_overrides(args.items)
    if not confs:
        raise DescgraphError("build: give at least one conf file or bundled conf name")
    conf = load_conf([resolve_conf_path(c) for c in confs], overrides)
    md_conf = _stage(conf, args.stage).model_desc
    template = load_desc(args.template) if args.template else None
    desc = get_builder(md_conf.builder).build(md_conf, template=template)
    validate_model_desc(desc)
    save_desc(desc, args.output)
    _print({"output": args.output, "cells": len(desc.cell_descs), "hash": desc.hash()}, args.json)


# --- show -------------------------------------------------------------------------------------
def describe(desc) -> dict[str, Any]:
    """The headline facts of a description, compiled once to count parameters and MACs."""
    from descgraph.nn import Model, count_macs

    model = Model(desc, droppath=False, affine=True)
    ops = Counter(e.op_desc.name for c in desc.cell_descs for n in c.nodes for e in n.edges)
    macs = count_macs(model, desc.input_shape)
    return {
        "hash": desc.hash(),
        "input_shape": desc.input_shape,
        "n_classes": desc.n_classes,
        "cells": len(desc.cell_descs),
        "reduction_cells": desc.reduction_cell_ids(),
        "nodes": sum(len(c.nodes) for c in desc.cell_descs),
        "edges": sum(ops.values()),
        "op_histogram": dict(sorted(ops.items())),
        "params": model.param_count(with_aux=False),
        "params_with_aux": model.param_count(with_aux=True),
        "arch_params": sum(p.numel() for p in model.arch_params()),
        "macs": macs,
        "flops": 2 * macs,
    }


def cmd_show(args: argparse.Namespace) -> None:
    from descgraph.desc import load_desc

    _print(describe(load_desc(args.desc)), args.json)


# --- validate ---------------------------------------------------------------------------------
def cmd_validate(args: argparse.Namespace) -> None:
    from descgraph.desc import load_desc, read_data
    from descgraph.nn.check import check_op_names

    for path in args.files:
        data = read_data(path) if Path(path).exists() else None
        if isinstance(data, dict) and "cell_descs" in data:
            desc = load_desc(path)
            check_op_names(desc, source=path)
            print(f"{path}: ok (model desc, {len(desc.cell_descs)} cells, hash {desc.hash()[:12]})")
        else:
            _validate_conf(path)


def _validate_conf(path: str) -> None:
    from descgraph.builders import get_builder
    from descgraph.conf import load_conf, resolve_conf_path
    from descgraph.desc import validate_model_desc

    conf = load_conf([resolve_conf_path(path)])
    md = conf.nas.search.model_desc
    validate_model_desc(get_builder(md.builder).build(md), source=f"{path} (search model)")
    print(f"{path}: ok (conf, algo {conf.algo})")


# --- run --------------------------------------------------------------------------------------
def cmd_run(args: argparse.Namespace) -> None:
    from descgraph.conf import load_conf, resolve_conf_path
    from descgraph.nas import get_runner_class

    confs, overrides = _split_overrides(args.items)
    if not confs:
        raise DescgraphError("run: give a conf file or a bundled conf name")
    conf = load_conf([resolve_conf_path(c) for c in confs], overrides)
    expdir = Path(args.expdir or Path(conf.common.logdir).expanduser() / conf.common.experiment_name)
    runner = get_runner_class(conf.algo)(conf, expdir)
    summary = runner.run(search=not args.no_search, eval=not args.no_eval)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"experiment folder: {expdir}")
        print(json.dumps(summary, indent=2))


# --- parser -----------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="descgraph", description="Description-driven neural architecture search.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("genotype", help="turn a DARTS genotype into a final model description")
    p.add_argument("genotype", help="a Genotype(...) literal, or DARTS_V1 / DARTS_V2")
    p.add_argument("-o", "--output", required=True, help="where to write the description (.yaml or .json)")
    p.add_argument("--conf", nargs="*", help="confs (and key=value overrides) giving the macro; default: darts")
    p.add_argument("--stage", choices=["search", "eval"], default="search", help="which stage's macro to use")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_genotype)

    p = sub.add_parser("build", help="build a model description from confs")
    p.add_argument("items", nargs="+", metavar="CONF|key=value", help="conf files or bundled names, then overrides")
    p.add_argument("--stage", choices=["search", "eval"], default="search", help="which stage's model to build")
    p.add_argument("--template", help="a final description whose cells the eval model scales up")
    p.add_argument("-o", "--output", required=True, help="where to write the description (.yaml or .json)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("show", help="cells, op histogram, parameter counts and MACs of a description")
    p.add_argument("desc", help="a model description file")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("run", help="run an experiment: search, finalize, evaluate")
    p.add_argument(
        "items",
        nargs="+",
        metavar="CONF|NAME|key=value",
        help="conf files or bundled names (darts_digits, random_digits, ...), then overrides",
    )
    p.add_argument("--no-search", action="store_true", help="skip the search; evaluate the saved final description")
    p.add_argument("--no-eval", action="store_true", help="search only")
    p.add_argument("--expdir", help="experiment folder (default: common.logdir/common.experiment_name)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON only")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("validate", help="check model descriptions or confs")
    p.add_argument("files", nargs="+", help="description or conf files")
    p.set_defaults(func=cmd_validate)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `descgraph` command; returns the exit code."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # key=value overrides may come after options such as --expdir
        if not (hasattr(args, "items") and all("=" in x and not x.startswith("-") for x in extra)):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.items += extra
    try:
        from descgraph._plugins import load_plugins

        load_plugins()
        args.func(args)
    except DescgraphError as e:
        print(f"descgraph: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("descgraph: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
