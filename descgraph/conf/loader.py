"""Loading confs: includes, merges, `_copy`, variables, command-line overrides, schema validation.

    conf = load_conf(["confs/algos/darts.yaml", "confs/datasets/imagenet.yaml"], ["nas.search.trainer.epochs=10"])

Every ConfError is one line naming the file (the one that set the key, when known) and the key path.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

import descgraph
from descgraph._registry import close_matches
from descgraph.conf.schema import Conf
from descgraph.desc.io import format_loc, yaml_safe_load
from descgraph.errors import ConfError

INCLUDE_KEY, COPY_KEY, COPY_PREFIX = "__include__", "_copy", "_copy:"
DEFAULT_VARIABLES = {"default_dataroot": "~/dataroot"}
_VAR = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def confs_dir() -> Path:
    """The repository's bundled `confs/` folder."""
    return Path(descgraph.__file__).resolve().parent.parent / "confs"


def bundled_names() -> list[str]:
    """Names of the bundled algorithm confs (`confs/algos/<name>.yaml`)."""
    return sorted(p.stem for p in (confs_dir() / "algos").glob("*.yaml"))


def resolve_conf_path(name: str | Path) -> Path:
    """A conf file path as given, or the bundled conf of that name."""
    path = Path(name)
    if path.exists():
        return path
    bundled = confs_dir() / "algos" / f"{name}.yaml"
    if bundled.exists():
        return bundled
    if path.suffix in (".yaml", ".yml", ".json") or "/" in str(name):
        raise ConfError(f"{name}: no such conf file")
    hint = close_matches(str(name), bundled_names()) or f" (bundled: {', '.join(bundled_names())})"
    raise ConfError(f"{name}: not a conf file nor a bundled conf name{hint}")


# --- files and includes -----------------------------------------------------------------------
def _deep_merge(base: dict, top: dict) -> dict:
    """`top` over `base`: mappings merge key by key, anything else is replaced."""
    out = dict(base)
    for key, value in top.items():
        out[key] = _deep_merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _record_origins(data: Any, source: str, origins: dict[str, str], prefix: str = "") -> None:
    if isinstance(data, dict):
        for key, value in data.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            origins[path] = source
            _record_origins(value, source, origins, path)


