"""The run command: search, finalize, evaluate, into an experiment folder; on one process or N ranks."""

from __future__ import annotations

import argparse
from pathlib import Path

from descgraph._json import json_text
from descgraph.cli._common import conf_paths, load_confs, positive_int

# files of the experiment folder a run writes at its top, before anything else
EXPDIR_FILES = ("conf.yaml", "log.txt", "summary.json", "report.html")
KEEP_THE_CONF = "copy the conf out of the experiment folder, or give another --expdir"


def cmd_run(args: argparse.Namespace) -> int | None:
    from descgraph._files import refuse_overwriting_inputs
    from descgraph.train import distributed

    conf = load_confs(args.items, "run")
    if args.nproc > 1 and not distributed.launched_by_torchrun():
        return _launch(args, conf)
    expdir = Path(args.expdir or Path(conf.common.logdir).expanduser() / conf.common.experiment_name)
    for name in EXPDIR_FILES:  # `run DIR/conf.yaml --expdir DIR` would overwrite the user's own conf
        refuse_overwriting_inputs(expdir / name, *conf_paths(args.items), way_out=KEEP_THE_CONF)
    with distributed.process_group(conf.common.collective_timeout_s):
        from descgraph.nas import get_runner_class

        runner = get_runner_class(conf.algo)(conf, expdir)
        summary = runner.run(search=not args.no_search, eval=not args.no_eval)
        if not distributed.is_main():
            return None
    if not args.json:
        print(f"experiment folder: {expdir}")
    print(json_text(summary, indent=2))
    return None


def _launch(args: argparse.Namespace, conf) -> int:
    """Check what can be checked here, then start `args.nproc` ranks of the same command under torchrun."""
    from descgraph.cli.launch import check_nproc, launch
    from descgraph.data.sharding import check_divides
    from descgraph.nas._common import check_stage_shards

    check_nproc(args.nproc)
    stages = [name for name, skipped in (("search", args.no_search), ("eval", args.no_eval)) if not skipped]
    for name in stages:
        check_divides(getattr(conf.nas, name).loader.train_batch, args.nproc, f"nas.{name}.loader.train_batch")
    check_stage_shards(conf, args.nproc, stages)
    flags = [f for f in ("no_search", "no_eval", "json") if getattr(args, f)]
    run_args = [*args.items, *(f"--{f.replace('_', '-')}" for f in flags)]
    if args.expdir:
        run_args += ["--expdir", args.expdir]
    return launch(args.nproc, run_args)


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
    p.add_argument(
        "--nproc",
        type=positive_int,
        default=1,
        help="data-parallel ranks on this machine, started by torchrun's agent (the conf's batch is the global batch)",
    )
    p.set_defaults(func=cmd_run)
