"""Seeding: every epoch's randomness depends only on (seed, epoch), so a resumed run repeats it exactly."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable
from typing import Any

import numpy as np
import torch


def derive_seed(*parts: int) -> int:
    """A 63-bit seed from integers (negative ones too), the same in every process and on every machine."""
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def loader_generators(loader: Any) -> list[torch.Generator]:
    """The distinct generators a loader shuffles with: its own, its sampler's, its batch sampler's sampler's."""
    batch_sampler = getattr(loader, "batch_sampler", None)
    holders = (loader, getattr(loader, "sampler", None), getattr(batch_sampler, "sampler", None))
    found: list[torch.Generator] = []
    for holder in holders:
        generator = getattr(holder, "generator", None)
        if isinstance(generator, torch.Generator) and all(generator is not g for g in found):
            found.append(generator)
    return found


def seed_epoch(seed: int, epoch: int, loaders: Iterable[Any] = ()) -> None:
    """Seed torch, numpy and random for `epoch`, and re-seed the loaders' shuffling generators.

    Args:
        seed: the run's seed.
        epoch: the epoch about to start (0-based).
        loaders: DataLoaders (or anything with a `generator`); the i-th gets its own stream.
    """
    epoch_seed = derive_seed(seed, epoch)
    random.seed(epoch_seed)
    np.random.seed(epoch_seed % 2**32)
    torch.manual_seed(epoch_seed)
    for i, loader in enumerate(loaders):
        for generator in loader_generators(loader):
            generator.manual_seed(derive_seed(seed, epoch, i + 1))


def rng_state() -> dict[str, Any]:
    """The global RNG states as tensors, ints, strings and tuples, which `torch.load(weights_only=True)` reads."""
    name, keys, pos, has_gauss, cached_gaussian = np.random.get_state()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": (name, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(cached_gaussian)),
        "random": random.getstate(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what `rng_state` captured."""
    torch.set_rng_state(state["torch"])
    name, keys, pos, has_gauss, cached_gaussian = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached_gaussian))
    random.setstate(_as_tuples(state["random"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _as_tuples(value: Any) -> Any:
    """random.setstate wants nested tuples; a loader may hand back lists."""
    return tuple(_as_tuples(v) for v in value) if isinstance(value, (list, tuple)) else value
