"""What every subcommand shares: splitting overrides from conf names, printing a result, picking a stage."""

from __future__ import annotations

import argparse
from typing import Any

from descgraph._json import json_text


def positive_int(text: str) -> int:
    """An argparse type: an integer of at least 1 (a bad value is a usage error, exit 2)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer of at least 1, got {text!r}")
    return value


def split_overrides(items: list[str]) -> tuple[list[str], list[str]]:
    """Separate `a.b=c` overrides from conf paths among positional arguments."""
    overrides = [x for x in items if "=" in x]
    return [x for x in items if "=" not in x], overrides


def print_result(data: dict[str, Any], as_json: bool) -> None:
    """Print a result as indented JSON, or as aligned `key  value` lines."""
    if as_json:
        print(json_text(data, indent=2))
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
