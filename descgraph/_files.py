"""File helpers every layer uses: atomic writes, the safe YAML loader, YAML/JSON files by extension."""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import yaml
from pydantic import ValidationError

from descgraph._ranks import is_main
from descgraph.errors import DescError, DescgraphError


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w") -> Iterator[IO]:
    """Open a temp file beside `path` for writing; on success it is flushed to disk and renamed onto `path`.

    A crash, or an error inside the block, leaves `path` as it was (the temp file is removed), so no reader
    ever sees a half-written file. The folder is created when missing. In a data-parallel run rank 0
    alone writes: the other ranks write into memory, which is dropped.
    """
    if not is_main():
        yield io.BytesIO() if "b" in mode else io.StringIO()
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())  # the rename must never publish bytes still in the page cache
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write a text file atomically (see `atomic_open`)."""
    with atomic_open(path, "w") as f:
        f.write(text)


def yaml_safe_load(text: str, source: str, error: type[Exception] = DescError) -> Any:
    """Parse YAML with the safe loader; a tag such as !!python/object is refused, never executed."""
    try:
        return yaml.safe_load(text)
    except yaml.constructor.ConstructorError as e:
        mark = f" (line {e.problem_mark.line + 1})" if e.problem_mark else ""
        raise error(f"{source}{mark}: refused unsafe or unknown YAML tag: {e.problem}") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise error(f"{source}{where}: malformed YAML: {problem}") from None


def format_loc(loc: tuple[Any, ...]) -> str:
    """('cell_descs', 3, 'nodes', 1) -> 'cell_descs[3].nodes[1]'."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<root>"


def validation_message(err: ValidationError, source: str) -> str:
    """One line naming the file, the key path and what is wrong with the first error."""
    first = err.errors()[0]
    more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
    return f"{source}: {format_loc(first['loc'])}: {first['msg']}{more}"


def is_json(path: str | os.PathLike) -> bool:
    """Whether a file is JSON by its extension (anything else is YAML)."""
    return Path(path).suffix.lower() == ".json"


def read_text(path: str | os.PathLike, error: type[DescgraphError] = DescError) -> str:
    """A text file's contents; a missing or unreadable file raises `error` in one line naming it."""
    try:
        return Path(path).read_text()
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise error(f"{path}: cannot read: {e}") from None


def read_data(path: str | os.PathLike, error: type[DescgraphError] = DescError) -> Any:
    """Read a YAML or JSON file (by extension; YAML otherwise) into plain data; problems raise `error`."""
    path = Path(path)
    text = read_text(path, error)
    if is_json(path):
        try:
            return json.loads(text)
        except json.JSONDecodeError as e:
            raise error(f"{path} (line {e.lineno}): malformed JSON: {e.msg}") from None
    return yaml_safe_load(text, str(path), error)


def dump_data(data: Any, fmt: str = "yaml") -> str:
    """Plain data as YAML (block style, keys in order) or JSON (indented) text."""
    if fmt == "json":
        return json.dumps(data, indent=2) + "\n"
    if fmt == "yaml":
        return yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=120)
    raise DescError(f"unknown format {fmt!r} (use yaml or json)")


def write_data(data: Any, path: str | os.PathLike) -> None:
    """Save plain data as JSON (.json) or YAML (anything else), atomically."""
    atomic_write_text(path, dump_data(data, "json" if is_json(path) else "yaml"))
