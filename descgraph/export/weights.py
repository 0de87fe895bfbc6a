"""Loading a weights file (a state_dict saved with torch.save) into a compiled description, safely."""

from __future__ import annotations

import os

from torch import nn

from descgraph.desc import ModelDesc
from descgraph.errors import ExportError
from descgraph.train.checkpoint import load_checkpoint


def load_weights(model: nn.Module, weights: str | os.PathLike | dict, desc: ModelDesc | None = None) -> None:
    """Load a state_dict file (read weights_only: never unpickled freely) or a state_dict into `model`.

    A checkpoint written by the Trainer (a dict with a "model" entry) is accepted too, and so is a
    state_dict already in memory (an extracted subnet's).

    Raises:
        CheckpointError: the file is missing, corrupt or not a torch file.
        ExportError: the weights belong to another architecture (one line: what is missing, extra, or mis-sized).
    """
    source = "state_dict" if isinstance(weights, dict) else str(weights)
    state = weights if isinstance(weights, dict) else load_checkpoint(weights)
    if "model" in state and isinstance(state["model"], dict) and "epoch" in state:
        state = state["model"]
    problems = _mismatch(model, state)
    if problems:
        what = f" (desc {desc.hash()[:12]})" if desc is not None else ""
        raise ExportError(f"{source}: weights do not fit this architecture{what}: {problems}")
    model.load_state_dict(state)


def _mismatch(model: nn.Module, state: dict) -> str:
    """'' when `state` fits `model`, else a one-line account of the first differences."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    extra = [k for k in state if k not in own]
    sized = [
        f"{k} {list(state[k].shape)} vs {list(own[k].shape)}"
        for k in own
        if k in state and hasattr(state[k], "shape") and tuple(state[k].shape) != tuple(own[k].shape)
    ]
    parts = []
    for label, items in (("missing", missing), ("unexpected", extra), ("size mismatch", sized)):
        if items:
            more = f" and {len(items) - 2} more" if len(items) > 2 else ""
            parts.append(f"{len(items)} {label}: {', '.join(items[:2])}{more}")
    return "; ".join(parts)
