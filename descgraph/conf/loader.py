"""Loading confs: includes, merges, `_copy`, variables, command-line overrides, schema validation.

    conf = load_conf(["darts", "confs/datasets/imagenet.yaml"], ["nas.search.trainer.epochs=10"])

Order of work: files (each with its `__include__`s under it) merge left to right, later wins; overrides
are written into that merged data; then `_copy`s resolve; then `$name` variables; then the schema
validates (with the schema the conf's `algo` registered; each stage's datasets start from `dataset`).
Overrides go in before copies, as in Archai, so `dataset.name=cifar100` reaches every copy of
`/dataset`, and a key inside a copied mapping can still be overridden.

Every ConfError is one line naming the file (the one that set the key, when known) and the key path.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any, get_origin

import yaml
from pydantic import BaseModel, ValidationError

import descgraph
from descgraph._files import format_loc, validation_message, yaml_safe_load
from descgraph._registry import close_matches
from descgraph.conf.schema import DEFAULT_ALGO, Conf, algo_conf_class, owners_of, schema_path
from descgraph.errors import ConfError

INCLUDE_KEY, COPY_KEY, COPY_PREFIX = "__include__", "_copy", "_copy:"
CONF_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}")  # what a top-level key of a conf file can look like
DEFAULT_VARIABLES = {"default_dataroot": "~/dataroot"}
COMMAND_LINE = "command line"
CONF_SUFFIXES = (".yaml", ".yml")
_VAR = re.compile(r"\$(?:\{([A-Za-z_]\w*)\}|([A-Za-z_]\w*))")
# where a run reads or writes, how it logs and how fast it goes, not what it computes: left out of conf_hash.
# Threads change only the order of floating-point sums (and `0` pins no count); checkpoints are exact.
_RESULT_NEUTRAL = {"common": ("experiment_name", "logdir", "resume", "tensorboard", "threads")}
_RESULT_NEUTRAL_BELOW = {"dataset": ("dataroot", "download"), "trainer": ("checkpoint_freq",)}  # at any depth


# --- bundled confs ----------------------------------------------------------------------------
def confs_dir() -> Path:
    """The bundled confs: `confs/` beside the package in a source checkout (their source of truth), else
    `confs/`, where a wheel or a non-editable install carries them (setup.py copies them there)."""
    package = Path(descgraph.__file__).resolve().parent
    installed = package / "confs"
    return installed if installed.is_dir() else package.parent / "confs"


def bundled_names() -> list[str]:
    """Names of the bundled algorithm confs (`confs/algos/<name>.yaml`)."""
    return sorted(p.stem for p in (confs_dir() / "algos").glob("*.yaml"))


def resolve_conf_path(name: str | Path) -> Path:
    """The bundled conf `confs/algos/<name>.yaml` for a bare name, else `name` as a file path.

    Raises:
        ConfError: neither a bundled name nor an existing file; lists the close bundled names.
    """
    path = Path(name)
    is_bare = path.suffix not in CONF_SUFFIXES and len(path.parts) == 1
    bundled = confs_dir() / "algos" / f"{name}.yaml"
    if is_bare and bundled.is_file():
        return bundled
    if path.is_file():
        return path
    if not is_bare:
        raise ConfError(f"{name}: no such conf file")
    hint = close_matches(str(name), bundled_names()) or f" (bundled: {', '.join(bundled_names())})"
    raise ConfError(f"{name}: not a conf file nor a bundled conf name{hint}")


# --- files and includes -----------------------------------------------------------------------
def _clone(value: Any) -> Any:
    """A copy of plain YAML data (also undoes the sharing that YAML anchors create)."""
    if isinstance(value, dict):
        return {k: _clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clone(v) for v in value]
    return value


def _deep_merge(base: dict, top: dict) -> dict:
    """`top` over `base`: mappings merge key by key, anything else is replaced."""
    out = dict(base)
    for key, value in top.items():
        out[key] = _deep_merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _record_origins(data: Any, source: str, origins: dict[str, str], prefix: str = "") -> None:
    """Note `source` as the setter of every key path in `data` (a later call overwrites)."""
    if isinstance(data, dict):
        for key, value in data.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            origins[path] = source
            _record_origins(value, source, origins, path)


def _read_mapping(path: Path, stack: tuple[Path, ...]) -> dict:
    """The top-level mapping of one file, its includes not yet followed."""
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
        raise ConfError(f"{path}: <root>: expected a mapping at the top, got {type(data).__name__}")
    if not all(isinstance(key, str) and CONF_KEY.fullmatch(key) for key in data):
        # another kind of file (`root:*:19000:...:` reads as a key): its text stays out of the message
        raise ConfError(f"{path}: <root>: a top-level key is not a conf key name; is this a conf file?")
    return _clone(data)


def _include_names(data: dict, path: Path) -> list[str]:
    """Pop `__include__` (a file name, a list of them, or null) from a file's data."""
    includes = data.pop(INCLUDE_KEY, None)
    includes = [] if includes is None else [includes] if isinstance(includes, str) else includes
    if not isinstance(includes, list) or not all(isinstance(i, str) and i for i in includes):
        raise ConfError(f"{path}: {INCLUDE_KEY}: expected a file name or a list of file names")
    return includes


