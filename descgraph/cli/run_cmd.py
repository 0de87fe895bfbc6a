"""The run command: search, finalize, evaluate, into an experiment folder."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from descgraph.cli._common import conf_paths, load_confs

# files of the experiment folder a run writes at its top, before anything else
EXPDIR_FILES = ("conf.yaml", "log.txt", "summary.json", "report.html")
KEEP_THE_CONF = "copy the conf out of the experiment folder, or give another --expdir"


def cmd_run(args: argparse.Namespace) -> None:
    from descgraph._files import refuse_overwriting_inputs
    from descgraph.nas import get_runner_class

    conf = load_confs(args.items, "run")
    expdir = Path(args.expdir or Path(conf.common.logdir).expanduser() / conf.common.experiment_name)
    for name in EXPDIR_FILES:  # `run DIR/conf.yaml --expdir DIR` would overwrite the user's own conf
        refuse_overwriting_inputs(expdir / name, *conf_paths(args.items), way_out=KEEP_THE_CONF)
    runner = get_runner_class(conf.algo)(conf, expdir)
    summary = runner.run(search=not args.no_search, eval=not args.no_eval)
    if not args.json:
        print(f"experiment folder: {expdir}")
    print(json.dumps(summary, indent=2))


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register run."""
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
