"""Argument checks shared by op constructors; they raise ValueError, which `create` turns into a DescError."""

from __future__ import annotations


def require_same_channels(ch_in: int, ch_out: int) -> None:
    """Ops that keep their input's channels (none, identity, pools) need ch_in == ch_out."""
    if ch_in != ch_out:
        raise ValueError(f"keeps its input's channels, so ch_in ({ch_in}) must equal ch_out ({ch_out})")


def require_stride(stride: int, *allowed: int) -> None:
    """Ops with fixed geometry (factorized reduce, ImageNet stems) accept only some strides."""
    if stride not in allowed:
        raise ValueError(f"stride must be {' or '.join(str(s) for s in allowed)}, got {stride}")