def _load_file(path: Path, stack: tuple[Path, ...], origins: dict[str, str]) -> dict:
    """One file with its includes merged under it (includes first, the file's own keys win)."""
    path = path.expanduser().resolve()
    if path in stack:
        cycle = " -> ".join(p.name for p in (*stack[stack.index(path) :], path))
        raise ConfError(f"{stack[-1]}: {INCLUDE_KEY}: include cycle {cycle}")
    data = _read_mapping(path, stack)
    merged: dict = {}
    for name in _include_names(data, path):
        merged = _deep_merge(merged, _load_file(path.parent / name, (*stack, path), origins))
    _record_origins(data, str(path), origins)
    return _deep_merge(merged, data)


# --- _copy ------------------------------------------------------------------------------------
def _copy_target(value: Any) -> str | None:
    """The target of a `'_copy: /path'` string or a `{_copy: /path, ...}` mapping, else None."""
    if isinstance(value, str) and value.strip().startswith(COPY_PREFIX):
        return value.strip()[len(COPY_PREFIX) :].strip()
    if isinstance(value, dict) and COPY_KEY in value:
        return value[COPY_KEY].strip() if isinstance(value[COPY_KEY], str) else ""  # "": refused later
    return None


def _target_path(target: str, at: list[str]) -> list[str] | None:
    """Key path of a copy target, None if it climbs above the root.

    Absolute `/a/b` starts at the root. Relative `../b` starts at the key holding the copy, so the
    first `..` leaves the key (Archai: `test_workers: '_copy: ../train_workers'` is the sibling).
    """
    path = [] if target.startswith("/") else list(at)
    for part in (p for p in target.split("/") if p and p != "."):
        if part != "..":
            path.append(part)
        elif not path:
            return None
        else:
            path.pop()
    return path


def _has_copy(value: Any) -> bool:
    if _copy_target(value) is not None:
        return True
    return isinstance(value, dict) and any(_has_copy(v) for v in value.values())


def _copy_sites(node: dict, at: tuple = ()) -> dict[tuple, str]:
    """Key path -> target of every unresolved copy (not looking inside a copy's own value)."""
    sites: dict[tuple, str] = {}
    for key, value in node.items():
        here = (*at, key)
        target = _copy_target(value)
        if target is not None:
            sites[here] = target
        elif isinstance(value, dict):
            sites.update(_copy_sites(value, here))
    return sites


def _lookup(root: dict, path: list[str]) -> tuple[str, Any]:
    """('found', value), ('missing', None), or ('pending', None) while a copy on the way is unresolved."""
    node: Any = root
    for part in path:
        if _copy_target(node) is not None:
            return "pending", None
        if not isinstance(node, dict) or part not in node:
            return "missing", None
        node = node[part]
    return ("pending", None) if _has_copy(node) else ("found", node)


def _get(root: dict, at: tuple) -> Any:
    node: Any = root
    for key in at:
        node = node[key]
    return node


def _copy_error(origins: dict[str, str], at: tuple, problem: str) -> ConfError:
    keys = [str(k) for k in at]
    return ConfError(f"{_source(origins, keys)}: {'.'.join(keys)}: {problem}")


def _resolve_site(root: dict, at: tuple, target: str, origins: dict[str, str]) -> bool:
    """Replace the copy at `at` if its target is free of copies; True if it was replaced."""
    if not target:
        raise _copy_error(origins, at, "_copy needs a key path such as /dataset or ../train_batch")
    tpath = _target_path(target, list(at))
    if not tpath:
        raise _copy_error(origins, at, f"_copy target {target!r} is not a key path below the conf root")
    state, tvalue = _lookup(root, tpath)
    if state == "missing":
        raise _copy_error(origins, at, f"_copy target /{'/'.join(tpath)} does not exist")
    if state == "pending":
        return False
    value = _get(root, at)
    overlay = {k: v for k, v in value.items() if k != COPY_KEY} if isinstance(value, dict) else {}
    if overlay and not isinstance(tvalue, dict):
        raise _copy_error(origins, at, f"_copy target /{'/'.join(tpath)} is not a mapping, cannot add keys to it")
    _get(root, at[:-1])[at[-1]] = _deep_merge(_clone(tvalue), overlay) if overlay else _clone(tvalue)
    return True


