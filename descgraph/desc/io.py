"""Reading and writing descriptions as YAML or JSON, safely, with a schema version."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from descgraph.desc.model_desc import SCHEMA_VERSION, ModelDesc
from descgraph.errors import DescError

D = TypeVar("D", bound=BaseModel)


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


def read_data(path: str | os.PathLike) -> Any:
    """Read a YAML or JSON file (by extension; YAML otherwise) into plain data."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise DescError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise DescError(f"{path}: cannot read: {e}") from None
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as e:
            raise DescError(f"{path} (line {e.lineno}): malformed JSON: {e.msg}") from None
    return yaml_safe_load(text, str(path))


def parse_desc(data: Any, cls: type[D] = ModelDesc, source: str = "<data>") -> D:
    """Validate plain data into a description class; errors name the source and the key path."""
    if not isinstance(data, dict):
        raise DescError(f"{source}: expected a mapping at the top, got {type(data).__name__}")
    version = data.get("schema_version", SCHEMA_VERSION)
    if cls is ModelDesc and version != SCHEMA_VERSION:
        raise DescError(f"{source}: schema_version: {version} is not supported (this is version {SCHEMA_VERSION})")
    try:
        return cls.model_validate(data)
    except ValidationError as e:
        raise DescError(validation_message(e, source)) from None


def load_desc(path: str | os.PathLike, validate: bool = True) -> ModelDesc:
    """Load a ModelDesc from YAML or JSON and (by default) check its graph and shapes."""
    desc = parse_desc(read_data(path), ModelDesc, str(path))
    if validate:
        from descgraph.desc.validate import validate_model_desc

        validate_model_desc(desc, source=str(path))
    return desc


def dump_desc(desc: BaseModel, fmt: str = "yaml") -> str:
    """Serialize a description to YAML or JSON text."""
    data = desc.model_dump(mode="json")
    if fmt == "json":
        return json.dumps(data, indent=2) + "\n"
    if fmt == "yaml":
        return yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=120)
    raise DescError(f"unknown format {fmt!r} (use yaml or json)")


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w") -> Iterator[IO]:
    """Open a temp file beside `path` for writing; on success it is flushed to disk and renamed onto `path`.

    A crash, or an error inside the block, leaves `path` as it was (the temp file is removed), so no reader
    ever sees a half-written file. The folder is created when missing.
    """
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


def save_desc(desc: BaseModel, path: str | os.PathLike) -> None:
    """Save a description as JSON (.json) or YAML (anything else), atomically."""
    fmt = "json" if Path(path).suffix.lower() == ".json" else "yaml"
    atomic_write_text(path, dump_desc(desc, fmt))


def model_desc_json_schema() -> dict[str, Any]:
    """The JSON Schema of ModelDesc files."""
    return ModelDesc.model_json_schema()
