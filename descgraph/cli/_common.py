"""What every subcommand shares: splitting overrides from conf names, printing a result, picking a stage."""

from __future__ import annotations

import argparse
import json
from typing import Any


def positive_int(text: str) -> int:
    """An argparse type: an integer of at least 1 (a bad value is a usage error, exit 2)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer of at least 1, got {text!r}")
    return value


def add_size_limits(parser: argparse.ArgumentParser) -> None:
    """--max-params and --max-activation-mib: raise the estimated size a description may have to be compiled."""
    parser.add_argument(
        "--max-params", type=positive_int, help="largest estimated weight count to compile (default 2e9)"
    )
    parser.add_argument(
        "--max-activation-mib", type=positive_int, help="largest estimated activation memory of one input, MiB"
    )


def size_limits(args: argparse.Namespace):
    """The SizeLimits of --max-params and --max-activation-mib (their defaults where not given)."""
    from descgraph.desc.size import SizeLimits

    default = SizeLimits()
    return SizeLimits(
        max_params=args.max_params or default.max_params,
        max_activation_mib=args.max_activation_mib or default.max_activation_mib,
    )


def split_overrides(items: list[str]) -> tuple[list[str], list[str]]:
    """Separate `a.b=c` overrides from conf paths among positional arguments."""
    overrides = [x for x in items if "=" in x]
    return [x for x in items if "=" not in x], overrides


def print_result(data: dict[str, Any], as_json: bool) -> None:
    """Print a result as indented JSON, or as aligned `key  value` lines."""
    if as_json:
        print(json.dumps(data, indent=2))
        return
    width = max(len(k) for k in data)
    for key, value in data.items():
        print(f"{key:<{width}}  {value}")


def stage_of(conf, stage: str):
    """The search or eval stage of a conf."""
    return conf.nas.search if stage == "search" else conf.nas.eval


def load_confs(items: list[str], what: str):
    """Load the confs named among `items` (files or bundled names) with the `key=value` overrides among them."""
    from descgraph.conf import load_conf, resolve_conf_path
    from descgraph.errors import DescgraphError

    confs, overrides = split_overrides(items)
    if not confs:
        raise DescgraphError(f"{what}: give at least one conf file or bundled conf name")
    return load_conf([resolve_conf_path(c) for c in confs], overrides)
