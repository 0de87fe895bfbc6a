"""Benchmark: what the elastic supernet costs over static children, on the CPU.

Two measurements, each side by side in this one process, in alternating rounds (a slow spell of the
machine hits both sides), reported as the median over rounds of the per-round ratio:

- child: forward+backward of one child run inside the supernet (activated) against the same child
  extracted as a static Model with its sliced weights, for the largest, the smallest and random
  children; the goal is at most 1.15x.
- sandwich: one BigNASTrainer.train_step (largest, smallest, two random children, in-place
  distillation, one clipped SGD update) against one ordinary training step of each of the four static
  children (forward, loss with the same distillation, backward, clipped SGD update); the goal is at
  most 1.1x the sum.

    python tools/bench_bignas.py --json [--conf bignas_digits] [--batch 64] [--rounds 7] [--steps 5]
        [--min-round-s 0.25] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import time
from collections.abc import Callable

import torch


def _timed(step: Callable[[], None], steps: int) -> float:
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - start) / steps


def _alternate(a: Callable[[], None], b: Callable[[], None], rounds: int, steps: int, min_round_s: float = 0.0) -> dict:
    """Per-round mean step times of both sides, a first in even rounds and b first in odd ones.

    Each side runs at least `steps` steps a round, and more when needed to fill `min_round_s` seconds:
    a round of a few milliseconds' steps is at the mercy of a shared machine's hiccups.
    """
    warmup = max(_timed(a, 3), _timed(b, 3))
    steps = max(steps, math.ceil(min_round_s / warmup))
    times_a, times_b = [], []
    for r in range(rounds):
        if r % 2 == 0:
            times_a.append(_timed(a, steps))
            times_b.append(_timed(b, steps))
        else:
            times_b.append(_timed(b, steps))
            times_a.append(_timed(a, steps))
    ratios = [x / y for x, y in zip(times_a, times_b)]
    return {
        "elastic_s": statistics.median(times_a),
        "static_s": statistics.median(times_b),
        "ratio": statistics.median(ratios),
        "ratios": [round(r, 4) for r in ratios],
        "steps_per_round": steps,
    }


def setup(conf_name: str, batch: int, seed: int = 0):
    """The supernet of a bundled conf, its trainer, a batch at the largest resolution, and the children's space."""
    from algos.bignas import BigNASSpace, BigNASTrainer, Supernet
    from descgraph.builders import get_builder
    from descgraph.conf import load_conf
    from descgraph.desc.elastic import elastic_space
    from descgraph.nn import Model

    torch.manual_seed(seed)
    stage = load_conf(conf_name).nas.search
    desc = get_builder(stage.model_desc.builder).build(stage.model_desc)
    supernet = Supernet(Model(desc, droppath=False))
    space = BigNASSpace(elastic_space(desc))
    trainer = BigNASTrainer(stage.trainer, supernet, space=space, progress=False)
    c, r = desc.input_shape[0], desc.input_shape[-1]
    layout = trainer.memory_format
    x = torch.randn(batch, c, r, r).contiguous(memory_format=layout)
    y = torch.randint(0, desc.n_classes, (batch,))
    return supernet, space, trainer, x, y, layout


def static_child(supernet, config, layout):
    """The child extracted with its weights, as a training-mode static Model in the trainer's layout."""
    from algos.bignas import extract_child
    from descgraph.nn import Model

    desc, state = extract_child(supernet, config)
    model = Model(desc, droppath=False)
    model.load_state_dict(state)
    return model.to(memory_format=layout).train()


def bench_child(supernet, config, x, y, layout, rounds: int, steps: int, min_round_s: float = 0.0) -> dict:
    from algos.bignas.supernet import resize

    static = static_child(supernet, config, layout)
    supernet.train()
    xr = resize(x, config.resolution).contiguous(memory_format=layout)
    loss_fn = torch.nn.CrossEntropyLoss()

    def elastic_step() -> None:
        supernet.activate(config)
        loss_fn(supernet(xr)[0], y).backward()

    def static_step() -> None:
        loss_fn(static(xr)[0], y).backward()

    return {"config": config.key(), **_alternate(elastic_step, static_step, rounds, steps, min_round_s)}


def bench_sandwich(supernet, space, trainer, x, y, layout, rounds: int, steps: int, min_round_s: float = 0.0) -> dict:
    """The trainer's step on four fixed children against the four static children's own training steps."""
    from algos.bignas.supernet import resize
    from descgraph.train import make_optimizer

    configs = trainer.sample_children()
    trainer.sample_children = lambda: configs  # both sides train the same four children every step
    statics = [static_child(supernet, c, layout) for c in configs]
    optimizers = [make_optimizer(m.parameters(), trainer.conf.optimizer) for m in statics]
    inputs = [resize(x, c.resolution).contiguous(memory_format=layout) for c in configs]

    def sandwich_step() -> None:
        trainer.train_step(x, y)

    def static_steps() -> None:
        teacher = None
        for model, opt, xr in zip(statics, optimizers, inputs):
            opt.zero_grad(set_to_none=True)
            logits = model(xr)[0]
            trainer.child_loss(logits, y, teacher).backward()
            torch.nn.utils.clip_grad_norm_(list(model.parameters()), trainer.conf.grad_clip)
            opt.step()
            teacher = logits.detach() if teacher is None else teacher

    result = _alternate(sandwich_step, static_steps, rounds, steps, min_round_s)
    return {"configs": [c.key() for c in configs], **result}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--conf", default="bignas_digits", help="bundled conf or file of the supernet")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=7, help="alternating rounds")
    ap.add_argument("--steps", type=int, default=5, help="least steps per side per round")
    ap.add_argument("--min-round-s", type=float, default=0.25, help="least seconds per side per round (default 0.25)")
    ap.add_argument("--random-children", type=int, default=3, help="random children timed besides the extremes")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (0: torch's default)")
    ap.add_argument("--json", action="store_true", help="print JSON only")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    supernet, space, trainer, x, y, layout = setup(args.conf, args.batch)
    rng = random.Random(0)
    configs = [space.largest(), space.smallest(), *(space.sample_config(rng) for _ in range(args.random_children))]
    children = [bench_child(supernet, c, x, y, layout, args.rounds, args.steps, args.min_round_s) for c in configs]
    sandwich = bench_sandwich(supernet, space, trainer, x, y, layout, args.rounds, args.steps, args.min_round_s)
    result = {
        "conf": args.conf,
        "batch": args.batch,
        "threads": torch.get_num_threads(),
        "rounds": args.rounds,
        "steps": args.steps,
        "min_round_s": args.min_round_s,
        "child_ratio_max": max(c["ratio"] for c in children),
        "child_ratio_median": statistics.median(c["ratio"] for c in children),
        "sandwich_ratio": sandwich["ratio"],
        "children": children,
        "sandwich": sandwich,
    }
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
