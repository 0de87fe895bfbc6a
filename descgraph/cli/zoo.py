"""Search-space zoo commands: `nb201 params`."""

from __future__ import annotations

import argparse

from descgraph.cli._common import print_result


def cmd_nb201_params(args: argparse.Namespace) -> None:
    from descgraph.builders.nb201 import build_nb201, nb201_model_conf
    from descgraph.nn import describe

    facts = describe(build_nb201(args.arch, nb201_model_conf(args.dataset)))
    keys = ("input_shape", "n_classes", "params", "macs")
    print_result({"arch": args.arch.strip(), "dataset": args.dataset, **{k: facts[k] for k in keys}}, args.json)


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register `nb201 params`."""
    from descgraph.builders.nb201 import NB201_DATASETS

    nb201 = sub.add_parser("nb201", help="NAS-Bench-201 networks").add_subparsers(dest="nb201_command", required=True)
    p = nb201.add_parser("params", help="weights and MACs of the benchmark's network of one architecture")
    p.add_argument("arch", help="an architecture string, e.g. '|nor_conv_3x3~0|+|...|+|...|'")
    p.add_argument("--dataset", choices=list(NB201_DATASETS), default="cifar10", help="classes and image size")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_nb201_params)