def _load_file(path: Path, stack: tuple[Path, ...], origins: dict[str, str]) -> dict:
    """One file with its includes merged under it."""
    path = path.resolve()
    if path in stack:
        cycle = " -> ".join(p.name for p in (*stack[stack.index(path) :], path))
        raise ConfError(f"{stack[-1]}: {INCLUDE_KEY}: include cycle {cycle}")
    try:
        text = path.read_text()
    except FileNotFoundError:
        where = f"{stack[-1]}: {INCLUDE_KEY}: " if stack else ""
        raise ConfError(f"{where}{path}: no such conf file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfError(f"{path}: cannot read: {e}") from None
    data = yaml_safe_load(text, str(path), error=ConfError)
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise ConfError(f"{path}: expected a mapping at the top, got {type(data).__name__}")
    includes = data.pop(INCLUDE_KEY, [])
    includes = [includes] if isinstance(includes, str) else includes
    if not isinstance(includes, list) or not all(isinstance(i, str) for i in includes):
        raise ConfError(f"{path}: {INCLUDE_KEY}: expected a file name or a list of file names")
    merged: dict = {}
    for inc in includes:
        merged = _deep_merge(merged, _load_file(path.parent / inc, (*stack, path), origins))
    _record_origins(data, str(path), origins)
    return _deep_merge(merged, data)


# --- _copy ------------------------------------------------------------------------------------
def _copy_target(value: Any) -> str | None:
    if isinstance(value, str) and value.strip().startswith(COPY_PREFIX):
        return value.strip()[len(COPY_PREFIX) :].strip()
    if isinstance(value, dict) and COPY_KEY in value:
        return str(value[COPY_KEY]).strip()
    return None


def _target_path(target: str, at: list[str]) -> list[str]:
    """Absolute `/a/b` from the root; relative `../b` from the key itself (`..` leaves the key)."""
    if target.startswith("/"):
        return [p for p in target.split("/") if p]
    path = list(at)
    for part in [p for p in target.split("/") if p]:
        if part == "..":
            path = path[:-1]
        elif part != ".":
            path.append(part)
    return path


def _has_copy(value: Any) -> bool:
    if _copy_target(value) is not None:
        return True
    return isinstance(value, dict) and any(_has_copy(v) for v in value.values())


def _lookup(root: dict, path: list[str]) -> tuple[bool, Any]:
    node: Any = root
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _resolve_pass(root: dict, node: dict, at: list[str], origins: dict[str, str]) -> bool:
    """Replace copies whose targets are already free of copies; True if anything changed."""
    changed = False
    for key, value in list(node.items()):
        here = [*at, str(key)]
        target = _copy_target(value)
        if target is None:
            if isinstance(value, dict):
                changed |= _resolve_pass(root, value, here, origins)
            continue
        tpath = _target_path(target, here)
        found, tvalue = _lookup(root, tpath)
        if not found:
            raise ConfError(f"{_origin(origins, here)}{'.'.join(here)}: _copy target /{'/'.join(tpath)} does not exist")
        if _has_copy(tvalue):
            continue
        if isinstance(value, dict):
            overlay = {k: v for k, v in value.items() if k != COPY_KEY}
            node[key] = _deep_merge(copy.deepcopy(tvalue), overlay) if isinstance(tvalue, dict) else tvalue
        else:
            node[key] = copy.deepcopy(tvalue)
        changed = True
    return changed


def _resolve_copies(root: dict, origins: dict[str, str]) -> dict:
    while _has_copy(root):
        if not _resolve_pass(root, root, [], origins):
            raise ConfError(f"{_origin(origins, [])}_copy: the copies refer to each other in a cycle")
    return root


# --- variables and overrides ------------------------------------------------------------------
def _substitute(value: Any, variables: dict[str, str]) -> Any:
    if isinstance(value, str):
        return _VAR.sub(lambda m: variables.get(m.group(1), m.group(0)), value)
    if isinstance(value, dict):
        return {k: _substitute(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, variables) for v in value]
    return value


def _schema_at(keys: list[str]) -> type[BaseModel] | None:
    """The schema class holding the last key of `keys`, or None below a free-form dict."""
    cls: Any = Conf
    for key in keys[:-1]:
        field = cls.model_fields.get(key)
        annotation = field.annotation if field else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        cls = annotation
    return cls


def _check_key_path(keys: list[str], source: str) -> None:
    cls: Any = Conf
    for i, key in enumerate(keys):
        if cls is None:
            return
        if key not in cls.model_fields:
            path = ".".join(keys[: i + 1])
            raise ConfError(f"{source}: {path}: unknown key {key!r}{close_matches(key, list(cls.model_fields))}")
        annotation = cls.model_fields[key].annotation
        cls = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _apply_override(data: dict, item: str, origins: dict[str, str]) -> None:
    if "=" not in item:
        raise ConfError(f"override {item!r}: expected key.path=value")
    key, _, text = item.partition("=")
    keys = [k for k in key.strip().split(".") if k]
    if not keys:
        raise ConfError(f"override {item!r}: expected key.path=value")
    _check_key_path(keys, "command line")
    value = yaml_safe_load(text, f"override {key}", error=ConfError) if text.strip() else ""
    node = data
    for k in keys[:-1]:
        target = _copy_target(node.get(k))
        if isinstance(node.get(k), str) and target is not None:
            node[k] = {COPY_KEY: target}  # the mapping form overlays the override on the copy
        elif not isinstance(node.get(k), dict):
            node[k] = {}
        node = node[k]
    node[keys[-1]] = value
    origins[".".join(keys)] = "command line"


# --- validation -------------------------------------------------------------------------------
def _origin(origins: dict[str, str], keys: list[str]) -> str:
    """'file: ' of the longest key-path prefix a file set, or of the last file."""
    for n in range(len(keys), 0, -1):
        src = origins.get(".".join(keys[:n]))
        if src:
            return f"{src}: "
    return f"{origins['']}: " if origins.get("") else ""


def _validation_error(err: ValidationError, origins: dict[str, str]) -> ConfError:
    first = err.errors()[0]
    keys = [str(k) for k in first["loc"]]
    path = format_loc(first["loc"])
    if first["type"] == "extra_forbidden":
        cls = _schema_at(keys)
        hint = close_matches(keys[-1], list(cls.model_fields)) if cls else ""
        return ConfError(f"{_origin(origins, keys)}{path}: unknown key{hint}")
    return ConfError(f"{_origin(origins, keys)}{path}: {first['msg']}")


def load_conf_data(
    paths: list[str | Path] | str | Path,
    overrides: list[str] | tuple[str, ...] = (),
    variables: dict[str, str] | None = None,
    origins: dict[str, str] | None = None,
) -> dict:
    """The merged, copied, substituted and overridden plain data of one or more conf files."""
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    origins = {} if origins is None else origins
    data: dict = {}
    for path in paths:
        data = _deep_merge(data, _load_file(Path(path), (), origins))
        origins[""] = str(path)
    for item in overrides:  # before copies resolve, so `dataset.x=...` reaches every copy of /dataset
        _apply_override(data, item, origins)
    data = _resolve_copies(data, origins)
    return _substitute(data, {**DEFAULT_VARIABLES, **(variables or {})})


def load_conf(
    paths: list[str | Path] | str | Path,
    overrides: list[str] | tuple[str, ...] = (),
    variables: dict[str, str] | None = None,
) -> Conf:
    """Load, merge (later files win), resolve and validate confs into a `Conf`."""
    origins: dict[str, str] = {}
    data = load_conf_data(paths, overrides, variables, origins)
    try:
        return Conf.model_validate(data)
    except ValidationError as e:
        raise _validation_error(e, origins) from None


def dump_conf(conf: Conf) -> str:
    """The effective conf as YAML."""
    return yaml.safe_dump(conf.model_dump(mode="json"), sort_keys=False, width=120)


def conf_hash(conf: Conf) -> str:
    """SHA-256 of the effective conf, independent of key order."""
    return hashlib.sha256(json.dumps(conf.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()
