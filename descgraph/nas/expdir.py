"""An experiment folder belongs to one experiment and one run at a time.

The folder records the hash of the conf's result-changing part (`conf_hash`) in conf_hash.txt beside
conf.yaml. A run that would resume (`common.resume`) a folder recorded for another hash is refused, with
the first key that differs, before anything in the folder is touched; `common.resume=false` starts over.
While a run works in the folder it holds the folder's lock file, `.lock`, so a second run is refused at once.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from descgraph._files import atomic_write_text, read_data
from descgraph._ranks import is_main
from descgraph.conf import Conf, conf_hash, dump_conf, result_data
from descgraph.errors import ExperimentFolderError

CONF_FILE, HASH_FILE, LOCK_FILE = "conf.yaml", "conf_hash.txt", ".lock"
_ABSENT = object()
WAY_OUT = "set common.resume=false to start over in this folder, or give another --expdir"


def saved_conf(expdir: Path) -> dict | None:
    """The plain data of the folder's conf.yaml (safely read); None when there is none.

    Raises:
        ExperimentFolderError: conf.yaml is unreadable or not a mapping.
    """
    path = expdir / CONF_FILE
    if not path.exists():
        return None
    data = read_data(path, error=ExperimentFolderError)
    if not isinstance(data, dict):
        raise ExperimentFolderError(f"{path}: not a conf that descgraph wrote; {WAY_OUT}")
    return data


def recorded_hash(expdir: Path) -> str | None:
    """The conf hash the folder was made for: conf_hash.txt, else (a folder written before it existed) the
    hash of its conf.yaml; None for a folder that holds no experiment."""
    with contextlib.suppress(FileNotFoundError):
        return (expdir / HASH_FILE).read_text().strip()
    saved = saved_conf(expdir)
    return conf_hash(saved) if saved is not None else None


def first_difference(old: Any, new: Any, path: str = "") -> tuple[str, Any, Any] | None:
    """(dotted key path, old value, new value) of the first difference, in the new data's key order."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in [*new, *(k for k in old if k not in new)]:
            found = first_difference(old.get(key, _ABSENT), new.get(key, _ABSENT), f"{path}.{key}" if path else key)
            if found is not None:
                return found
        return None
    return None if old == new else (path, old, new)


def _shown(value: Any) -> str:
    return "(absent)" if value is _ABSENT else json.dumps(value)


def check_same_experiment(expdir: str | Path, conf: Conf) -> None:
    """Refuse to resume a folder made for another conf; only reads.

    Raises:
        ExperimentFolderError: one line naming the folder's conf.yaml, the first differing key with its
            value there and now, and the way out.
    """
    expdir = Path(expdir)
    if not conf.common.resume:
        return
    recorded = recorded_hash(expdir)
    if recorded is None or recorded == conf_hash(conf):
        return
    saved = saved_conf(expdir)
    found = first_difference(result_data(saved), result_data(conf.model_dump(mode="json"))) if saved else None
    if found is None:
        raise ExperimentFolderError(f"{expdir / HASH_FILE}: this folder holds an experiment of another conf; {WAY_OUT}")
    key, old, new = found
    raise ExperimentFolderError(
        f"{expdir / CONF_FILE}: {key}: this folder's experiment has {_shown(old)}, this run {_shown(new)}; {WAY_OUT}"
    )


def check_ours(expdir: str | Path) -> None:
    """Refuse a folder that descgraph did not make: one that holds files but neither conf_hash.txt nor conf.yaml
    (a run writes both first), so that a run never replaces a user's own report.html or summary.json; only reads.

    Raises:
        ExperimentFolderError: one line naming the folder and a few of its files.
    """
    expdir = Path(expdir)
    if not expdir.is_dir() or (expdir / HASH_FILE).exists() or (expdir / CONF_FILE).exists():
        return
    names = sorted(p.name for p in expdir.iterdir() if p.name != LOCK_FILE)
    if names:
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        raise ExperimentFolderError(
            f"{expdir}: not an experiment folder (it holds {shown}, and no {HASH_FILE}); give an empty or new --expdir"
        )


@contextlib.contextmanager
def claim_folder(expdir: str | Path, conf: Conf) -> Iterator[None]:
    """Hold the folder for one run of `conf` while the block runs: checked, locked, conf.yaml and
    conf_hash.txt written (by rank 0 in a data-parallel run; the other ranks only check).

    Raises:
        ExperimentFolderError: the folder holds another experiment (nothing in it touched), or another run
            holds its lock.
    """
    expdir = Path(expdir)
    check_same_experiment(expdir, conf)  # before the lock file: a refused run leaves the folder as it was
    if not is_main():  # rank 0 holds the folder for the ranks; torchrun ends them all if it is refused
        yield
        return
    check_ours(expdir)  # rank 0 alone: the others could see its files half written
    expdir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(expdir / LOCK_FILE, timeout=0)  # one try: a held lock is a refusal, not a wait
    try:
        lock.acquire()
    except Timeout:
        raise ExperimentFolderError(
            f"{expdir}: another run is using this folder (it holds {expdir / LOCK_FILE}); "
            "wait for it to end, or give another --expdir"
        ) from None
    try:
        check_same_experiment(expdir, conf)  # again: another run may have claimed the folder before the lock
        atomic_write_text(expdir / CONF_FILE, dump_conf(conf))
        atomic_write_text(expdir / HASH_FILE, conf_hash(conf) + "\n")
        yield
    finally:
        lock.release()
