"""The `descgraph` command. A DescgraphError prints as one line and exits 2; a traceback is a bug.
A Ctrl-C exits 130 and SIGTERM 143, each with one line, after unwinding (checkpoints stay whole).

Each module of this package adds its subcommands through `add_commands(sub)`; `COMMAND_MODULES`
lists them in the order `--help` shows them.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from descgraph.cli._signals import TERMINATED_EXIT, Terminated, sigterm_unwinds
from descgraph.errors import DescgraphError, one_line

COMMAND_MODULES = ["desc_cmds", "run_cmd", "zoo", "bench", "elastic_cmds", "hw_cmds", "interop_cmds", "viz_cmds"]

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="descgraph", description="Description-driven neural architecture search.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(f"descgraph.cli.{name}").add_commands(sub)
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
        with sigterm_unwinds():
            code = args.func(args)  # None, or an exit code a command reports itself (diff's 1: different)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's shutdown
    except DescgraphError as e:
        print(f"descgraph: error: {one_line(str(e))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("descgraph: interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print("descgraph: terminated", file=sys.stderr)
        return TERMINATED_EXIT
    except BrokenPipeError:  # the reader went away (`descgraph show ... | head`): stop quietly, as `yes` does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as e:  # the file system's answer (a full disk, a path under a file) is the user's to act on
        print(f"descgraph: error: {one_line(os_error_line(e))}", file=sys.stderr)
        return 2
    return code or 0


def os_error_line(e: OSError) -> str:
    """'PATH: reason' of an OSError, in one line."""
    reason = e.strerror or str(e)
    return f"{e.filename}: {reason}" if e.filename else reason
