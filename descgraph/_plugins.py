"""Loads algorithms that register themselves through the `descgraph.algos` entry-point group: whole, or
only their conf schemas."""

from __future__ import annotations

import importlib.util
import sys
from importlib.metadata import entry_points
from pathlib import Path

_loaded = False


def load_plugins() -> None:
    """Import every `descgraph.algos` entry point once, so their ops, builders and runners register."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for ep in entry_points(group="descgraph.algos"):
        ep.load()


_confs_loaded = False
CONF_MODULE = "conf"  # an algorithm package's torch-free module of conf schemas (`algos.darts.conf`)


def load_conf_plugins() -> None:
    """Import the conf schemas of every `descgraph.algos` entry point once, without the algorithms.

    An entry point `algos.darts` has its schemas in `algos.darts.conf`, which registers them; that module
    is run on its own, not through the package's `__init__`, so that reading a conf never imports torch.
    An algorithm package without such a module is imported whole.
    """
    global _confs_loaded
    if _confs_loaded:
        return
    _confs_loaded = True
    for ep in entry_points(group="descgraph.algos"):
        if not _import_conf_module(ep.value.partition(":")[0]):
            ep.load()


def _import_conf_module(package: str) -> bool:
    """Run `<package>.conf` (once) without importing `package` itself; False if it has none."""
    name = f"{package}.{CONF_MODULE}"
    if name in sys.modules:
        return True
    spec = importlib.util.find_spec(package)  # imports the packages above `package`, not `package`
    locations = spec.submodule_search_locations if spec else None
    path = Path(locations[0]) / f"{CONF_MODULE}.py" if locations else None
    if path is None or not path.is_file():
        return False
    module_spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    try:
        module_spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return True
