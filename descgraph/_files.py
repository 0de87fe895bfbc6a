"""File helpers every layer uses: atomic writes, the safe YAML loader, YAML/JSON files by extension."""

from __future__ import annotations

import contextlib
import glob
import io
import json
import os
import re
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import yaml
from pydantic import ValidationError

from descgraph._json import json_text
from descgraph._ranks import is_main
from descgraph.errors import DescError, DescgraphError, OutputError


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w") -> Iterator[IO]:
    """Open a temp file beside `path` for writing; on success it is flushed to disk and renamed onto `path`.

    A crash, or an error inside the block, leaves `path` as it was (the temp file is removed), so no reader
    ever sees a half-written file. The folder is created when missing. Where the file lands is
    `output_target(path)`: a symlink's target (the link stays a link); a FIFO or a character device
    (`/dev/null`, `/dev/stdout`) is written into, never replaced. A new file gets the mode the umask
    gives (0666 & ~umask), a replaced one keeps its mode; temp files that a killed write left are removed.
    In a data-parallel run rank 0 alone writes: the other ranks write into memory, which is dropped.
    """
    if not is_main():
        yield io.BytesIO() if "b" in mode else io.StringIO()
        return
    target = output_target(path)
    if target.exists() and not target.is_file():
        with open(target, mode) as f:
            yield f
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(target)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.{os.getpid()}-", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fchmod(f.fileno(), _file_mode(target))
            os.fsync(f.fileno())  # the rename must never publish bytes still in the page cache
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def output_target(path: str | os.PathLike) -> Path:
    """The file that writing `path` changes: a symlink's target (the file it names, made if missing), else `path`.

    Raises:
        OutputError: the target is a folder, or a special file other than a FIFO or a character device.
    """
    path = Path(path)
    try:
        kind = path.stat().st_mode  # through links, /dev/stdout's to a pipe included
    except OSError:  # missing, or under a file: creating it says what is wrong
        kind = stat.S_IFREG
    if stat.S_ISDIR(kind):
        raise OutputError(f"{path}: is a folder; give a file name to write")
    if stat.S_ISFIFO(kind) or stat.S_ISCHR(kind):
        return path  # written into, through any link
    if not stat.S_ISREG(kind):
        raise OutputError(f"{path}: is a special file, not a regular file, FIFO or character device; not written")
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def refuse_overwriting_inputs(
    output: str | os.PathLike | None, *inputs: str | os.PathLike | None, way_out: str = "write to another file"
) -> None:
    """Raise OutputError when `output` is one of `inputs` (the same file under any name, link or hard link)."""
    if output is None:
        return
    for given in inputs:
        if given is not None and _same_file(output, given):
            raise OutputError(f"{output}: is also an input of this command ({given}); {way_out}")


def _same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether two paths name one file (existing ones by device and inode, others by their resolved path)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


# a temp file of ours: .<name>.<pid>-<8 random chars>.tmp (before pids were in the name: .<name>.<8 chars>.tmp)
_TEMP_TAIL = re.compile(r"(?:(\d+)-)?[a-z0-9_]{8}\.tmp")


def remove_stale_temporaries(target: Path) -> None:
    """Remove the temp files of earlier writes of `target` whose writer is gone (a SIGKILL mid-write leaves them).

    Only files named as `atomic_open` names them, beside `target`; a temp of a live process is kept.
    """
    prefix = f".{target.name}."
    for entry in target.parent.glob(glob.escape(prefix) + "*.tmp"):
        match = _TEMP_TAIL.fullmatch(entry.name[len(prefix) :])
        if match and not _is_running(match.group(1)):
            entry.unlink(missing_ok=True)


def _is_running(pid: str | None) -> bool:
    """Whether the process `pid` (text; None for a temp of an older descgraph, taken as gone) is alive."""
    if pid is None:
        return False
    if int(pid) == os.getpid():
        return True
    try:
        os.kill(int(pid), 0)
    except PermissionError:  # another user's process
        return True
    except (ProcessLookupError, OverflowError):
        return False
    return True


