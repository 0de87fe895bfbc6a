"""Benchmark: building descriptions, the step every candidate, child and conversion goes through.

Three builds, each the median over rounds of the mean time of `--builds` builds:
- nb201: the NAS-Bench-201 network of one benchmark string (17 cells), as rea/reinforce candidates and every
  NAS-Bench-201 string conversion build it;
- darts_eval: DARTS_V2 at the DARTS eval macro (20 cells, 36 channels), as the eval stage builds it;
- darts_search: the DARTS search supernet (8 cells, every edge a mixed op of 8 candidates).

Every op's `params` are checked to be plain data when its OpDesc is made; that check is most of a build's
time. The last line printed is one JSON object (milliseconds per build).

    python tools/bench_desc.py --json [--builds 100] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

NB201_ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"


def builds() -> dict[str, Callable[[], object]]:
    """The timed builds, each a function of nothing."""
    from descgraph.builders import build_from_genotype, get_builder
    from descgraph.builders.nb201 import build_nb201, nb201_model_conf
    from descgraph.conf import load_conf
    from descgraph.desc.genotype import parse_genotype

    nb201 = nb201_model_conf()
    darts = load_conf("darts", [])
    genotype = parse_genotype("DARTS_V2")
    search = darts.nas.search.model_desc
    return {
        "nb201": lambda: build_nb201(NB201_ARCH, nb201),
        "darts_eval": lambda: build_from_genotype(genotype, darts.nas.eval.model_desc),
        "darts_search": lambda: get_builder(search.builder).build(search),
    }


def measure(n: int, rounds: int) -> dict:
    """Milliseconds per build of each kind: the median over `rounds` of the mean of `n` builds."""
    result = {}
    for name, build in builds().items():
        build()  # warm-up: imports, registries
        times = []
        for _ in range(rounds):
            start = time.perf_counter()
            for _ in range(n):
                build()
            times.append((time.perf_counter() - start) / n * 1e3)
        result[name] = {"ms": round(statistics.median(times), 3), "rounds_ms": [round(t, 3) for t in times]}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--builds", type=int, default=100, help="builds per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds; the median is reported")
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    args = parser.parse_args()
    result = {"builds": args.builds, "rounds": args.rounds, **measure(args.builds, args.rounds)}
    if not args.json:
        for name in ("nb201", "darts_eval", "darts_search"):
            print(f"{name}: {result[name]['ms']} ms per build")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
