"""Description commands: genotype, build, show, validate."""

from __future__ import annotations

import argparse
from pathlib import Path

from descgraph.cli._common import (
    add_size_limits,
    conf_paths,
    load_confs,
    load_model_desc,
    print_result,
    size_limits,
    stage_of,
)


def cmd_build(args: argparse.Namespace) -> None:
    from descgraph._files import refuse_overwriting_inputs
    from descgraph.builders import get_builder
    from descgraph.desc import load_desc, save_desc, validate_model_desc

    refuse_overwriting_inputs(args.output, *conf_paths(args.items), args.template)
    conf = load_confs(args.items, "build")
    md_conf = stage_of(conf, args.stage).model_desc
    template = load_desc(args.template, limits=conf.common.size_limits()) if args.template else None
    desc = get_builder(md_conf.builder).build(md_conf, template=template)
    validate_model_desc(desc, limits=conf.common.size_limits())
    save_desc(desc, args.output)
    print_result({"output": args.output, "cells": len(desc.cell_descs), "hash": desc.hash()}, args.json)


def cmd_show(args: argparse.Namespace) -> None:
    from descgraph.nn import describe

    print_result(describe(load_model_desc(args.desc, size_limits(args))), args.json)


def cmd_validate(args: argparse.Namespace) -> None:
    from descgraph.desc import read_data

    for path in args.files:
        data = read_data(path) if Path(path).exists() else None
        if isinstance(data, dict) and "cell_descs" in data:
            desc = load_model_desc(path, size_limits(args))
            print(f"{path}: ok (model desc, {len(desc.cell_descs)} cells, hash {desc.hash()[:12]})")
        else:
            _validate_conf(path)


def _validate_conf(path: str) -> None:
    from descgraph.builders import get_builder
    from descgraph.conf import load_conf, resolve_conf_path
    from descgraph.desc import validate_model_desc

    conf = load_conf([resolve_conf_path(path)])
    md = conf.nas.search.model_desc
    model = get_builder(md.builder).build(md)
    validate_model_desc(model, source=f"{path} (search model)", limits=conf.common.size_limits())
    print(f"{path}: ok (conf, algo {conf.algo})")


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register genotype, build, show and validate."""
    from descgraph.cli.interop_cmds import add_genotype_parser

    add_genotype_parser(sub, "genotype", "turn a DARTS genotype into a final model description (= import genotype)")

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
    add_size_limits(p)
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("validate", help="check model descriptions or confs")
    p.add_argument("files", nargs="+", help="description or conf files")
    add_size_limits(p)
    p.set_defaults(func=cmd_validate)