def _file_mode(target: Path) -> int:
    """The mode a written file gets: the replaced file's, else what the umask leaves of 0666."""
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write a text file atomically (see `atomic_open`)."""
    with atomic_open(path, "w") as f:
        f.write(text)


# Bounds on what one YAML or JSON text may make the reader build: no conf or description nests deeper, and
# aliases (each a reference to a subtree) may stand for this many nodes at most, so an alias bomb is refused
# before anything walks its 9**9 expanded nodes. Archai's files share a few hundred objects through aliases.
MAX_DEPTH = 100
MAX_ALIASES = 10_000
MAX_ALIAS_NODES = 1_000_000


class YamlRefused(yaml.YAMLError):
    """A YAML text the safe reader refuses: a bound passed, a duplicate key, a tag it does not know."""

    def __init__(self, message: str, mark: yaml.Mark | None) -> None:
        super().__init__(message)
        self.line = mark.line + 1 if mark is not None else None


class SafeLoader(yaml.SafeLoader):
    """PyYAML's safe loader with bounds: nesting depth (expanded through aliases too), the number of aliases
    and the nodes they stand for, and no key twice in one mapping."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth, self.n_aliases, self.alias_nodes = 0, 0, 0
        self.extent: dict[int, tuple[int, int]] = {}  # id(node) -> (nodes, levels) once aliases are expanded

    def compose_node(self, parent, index):
        mark = self.peek_event().start_mark
        if self.check_event(yaml.AliasEvent):
            node = super().compose_node(parent, index)
            if id(node) not in self.extent:  # its anchor is still open: data that contains itself
                raise YamlRefused("a YAML alias inside its own anchor", mark)
            self.n_aliases += 1
            self.alias_nodes += self.extent[id(node)][0]
            if self.n_aliases > MAX_ALIASES or self.alias_nodes > MAX_ALIAS_NODES:
                raise YamlRefused(f"more than {MAX_ALIASES} YAML aliases or {MAX_ALIAS_NODES} nodes behind them", mark)
            return node
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise YamlRefused(f"nested deeper than {MAX_DEPTH} levels", mark)
        node = super().compose_node(parent, index)
        self.depth -= 1
        self.extent[id(node)] = extent = self._extent(node)
        if extent[1] > MAX_DEPTH:
            raise YamlRefused(f"nested deeper than {MAX_DEPTH} levels through aliases", mark)
        return node

    def _extent(self, node: yaml.Node) -> tuple[int, int]:
        """Nodes and levels of `node` with its aliases expanded (its children are already known)."""
        if isinstance(node, yaml.ScalarNode):
            return 1, 1
        children = [c for pair in node.value for c in pair] if isinstance(node, yaml.MappingNode) else node.value
        known = [self.extent.get(id(c), (1, 1)) for c in children]
        return 1 + sum(n for n, _ in known), 1 + max((d for _, d in known), default=0)

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            self._refuse_duplicate_keys(node)
        return super().construct_mapping(node, deep=deep)

    def _refuse_duplicate_keys(self, node: yaml.MappingNode) -> None:
        """A key twice in one mapping is refused (merge keys `<<` may be overridden, as YAML says)."""
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node)
            if not _hashable(key):
                continue  # construct_mapping refuses it
            if key in seen:
                raise YamlRefused(f"duplicate key {key!r} (first at line {seen[key]})", key_node.start_mark)
            seen[key] = key_node.start_mark.line + 1


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def yaml_safe_load(text: str, source: str, error: type[Exception] = DescError, loader: type = SafeLoader) -> Any:
    """Parse YAML with the bounded safe loader (or a subclass); a tag such as !!python/object is refused, never
    executed, and so are duplicate keys, deep nesting and alias bombs, each in one line naming `source`."""
    try:
        return _load_with(loader, text)
    except YamlRefused as e:
        where = f" (line {e.line})" if e.line else ""
        raise error(f"{source}{where}: {e}") from None
    except yaml.constructor.ConstructorError as e:
        mark = f" (line {e.problem_mark.line + 1})" if e.problem_mark else ""
        raise error(f"{source}{mark}: refused unsafe or unknown YAML tag: {e.problem}") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise error(f"{source}{where}: malformed YAML: {problem}") from None
    except ValueError as e:  # an integer of more digits than Python converts
        raise error(_absurd_number(source, e)) from None


def _absurd_number(source: str, e: ValueError) -> str:
    """One line for a number the reader refuses to convert (Python's limit on integer digits)."""
    if "digits" in str(e):
        return f"{source}: a number of more than {sys.get_int_max_str_digits():,} digits"
    return f"{source}: {str(e).splitlines()[0] if str(e) else type(e).__name__}"


def _load_with(loader: type, text: str) -> Any:
    reader = loader(text)  # reads the text: a character YAML does not allow is a YAMLError here
    try:
        return reader.get_single_data()
    finally:
        reader.dispose()


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
    return json_safe_load(text, str(path), error) if is_json(path) else yaml_safe_load(text, str(path), error)


def json_safe_load(text: str, source: str, error: type[Exception] = DescError) -> Any:
    """Parse JSON text; malformed text, or nesting deeper than YAML may nest, is one line naming `source`."""
    too_deep = f"{source}: nested deeper than {MAX_DEPTH} levels"
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise error(f"{source} (line {e.lineno}): malformed JSON: {e.msg}") from None
    except ValueError as e:  # an integer of more digits than Python converts
        raise error(_absurd_number(source, e)) from None
    except RecursionError:  # deeper than the parser goes
        raise error(too_deep) from None
    if _depth(data) > MAX_DEPTH:
        raise error(too_deep)
    return data


def _depth(data: Any) -> int:
    """Levels of nested lists and dicts in plain data, counted without recursion."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        value, level = stack.pop()
        deepest = max(deepest, level)
        if level > MAX_DEPTH:
            break
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        stack.extend((child, level + 1) for child in children)
    return deepest


def dump_data(data: Any, fmt: str = "yaml") -> str:
    """Plain data as YAML (block style, keys in order) or JSON (indented) text."""
    if fmt == "json":
        return json_text(data, indent=2) + "\n"
    if fmt == "yaml":
        return yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=120)
    raise DescError(f"unknown format {fmt!r} (use yaml or json)")


def write_data(data: Any, path: str | os.PathLike) -> None:
    """Save plain data as JSON (.json) or YAML (anything else), atomically."""
    atomic_write_text(path, dump_data(data, "json" if is_json(path) else "yaml"))
