"""`descgraph bench nb201-proxies`: how well each zero-cost proxy ranks NAS-Bench-201 architectures.

As Abdelfattah et al. ("Zero-cost proxies for lightweight NAS", ICLR 2021, sec. 4, table 2): each proxy is computed
on the untrained benchmark network of each architecture of a sample, and its Spearman rank correlation with a
column of the table (the trained accuracy) says how well it would rank them.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import random
import time

from descgraph.cli._common import non_negative_int, positive_int, print_result, registered_names


def proxy_names(text: str) -> list[str]:
    """The registered proxies of a comma-separated `--proxies` (each once, in the order given); an unknown name is
    one line with the close matches."""
    from descgraph.nas.proxies import PROXIES

    return registered_names(text, PROXIES, "--proxies")


def sample_archs(size: int, seed: int) -> list[tuple[str, ...]]:
    """`size` distinct NAS-Bench-201 architectures drawn uniformly by `seed`, in the order drawn.

    Raises:
        ConfError: `size` is below 2 (no correlation) or above the 15,625 architectures of the space.
    """
    from descgraph.errors import ConfError
    from descgraph.nas.discrete.spaces import NB201Space

    space = NB201Space()
    total = space.size()
    if not 2 <= size <= total:
        raise ConfError(f"--sample: {size}; expected 2 to {total:,} (the architectures of NAS-Bench-201)")
    codes = list(itertools.product(*(range(len(d.choices)) for d in space.decisions())))
    return [space.decode(code) for code in random.Random(seed).sample(codes, size)]


def network_conf(report_metric: str):
    """The benchmark network of the table's dataset that `report_metric` names (`cifar100_test_200`: CIFAR-100's),
    CIFAR-10's when it names none."""
    from descgraph.builders.nb201 import NB201_DATASETS, nb201_model_conf

    dataset = report_metric.split("_")[0]
    return nb201_model_conf(dataset if dataset in NB201_DATASETS else "cifar10")


def cmd_bench_nb201_proxies(args: argparse.Namespace) -> None:
    from scipy.stats import spearmanr
    from tqdm import tqdm

    from descgraph._files import refuse_overwriting_inputs
    from descgraph.builders.nb201 import build_nb201
    from descgraph.desc.nb201 import format_nb201
    from descgraph.errors import DataError
    from descgraph.nas.discrete.tabular import load_nb201_table
    from descgraph.nas.proxies import PROXIES, data_used, proxy_batch, score_all

    start = time.perf_counter()
    refuse_overwriting_inputs(args.values, args.table)
    names = proxy_names(args.proxies)
    archs = sample_archs(args.sample, args.seed)
    table = load_nb201_table(args.table, [args.report_metric], args.arch_column)
    missing = next((a for a in archs if a not in table.rows), None)
    if missing is not None:
        raise DataError(f"{args.table}: no row of {format_nb201(missing)} (the sample drew it)")
    conf = network_conf(args.report_metric)
    first = build_nb201(archs[0], conf)
    batch = None
    if any(PROXIES.get(name).needs_data for name in names):
        batch = proxy_batch(
            first.input_shape, dataset=args.dataset, dataroot=args.dataroot, size=args.batch, seed=args.seed
        )
    values: dict[str, list[float]] = {name: [] for name in names}
    timings: dict[str, float] = dict.fromkeys(names, 0.0)
    with _threads(args, first, batch) as threads:
        for arch in tqdm(archs, desc="proxies", leave=False, disable=None, dynamic_ncols=True):
            scores = score_all(names, build_nb201(arch, conf), batch, seed=args.seed, timings=timings)
            for name in names:
                values[name].append(scores[name])
    if args.values:
        _write_values(args.values, archs, values, args.arch_column)
    report = [table.value(arch, args.report_metric) for arch in archs]
    out = {
        "spearman": {name: _rounded(spearmanr(values[name], report)[0]) for name in names},
        "sample": args.sample,
        "seed": args.seed,
        "report_metric": args.report_metric,
        "network": f"nb201 {conf.dataset.name} C={conf.model_stems.init_node_ch} N={conf.n_cells} "
        f"{'x'.join(map(str, first.input_shape))}",
        "data": {name: data_used(name, batch) for name in names},
        "nonfinite": {name: sum(v == float("-inf") for v in values[name]) for name in names},
        "threads": threads,
    }
    if args.values:
        out["values"] = args.values
    out["wall_s"] = round(time.perf_counter() - start, 2)
    out["per_proxy_s"] = {name: round(timings[name], 2) for name in names}
    print_result(out, args.json)


