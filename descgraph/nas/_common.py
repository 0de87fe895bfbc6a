"""What the search and eval stages share: device choice, seeding, saving checked descriptions."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import torch

from descgraph.desc import ModelDesc, save_desc, validate_model_desc


def resolve_device(name: str) -> torch.device:
    """'auto' is CUDA when present, the CPU otherwise."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def seed_all(seed: int) -> None:
    """Seed torch, numpy and random, so model initialization is reproducible."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def save_checked_desc(desc: ModelDesc, path: Path) -> None:
    """Validate, then save a description atomically."""
    validate_model_desc(desc, source=str(path))
    save_desc(desc, path)
