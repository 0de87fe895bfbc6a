"""Architecture descriptions: plain data, saved as YAML or JSON, hashed, validated, viewed as graphs.

This package never imports torch.
"""

from __future__ import annotations

from descgraph.desc.io import (
    dump_desc,
    load_desc,
    model_desc_json_schema,
    parse_desc,
    read_data,
    save_desc,
)
from descgraph.desc.model_desc import (
    SCHEMA_VERSION,
    AuxTowerDesc,
    CellDesc,
    CellType,
    ConvMacroParams,
    EdgeDesc,
    ModelDesc,
    NodeDesc,
    OpDesc,
    Shape,
)
from descgraph.desc.validate import validate_cell, validate_model_desc

__all__ = [
    "SCHEMA_VERSION",
    "AuxTowerDesc",
    "CellDesc",
    "CellType",
    "ConvMacroParams",
    "EdgeDesc",
    "ModelDesc",
    "NodeDesc",
    "OpDesc",
    "Shape",
    "dump_desc",
    "load_desc",
    "model_desc_json_schema",
    "parse_desc",
    "read_data",
    "save_desc",
    "validate_cell",
    "validate_model_desc",
]
