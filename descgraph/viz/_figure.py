"""The one place figures are made and written (matplotlib's Agg backend, atomic files, PNG bytes for pages),
and the JSON-lines files they are drawn from are read.

Figures lay themselves out (no `bbox_inches="tight"`: it draws every figure twice, and a report draws several).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from descgraph._files import atomic_open
from descgraph.errors import DataError, DescgraphError

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


def read_json(path: str | Path) -> dict[str, Any]:
    """A JSON object file (summary.json); {} when it is missing.

    Raises:
        DataError: one line naming the file: it is cut short, not JSON or not an object.
    """
    path = Path(path)
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: not a JSON file ({getattr(e, 'msg', e)}); a run rewrites it when it ends") from None
    if not isinstance(data, dict):
        raise DataError(f"{path}: a JSON {type(data).__name__}, expected an object")
    return data


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """The complete JSON lines of a file (a last line cut short by a kill is dropped); [] when it is missing."""
    path = Path(path)
    if not path.exists():
        return []
    records = []
    for n, line in enumerate(path.read_text().split("\n")[:-1], start=1):
        try:
            records.append(json.loads(line))
        except ValueError:
            raise DataError(f"{path}:{n}: not a JSON line") from None
    return records