def _rounded(value: float) -> float | None:
    """A correlation to 4 places; None where it is undefined (a proxy constant over the sample)."""
    return None if value != value else round(float(value), 4)


def _threads(args: argparse.Namespace, first, batch):
    """Torch's thread count for the scores: `--threads`, else the rule of `descgraph.train.threads` for one
    network's forward pass at the batch's size (1 for synflow alone)."""
    from descgraph.nas.proxies import init_model
    from descgraph.nn import count_macs
    from descgraph.train.threads import choose_threads, use_threads

    work = None
    if not args.threads:
        work = count_macs(init_model(first, args.seed), first.input_shape) * (len(batch.inputs) if batch else 1)
    return use_threads(choose_threads(args.threads, work_size=work))


def _write_values(path: str, archs: list, values: dict[str, list[float]], arch_column: str) -> None:
    """One row per architecture: its string and each proxy's value (-inf as the lowest finite float, so the file
    holds numbers only and ranks it last), written atomically; `load_nb201_table` reads it back."""
    from descgraph._files import atomic_open
    from descgraph.desc.nb201 import format_nb201
    from descgraph.nas.proxies import NONFINITE, NONFINITE_AS_NUMBER

    with atomic_open(path, "w") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow([arch_column, *values])
        for i, arch in enumerate(archs):
            row = [v[i] if v[i] != NONFINITE else NONFINITE_AS_NUMBER for v in values.values()]
            writer.writerow([format_nb201(arch), *(repr(float(x)) for x in row)])


def add_command(kinds: argparse._SubParsersAction) -> None:
    """Register bench nb201-proxies under `descgraph bench`."""
    p = kinds.add_parser(
        "nb201-proxies",
        help="zero-cost proxies on NAS-Bench-201: each one's Spearman rank correlation with a table column",
        description="Draws --sample distinct architectures (seeded by --seed), compiles each one's benchmark network "
        "(C=16, N=5, weights initialized from --seed) and computes each proxy on it, data-dependent ones on one batch "
        "of --dataset (drawn by --seed, resized to the network's input). Prints each proxy's Spearman rank "
        "correlation with --report-metric over the sample, which data each one used, and the seconds each took. "
        "A score that is not finite counts as -inf (it ranks last; `nonfinite` counts them).",
    )
    p.add_argument("--table", required=True, help="CSV with an arch column and metric columns (accuracy.csv)")
    p.add_argument(
        "--proxies",
        default="synflow",
        help="comma-separated registered proxies: synflow, naswot, jacov, snip, grad_norm, fisher, grasp, params, "
        "flops (default: %(default)s)",
    )
    p.add_argument(
        "--sample", type=positive_int, default=1000, help="distinct architectures, 2 to 15625 (default: %(default)s)"
    )
    p.add_argument("--seed", type=int, default=0, help="the sample, the weights and the batch (default: %(default)s)")
    p.add_argument(
        "--report-metric",
        default="cifar10_test_200",
        help="column the proxies are correlated with; its dataset prefix picks the network (default: %(default)s)",
    )
    p.add_argument("--arch-column", default="arch", help="column of the NAS-Bench-201 arch strings")
    p.add_argument(
        "--dataset",
        default="digits",
        choices=["digits", "cifar10"],
        help="the batch of the data-dependent proxies: the bundled digits, or CIFAR-10 under --dataroot "
        "(default: %(default)s)",
    )
    p.add_argument("--dataroot", help="folder holding cifar-10-batches-py (python format; nothing is downloaded)")
    p.add_argument("--batch", type=positive_int, default=64, help="images in that batch (default: %(default)s)")
    p.add_argument(
        "--threads", type=non_negative_int, default=0, help="torch threads (default 0: chosen by the network's size)"
    )
    p.add_argument(
        "--values",
        metavar="OUT.csv",
        help="write each architecture's proxy values (arch column, one column per proxy), which `bench nb201 "
        "--proxy-values` reads for a warm start",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_bench_nb201_proxies)
