"""Elastic supernet commands: child (a BigNASConfig applied to a supernet description)."""

from __future__ import annotations

import argparse

from descgraph.cli._common import load_model_desc, print_result


def cmd_child(args: argparse.Namespace) -> None:
    from descgraph._files import refuse_overwriting_inputs
    from descgraph.desc import parse_desc, read_data, save_desc, validate_model_desc
    from descgraph.desc.elastic import BigNASConfig, apply_config

    refuse_overwriting_inputs(args.output, args.supernet, args.config)
    supernet = load_model_desc(args.supernet)
    config = parse_desc(read_data(args.config), BigNASConfig, source=args.config)
    child = apply_config(supernet, config, source=args.config, supernet_source=args.supernet)
    validate_model_desc(child)
    save_desc(child, args.output)
    print_result({"output": args.output, "config": config.key(), "hash": child.hash()}, args.json)


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register child."""
    p = sub.add_parser("child", help="the static description of one child of an elastic supernet")
    p.add_argument("supernet", help="an elastic supernet description (search/full_model_desc.yaml of a bignas run)")
    p.add_argument("config", help="a BigNASConfig as YAML or JSON: resolution, depths, widths, kernel_sizes, ...")
    p.add_argument("-o", "--output", required=True, help="where to write the child's description")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_child)
