"""Reading and writing descriptions as YAML or JSON, safely, with a schema version."""

from __future__ import annotations

import os
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from descgraph._files import dump_data, read_data, validation_message, write_data
from descgraph.desc.model_desc import SCHEMA_VERSION, ModelDesc
from descgraph.desc.size import SizeLimits
from descgraph.errors import DescError

D = TypeVar("D", bound=BaseModel)


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


def load_desc(path: str | os.PathLike, validate: bool = True, limits: SizeLimits | None = None) -> ModelDesc:
    """Load a ModelDesc from YAML or JSON and (by default) check its graph, shapes and size (within `limits`)."""
    desc = parse_desc(read_data(path), ModelDesc, str(path))
    if validate:
        from descgraph.desc.validate import validate_model_desc

        validate_model_desc(desc, source=str(path), limits=limits)
    return desc


def dump_desc(desc: BaseModel, fmt: str = "yaml") -> str:
    """Serialize a description to YAML or JSON text."""
    return dump_data(desc.model_dump(mode="json"), fmt)


def save_desc(desc: BaseModel, path: str | os.PathLike) -> None:
    """Save a description as JSON (.json) or YAML (anything else), atomically."""
    write_data(desc.model_dump(mode="json"), path)


def model_desc_json_schema() -> dict[str, Any]:
    """The JSON Schema of ModelDesc files."""
    return ModelDesc.model_json_schema()
