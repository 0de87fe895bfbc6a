"""The one JSON writer: every file and printout descgraph writes as JSON is valid JSON.

JSON has no NaN or infinity (Python's `json` writes them as bare `NaN`, which other readers refuse):
a non-finite number is written as null, "no number", and nothing else is ever lost.
"""

from __future__ import annotations

import json
import math
from typing import Any


def finite_or_none(data: Any) -> Any:
    """Plain data with every NaN or infinite float replaced by None (inside mappings and lists too)."""
    if isinstance(data, float) and not math.isfinite(data):
        return None
    if isinstance(data, dict):
        return {key: finite_or_none(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [finite_or_none(value) for value in data]
    return data


def json_text(data: Any, indent: int | None = None) -> str:
    """`data` as JSON text that any JSON reader accepts (non-finite numbers as null; see the module)."""
    return json.dumps(finite_or_none(data), indent=indent, allow_nan=False)