def _copy_cycle(sites: dict[tuple, str]) -> list[tuple]:
    """The sites of a cycle: each one's target holds, or lies inside, the next unresolved copy."""
    keys = {s: tuple(map(str, s)) for s in sites}
    chain = [next(iter(sites))]
    while True:
        tpath = tuple(map(str, _target_path(sites[chain[-1]], list(chain[-1])) or ()))
        step = next((s for s, k in keys.items() if k[: len(tpath)] == tpath or tpath[: len(k)] == k), chain[0])
        if step in chain:
            return [*chain[chain.index(step) :], step]
        chain.append(step)


def _resolve_copies(root: dict, origins: dict[str, str]) -> dict:
    """Resolve every `_copy` in place, copies of copies included; a cycle is an error."""
    while sites := _copy_sites(root):
        progressed = False
        for at, target in sites.items():
            progressed |= _resolve_site(root, at, target, origins)
        if not progressed:
            cycle = _copy_cycle(sites)
            chain = " -> ".join("/" + "/".join(map(str, s)) for s in cycle)
            raise _copy_error(origins, cycle[0], f"_copy cycle {chain}")
    return root


# --- variables and overrides ------------------------------------------------------------------
def _substitute(value: Any, variables: dict[str, str]) -> Any:
    """Replace `$name` and `${name}` in strings from `variables`; unknown names stay as written."""
    if isinstance(value, str):
        return _VAR.sub(lambda m: variables.get(m.group(1) or m.group(2), m.group(0)), value)
    if isinstance(value, dict):
        return {k: _substitute(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, variables) for v in value]
    return value


def _schema_class(annotation: Any) -> type[BaseModel] | None:
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _unknown_key_hint(keys: list[str], algo: Any) -> str:
    """' (did you mean: ...?)' for a typo of the conf's schema, or the algorithms that own the key path."""
    owners = owners_of(keys)
    if owners:
        return f" for algo {algo!r}: it belongs to algo {', '.join(owners)}"
    cls = _schema_class(schema_path(algo_conf_class(algo), keys[:-1]))
    return close_matches(keys[-1], list(cls.model_fields)) if cls else ""


def _algo_of(data: dict, overrides: list[str] | tuple[str, ...]) -> Any:
    """The algorithm a conf names: the last `algo=` override, else the files' `algo`, else the default."""
    algo = data.get("algo", DEFAULT_ALGO)
    for item in overrides:
        key, eq, text = item.partition("=")
        if eq and key.strip() == "algo":
            algo = text.strip()
    return algo


def _check_key_path(keys: list[str], source: str, algo: Any) -> Any:
    """The schema type at an override path; every key must be a field, down to a free-form dict."""
    cls: type[BaseModel] | None = algo_conf_class(algo)
    for i, key in enumerate(keys):
        path = ".".join(keys[: i + 1])
        if key not in cls.model_fields:
            raise ConfError(f"{source}: {path}: unknown key {key!r}{_unknown_key_hint(keys[: i + 1], algo)}")
        annotation = cls.model_fields[key].annotation
        cls = _schema_class(annotation)
        if cls is None:
            if i + 1 < len(keys) and get_origin(annotation) is not dict:
                raise ConfError(f"{source}: {path}: is not a mapping, so {'.'.join(keys)} cannot be set")
            return annotation if i + 1 == len(keys) else Any
    return cls


def _parse_override(item: str, algo: Any) -> tuple[list[str], Any]:
    """'a.b.c=value' -> (['a', 'b', 'c'], value read as a YAML scalar or flow collection)."""
    key, eq, text = item.partition("=")
    keys = key.strip().split(".")
    if not eq or not all(keys):
        raise ConfError(f"{COMMAND_LINE}: override {item!r}: expected key.path=value")
    annotation = _check_key_path(keys, COMMAND_LINE, algo)
    if annotation is str and text.strip().startswith(("|", ">")):
        return keys, text.strip()  # no one-line YAML starts a block scalar: an NB201 string '|op~0|+|...|' is text
    value = yaml_safe_load(text, f"{COMMAND_LINE}: {key.strip()}", error=ConfError) if text.strip() else ""
    if annotation is str and not isinstance(value, str):
        value = text.strip()  # a str field takes the text as written: experiment_name=123 is '123'
    return keys, value


def _apply_override(data: dict, item: str, origins: dict[str, str], algo: Any) -> None:
    """Write one override into the merged data; a mapping value merges as a file's would."""
    keys, value = _parse_override(item, algo)
    node = data
    for key in keys[:-1]:
        target = _copy_target(node.get(key))
        if isinstance(node.get(key), str) and target is not None:
            node[key] = {COPY_KEY: target}  # the mapping form overlays the override on the copy
        elif not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    old = node.get(keys[-1])
    node[keys[-1]] = _deep_merge(old, value) if isinstance(old, dict) and isinstance(value, dict) else value
    origins[".".join(keys)] = COMMAND_LINE
    _record_origins(value, COMMAND_LINE, origins, ".".join(keys))


