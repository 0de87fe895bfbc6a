"""Checkpoints written atomically (temp file, then rename) and read back with weights_only=True."""

from __future__ import annotations

import os
import pickle
import re
import zipfile
from typing import Any

import torch

from descgraph._files import atomic_open
from descgraph.errors import CheckpointError


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> None:
    """torch.save to a temp file beside `path`, then rename: a crash leaves the previous file whole.

    Args:
        path: the checkpoint file; its folder is created when missing.
        state: tensors and plain containers (what `torch.load(weights_only=True)` accepts).
    """
    with atomic_open(path, "wb") as f:
        torch.save(state, f)


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read a checkpoint safely (tensors and plain containers only, onto the CPU).

    Raises:
        CheckpointError: one line naming the file, when it is missing, unreadable or not a checkpoint.
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such checkpoint") from None
    except (OSError, RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, ValueError) as e:
        raise CheckpointError(f"{path}: not a readable checkpoint ({describe_error(e)})") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: not a checkpoint (holds a {type(state).__name__}, not a dict)")
    return state


def describe_error(error: BaseException, limit: int = 200) -> str:
    """A short one-line reason from an exception raised while loading (torch's messages run to paragraphs)."""
    if isinstance(error, pickle.UnpicklingError):
        # torch's message advises weights_only=False: never the advice for a file a user hands in
        detail = re.search(r"Unsupported [^.\n]*", str(error))
        reason = "not a torch file, or holds objects other than tensors and plain containers"
        return f"{reason}: {detail.group(0)}" if detail else reason
    if isinstance(error, EOFError):
        return "the file is empty or cut short"
    sentence = " ".join(str(error).split()).split(". ")[0]
    if len(sentence) > limit:
        sentence = sentence[: limit - 3] + "..."
    return sentence or type(error).__name__
