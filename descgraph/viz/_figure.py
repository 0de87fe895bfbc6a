"""The one place figures are made and written: matplotlib's Agg backend, atomic files, PNG bytes for pages.

Figures lay themselves out (no `bbox_inches="tight"`: it draws every figure twice, and a report draws several).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from descgraph.desc.io import atomic_open
from descgraph.errors import DescgraphError

FORMATS = (".png", ".svg", ".pdf")
DPI = 100


def pyplot():
    """matplotlib.pyplot on the Agg backend (files only, no display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


@contextmanager
def figure(*args: Any, **kwargs: Any) -> Iterator[tuple[Any, Any]]:
    """`plt.subplots(*args, **kwargs)` that is closed however the block ends."""
    plt = pyplot()
    fig, axes = plt.subplots(*args, **kwargs)
    try:
        yield fig, axes
    finally:
        plt.close(fig)


def save_figure(fig: Any, path: str | Path) -> Path:
    """Write `fig` atomically; the suffix (.png, .svg, .pdf) picks the format."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise DescgraphError(f"{path}: unknown picture format {suffix or '(none)'}; use one of {', '.join(FORMATS)}")
    with atomic_open(path, "wb") as f:
        fig.savefig(f, format=suffix[1:], dpi=DPI)
    return path


def png_bytes(fig: Any) -> bytes:
    """The figure as PNG bytes (for embedding in a page)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()
