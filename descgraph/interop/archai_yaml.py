"""Reading Microsoft Archai's saved descriptions as plain data, without importing or running anything.

Archai saves a `ModelDesc` with PyYAML's object dumper: every node is tagged with its Python class
(`!!python/object:archai.nas.model_desc.CellDesc`, `!!python/object/apply:archai.nas.model_desc.CellType`,
`!!python/object:archai.common.config.Config`). This loader is a safe loader that knows exactly those
classes and turns each into a plain dict (its `__archai__` key names the class), an enum into its
value, a Config into its data; it refuses every other tag, naming it, and bounds the number of aliases.
"""

from __future__ import annotations

import os
from typing import Any

import yaml

from descgraph._files import SafeLoader, YamlRefused, read_text, yaml_safe_load
from descgraph.errors import DescError

PY = "tag:yaml.org,2002:python/"
# The description classes, under Archai's pre-1.0 module and the one 1.0 moved them to.
ARCHAI_MODULES = ("archai.nas.model_desc", "archai.supergraph.nas.model_desc")
DESC_CLASSES = ("ModelDesc", "CellDesc", "NodeDesc", "EdgeDesc", "OpDesc", "ConvMacroParams", "AuxTowerDesc")
ENUM_CLASSES = ("CellType",)
CONFIG_CLASS = "archai.common.config.Config"
CLASS_KEY = "__archai__"


class _ArchaiLoader(SafeLoader):
    """The bounded safe loader with constructors for Archai's own classes only."""

    def construct_undefined(self, node: yaml.Node):
        """Every tag without a constructor here: refused, naming the tag."""
        raise YamlRefused(f"refused YAML tag {node.tag.replace(PY, '!!python/')!r}", node.start_mark)


def _object(cls: str):
    def construct(loader: _ArchaiLoader, node: yaml.Node) -> dict[str, Any]:
        if not isinstance(node, yaml.MappingNode):
            raise YamlRefused(f"{cls} is not a mapping", node.start_mark)
        data = {CLASS_KEY: cls}
        yield data
        data.update(loader.construct_mapping(node, deep=True))

    return construct


def _enum(loader: _ArchaiLoader, node: yaml.Node) -> str:
    """`!!python/object/apply:...CellType [regular]` (or the `args:` mapping form) -> 'regular'."""
    if isinstance(node, yaml.SequenceNode):
        args = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        args = loader.construct_mapping(node, deep=True).get("args", [])
    else:
        args = []
    if len(args) != 1 or not isinstance(args[0], str):
        raise YamlRefused(f"CellType needs one string value, got {args!r}", node.start_mark)
    return args[0]


def _config(loader: _ArchaiLoader, node: yaml.Node):
    """An Archai Config object: its `data` mapping."""
    holder: dict[str, Any] = {}
    yield holder
    if not isinstance(node, yaml.MappingNode):
        raise YamlRefused("Config is not a mapping", node.start_mark)
    state = loader.construct_mapping(node, deep=True)
    holder.update(state.get("data") or {})


for _module in ARCHAI_MODULES:
    for _cls in DESC_CLASSES:
        _ArchaiLoader.add_constructor(f"{PY}object:{_module}.{_cls}", _object(_cls))
    for _cls in ENUM_CLASSES:
        for _kind in ("object/apply", "object/new"):
            _ArchaiLoader.add_constructor(f"{PY}{_kind}:{_module}.{_cls}", _enum)
_ArchaiLoader.add_constructor(f"{PY}object:{CONFIG_CLASS}", _config)
_ArchaiLoader.add_constructor(None, _ArchaiLoader.construct_undefined)


def parse_archai_yaml(text: str, source: str = "<archai>") -> Any:
    """Plain data of an Archai YAML text; errors are one line naming `source`.

    Raises:
        DescError: a tag other than Archai's description classes, malformed or truncated YAML.
    """
    return yaml_safe_load(text, source, DescError, loader=_ArchaiLoader)


def load_archai_yaml(path: str | os.PathLike) -> Any:
    """Plain data of an Archai YAML file (see `parse_archai_yaml`)."""
    return parse_archai_yaml(read_text(path), str(path))