# --- validation -------------------------------------------------------------------------------
def _source(origins: dict[str, str], keys: list[str]) -> str:
    """The file (or 'command line') that set the longest prefix of `keys`, else the last file."""
    for n in range(len(keys), 0, -1):
        source = origins.get(".".join(keys[:n]))
        if source:
            return source
    return origins.get("") or "<conf>"


def _validation_error(err: ValidationError, origins: dict[str, str], algo: Any) -> ConfError:
    """One line for the first schema error: file, key path, and for an unknown key a did-you-mean or the
    algorithm that owns it."""
    first = err.errors()[0]
    keys = [str(k) for k in first["loc"]]
    at = first.get("ctx", {}).get("at", "") if first["type"] == "conf_rule" else ""
    if at:  # a rule broken below the validated section names the key it is about
        keys += at.split(".")
        more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
        return ConfError(f"{_source(origins, keys)}: {format_loc(first['loc'])}.{at}: {first['msg']}{more}")
    source = _source(origins, keys)
    if first["type"] != "extra_forbidden":
        return ConfError(validation_message(err, source))
    return ConfError(f"{source}: {format_loc(first['loc'])}: unknown key{_unknown_key_hint(keys, algo)}")


def load_conf_data(
    paths: list[str | Path] | str | Path,
    overrides: list[str] | tuple[str, ...] = (),
    variables: dict[str, str] | None = None,
    origins: dict[str, str] | None = None,
) -> dict:
    """The merged, overridden, copied and substituted plain data of conf files, before validation.

    Args:
        paths: conf files or bundled conf names, merged in order (later wins).
        overrides: `key.path=value` items; the value is read as YAML (`3`, `true`, `[1, 2]`, `abc`).
        variables: values of `$name` tokens, over the defaults (`default_dataroot`: `~/dataroot`).
        origins: if given, filled with key path -> the file (or 'command line') that set it.

    Raises:
        ConfError: a file, an include, a copy or an override is malformed.
    """
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    origins = {} if origins is None else origins
    data: dict = {}
    for name in paths:
        path = resolve_conf_path(name)
        data = _deep_merge(data, _load_file(path, (), origins))
        origins[""] = str(path.expanduser().resolve())
    algo = _algo_of(data, overrides)
    for item in overrides:
        _apply_override(data, item, origins, algo)
    data = _resolve_copies(data, origins)
    return _substitute(data, {**DEFAULT_VARIABLES, **(variables or {})})


def load_conf(
    paths: list[str | Path] | str | Path,
    overrides: list[str] | tuple[str, ...] = (),
    variables: dict[str, str] | None = None,
) -> Conf:
    """Load, merge (later files win), resolve and validate conf files into a `Conf`.

    Args:
        paths: conf files or bundled conf names (`darts`, `darts_toy`), merged in order.
        overrides: `key.path=value` items applied over the files.
        variables: values of `$name` tokens such as `$expdir` or `$default_dataroot`.

    Raises:
        ConfError: one line naming the file and the key path of the first problem.
    """
    origins: dict[str, str] = {}
    data = load_conf_data(paths, overrides, variables, origins)
    try:
        return Conf.model_validate({"algo": DEFAULT_ALGO, **data})  # a conf is always its algorithm's
    except ValidationError as e:
        raise _validation_error(e, origins, data.get("algo", DEFAULT_ALGO)) from None


def dump_conf(conf: Conf) -> str:
    """The effective conf as YAML, loadable again by `load_conf`."""
    return yaml.safe_dump(conf.model_dump(mode="json"), sort_keys=False, width=120)


def _drop_neutral_below(node: dict) -> None:
    """Drop the `_RESULT_NEUTRAL_BELOW` keys of every section of that name, at any depth."""
    for key, value in node.items():
        if isinstance(value, dict):
            for name in _RESULT_NEUTRAL_BELOW.get(key, ()):
                value.pop(name, None)
            _drop_neutral_below(value)


def result_data(data: dict) -> dict:
    """The plain data of a conf (`conf.model_dump(mode="json")`, or a saved conf.yaml read back) without
    the keys that do not change the result: where a run reads or writes, its logging, its threads."""
    data = _clone(data)
    for section, keys in _RESULT_NEUTRAL.items():
        for key in keys:
            if isinstance(data.get(section), dict):
                data[section].pop(key, None)
    _drop_neutral_below(data)
    return data


def conf_hash(conf: Conf | dict) -> str:
    """SHA-256 over the fields that change the result (`result_data`), independent of key order.

    Args:
        conf: a conf, or the plain data of one (a saved conf.yaml read back).
    """
    data = conf.model_dump(mode="json") if isinstance(conf, Conf) else conf
    return hashlib.sha256(json.dumps(result_data(data), sort_keys=True).encode()).hexdigest()
