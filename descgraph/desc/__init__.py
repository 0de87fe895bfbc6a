"""Architecture descriptions: plain data, saved as YAML or JSON, hashed, validated, viewed as graphs.

This package never imports torch.
"""

from __future__ import annotations

from descgraph.desc.graph import (
    cell_graph,
    dead_nodes,
    model_graph,
    remove_edge,
    rewire_edge,
    states_reaching_output,
    topological_states,
)
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
    "cell_graph",
    "dead_nodes",
    "dump_desc",
    "load_desc",
    "model_desc_json_schema",
    "model_graph",
    "parse_desc",
    "read_data",
    "remove_edge",
    "rewire_edge",
    "save_desc",
    "states_reaching_output",
    "topological_states",
    "validate_cell",
    "validate_model_desc",
]
