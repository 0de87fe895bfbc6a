"""Seeding: every epoch's randomness depends only on (seed, epoch), so a resumed run repeats it exactly."""

from __future__ import annotations

import random

import numpy as np
import torch


def epoch_seed(seed: int, epoch: int) -> int:
    """A 63-bit seed derived from the run's seed and the epoch."""
    return (seed * 1_000_003 + epoch * 7919 + 17) % (2**63 - 1)


def seed_epoch(seed: int, epoch: int, loaders=()) -> None:
    """Seed torch, numpy and random for `epoch`, and re-seed the loaders' shuffling generators."""
    s = epoch_seed(seed, epoch)
    random.seed(s)
    np.random.seed(s % 2**32)
    torch.manual_seed(s)
    for i, loader in enumerate(loaders):
        generator = getattr(loader, "generator", None)
        if generator is not None:
            generator.manual_seed(epoch_seed(s, i + 1))


def rng_state() -> dict:
    """The global RNG states, as tensors and plain values that `torch.load(weights_only=True)` reads."""
    np_state = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *map(_plain, np_state[2:])],
        "random": random.getstate(),
    }


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def set_rng_state(state: dict) -> None:
    """Restore what `rng_state` captured."""
    torch.set_rng_state(state["torch"])
    name, keys, *rest = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), *rest))
    random.setstate(_tuples(state["random"]))


def _tuples(value):
    return tuple(_tuples(v) for v in value) if isinstance(value, (list, tuple)) else value
