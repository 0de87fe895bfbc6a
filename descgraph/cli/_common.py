"""What every subcommand shares: splitting overrides from conf names, printing a result, picking a stage."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import Any

from descgraph._json import json_text


def ranged(cast: Callable[[str], Any], accepts: Callable[[Any], bool], what: str) -> Callable[[str], Any]:
    """An argparse type: `cast(text)` when `accepts` it, else a usage error (exit 2) saying it expected `what`."""

    def parse(text: str) -> Any:
        try:
            value = cast(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not accepts(value):  # NaN accepts nothing
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    return parse


positive_int = ranged(int, lambda v: v >= 1, "an integer of at least 1")
non_negative_int = ranged(int, lambda v: v >= 0, "an integer of at least 0")
positive_float = ranged(float, lambda v: 0 < v < math.inf, "a finite number above 0")
non_negative_float = ranged(float, lambda v: 0 <= v < math.inf, "a finite number of at least 0")


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


def registered_names(text: str, registry, flag: str) -> list[str]:
    """The names of a comma-separated option (`--strategy a,b`), each once in the order given, each registered
    in `registry` (an unknown one is one line with the close matches)."""
    from descgraph.errors import ConfError

    names = list(dict.fromkeys(name.strip() for name in text.split(",")))
    if not names or "" in names:
        raise ConfError(f"{flag} {text!r}: expected NAME or NAME,NAME,...")
    for name in names:
        registry.get(name)
    return names


def print_result(data: dict[str, Any], as_json: bool) -> None:
    """Print a result as indented JSON, or as aligned `key  value` lines."""
    if as_json:
        print(json_text(data, indent=2))
        return
    width = max(len(k) for k in data)
    for key, value in data.items():
        print(f"{key:<{width}}  {value}")


def load_model_desc(path: str, limits=None):
    """A description file, validated (its estimated size within `limits`, SizeLimits) and checked against the op
    registry; an error names the file and key path."""
    from descgraph.desc import load_desc
    from descgraph.nn.check import check_ops

    desc = load_desc(path, limits=limits)
    check_ops(desc, source=path)
    return desc


def stage_of(conf, stage: str):
    """The search or eval stage of a conf."""
    return conf.nas.search if stage == "search" else conf.nas.eval


def conf_paths(items: list[str] | None) -> list:
    """The files of the confs named among `items` (files or bundled names; overrides left out)."""
    from descgraph.conf import resolve_conf_path

    return [resolve_conf_path(c) for c in split_overrides(items or [])[0]]


def load_confs(items: list[str], what: str):
    """Load the confs named among `items` (files or bundled names) with the `key=value` overrides among them."""
    from descgraph.conf import load_conf
    from descgraph.errors import DescgraphError

    paths = conf_paths(items)
    if not paths:
        raise DescgraphError(f"{what}: give at least one conf file or bundled conf name")
    return load_conf(paths, split_overrides(items)[1])
