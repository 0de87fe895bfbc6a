"""Interop commands: `import genotype|nb201|nni|archai` and `export-arch`.

`descgraph genotype` is `import genotype` under its older name.
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path
from typing import Any

from descgraph.cli._common import positive_int, print_result


def _refuse_overwriting(args: argparse.Namespace, *inputs: str | None) -> None:
    """Refuse an -o that names one of the command's input files or confs."""
    from descgraph._files import refuse_overwriting_inputs
    from descgraph.cli._common import conf_paths

    refuse_overwriting_inputs(args.output, *inputs, *conf_paths(getattr(args, "conf", None)))


def _save(desc, output: str, as_json: bool, source: str) -> None:
    """Write a description that `descgraph validate` accepts, or refuse it naming `source`, the input."""
    from descgraph.desc import save_desc
    from descgraph.desc.validate import validate_model_desc
    from descgraph.nn.check import check_ops

    validate_model_desc(desc, source=source)
    check_ops(desc, source=source)
    save_desc(desc, output)
    print_result({"output": output, "cells": len(desc.cell_descs), "hash": desc.hash()}, as_json)


def cmd_import_genotype(args: argparse.Namespace) -> None:
    from descgraph.interop import darts_macro, from_genotype

    _refuse_overwriting(args)
    _save(from_genotype(args.genotype, darts_macro(args.stage, args.conf)), args.output, args.json, "genotype")


def cmd_import_nb201(args: argparse.Namespace) -> None:
    from descgraph.interop import from_nb201

    _save(from_nb201(args.arch, args.dataset), args.output, args.json, "nb201")


def _read_json_arch(text_or_file: str) -> tuple[Any, str]:
    """An NNI arch dict from a JSON file, or a JSON object given on the command line, and where it came from."""
    from descgraph._files import json_safe_load
    from descgraph.errors import DescError

    is_literal = text_or_file.lstrip().startswith("{")
    source = "arch" if is_literal else text_or_file
    try:
        return json_safe_load(text_or_file if is_literal else Path(text_or_file).read_text(), source), source
    except FileNotFoundError:
        raise DescError(f"{source}: no such file (give a JSON file or a JSON object)") from None
    except (OSError, UnicodeDecodeError) as e:
        raise DescError(f"{source}: cannot read: {e}") from None


def cmd_import_nni(args: argparse.Namespace) -> None:
    from descgraph.builders import nb201_model_conf
    from descgraph.interop import darts_macro, from_nni

    _refuse_overwriting(args, None if args.arch.lstrip().startswith("{") else args.arch)
    conf = nb201_model_conf(args.dataset) if args.space == "nb201" else darts_macro(args.stage, args.conf)
    arch, source = _read_json_arch(args.arch)
    _save(from_nni(arch, args.space, conf), args.output, args.json, source)


def cmd_import_archai(args: argparse.Namespace) -> None:
    import sys

    from descgraph.interop import from_archai

    _refuse_overwriting(args, args.file)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        desc = from_archai(args.file, image_size=args.image_size)
    for w in caught:
        print(f"descgraph: warning: {w.message}", file=sys.stderr)
    _save(desc, args.output, args.json, args.file)


def cmd_export_arch(args: argparse.Namespace) -> None:
    from descgraph.desc import load_desc
    from descgraph.desc.genotype import format_genotype
    from descgraph.interop import to_genotype, to_nb201, to_nni

    desc = load_desc(args.desc)
    if args.to == "genotype":
        arch: Any = format_genotype(to_genotype(desc))
    elif args.to == "nb201":
        arch = to_nb201(desc)
    else:
        arch = to_nni(desc, args.space, macro=args.with_macro)
    if args.json:
        print(json.dumps({"to": args.to, "arch": arch}, indent=2))
    else:
        print(json.dumps(arch) if isinstance(arch, dict) else arch)


def _add_output(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", required=True, help="where to write the description (.yaml or .json)")
    p.add_argument("--json", action="store_true", help="print JSON")


def _add_macro(p: argparse.ArgumentParser) -> None:
    p.add_argument("--conf", nargs="*", help="confs (and key=value overrides) giving the macro; default: darts")
    p.add_argument("--stage", choices=["search", "eval"], default="search", help="which stage's macro to use")


def add_genotype_parser(sub: argparse._SubParsersAction, name: str, help_text: str) -> None:
    """`<name> GENOTYPE -o FILE`: a genotype literal or name to a final description."""
    p = sub.add_parser(name, help=help_text)
    p.add_argument("genotype", help="a Genotype(...) literal, or DARTS_V1 / DARTS_V2")
    _add_output(p)
    _add_macro(p)
    p.set_defaults(func=cmd_import_genotype)


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register `import genotype|nb201|nni|archai` and `export-arch`."""
    from descgraph.builders.nb201 import NB201_DATASETS
    from descgraph.interop import SPACES

    imp = sub.add_parser("import", help="a genotype, NB201 string, NNI arch dict or Archai file to a description")
    kinds = imp.add_subparsers(dest="import_kind", required=True)
    add_genotype_parser(kinds, "genotype", "a DARTS genotype literal (or DARTS_V1, DARTS_V2) at a conf's macro")

    p = kinds.add_parser("nb201", help="a NAS-Bench-201 architecture string to the benchmark's network")
    p.add_argument("arch", help="an architecture string, e.g. '|nor_conv_3x3~0|+|...|+|...|'")
    p.add_argument("--dataset", choices=list(NB201_DATASETS), default="cifar10", help="classes and image size")
    _add_output(p)
    p.set_defaults(func=cmd_import_nb201)

    p = kinds.add_parser("nni", help="an NNI 3.0 arch dict (a JSON file or literal) to a description")
    p.add_argument("arch", help='a JSON file or a JSON object, e.g. \'{"normal/op_2_0": "sep_conv_3x3", ...}\'')
    p.add_argument("--space", choices=list(SPACES), default="darts", help="the NNI model space the dict is of")
    p.add_argument("--dataset", choices=list(NB201_DATASETS), default="cifar10", help="nb201: classes and image size")
    _add_output(p)
    _add_macro(p)
    p.set_defaults(func=cmd_import_nni)

    p = kinds.add_parser("archai", help="an Archai final_model_desc.yaml (read without running anything in it)")
    p.add_argument("file", help="the Archai YAML file")
    p.add_argument(
        "--image-size", type=positive_int, default=32, help="input height and width (Archai's files leave it out)"
    )
    _add_output(p)
    p.set_defaults(func=cmd_import_archai)

    p = sub.add_parser("export-arch", help="a description as a genotype literal, NB201 string or NNI arch dict")
    p.add_argument("desc", help="a model description file")
    p.add_argument("--to", choices=["genotype", "nb201", "nni"], required=True, help="the notation")
    p.add_argument("--space", choices=list(SPACES), default="darts", help="nni: the model space to write in")
    p.add_argument("--with-macro", action="store_true", help="nni: add width and depth keys")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_export_arch)
