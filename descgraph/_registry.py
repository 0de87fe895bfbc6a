"""A registry per kind (ops, builders, datasets, algorithms, ...), filled by a decorator.

Algorithms outside descgraph register into these registries when their package is imported; a registry
imports them (the `descgraph.algos` entry points, once per process) the first time it is asked for a name
it does not hold, so every lookup sees the plugins without its caller loading them.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from descgraph.errors import RegistryError

T = TypeVar("T")


def load_all_plugins() -> None:
    """Import every algorithm plugin whole (their ops, builders, runners...)."""
    from descgraph import _plugins  # looked up at call time, so tests can stand in for it

    _plugins.load_plugins()


def load_conf_plugins() -> None:
    """Import only the algorithm plugins' torch-free conf modules (their conf schemas)."""
    from descgraph import _plugins

    _plugins.load_conf_plugins()


def close_matches(name: str, names: list[str], n: int = 3) -> str:
    """Return a ' (did you mean: a, b?)' suffix for an unknown `name`, or '' if nothing is close."""
    matches = difflib.get_close_matches(name, names, n=n, cutoff=0.6)
    return f" (did you mean: {', '.join(matches)}?)" if matches else ""


class Registry(Generic[T]):
    """Maps names to objects of one kind; a duplicate name or an unknown name is an error.

    Args:
        kind: what the registry holds, used in error messages ("op", "dataset", ...).
        load_plugins: what to import when a name is missing (every plugin whole, by default).
    """

    def __init__(self, kind: str, load_plugins: Callable[[], None] = load_all_plugins) -> None:
        self.kind = kind
        self._load_plugins = load_plugins
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator that registers its target under `name`."""

        def decorate(item: T) -> T:
            self.add(name, item)
            return item

        return decorate

    def add(self, name: str, item: T) -> None:
        """Register `item` under `name`; a name already taken is an error."""
        if name in self._items:
            raise RegistryError(f"{self.kind} {name!r} is already registered")
        self._items[name] = item

    def get(self, name: str) -> T:
        """Return the item registered under `name` (loading the plugins first if it is not there), or raise an
        error listing close matches."""
        if name not in self:
            hint = close_matches(name, list(self._items)) or f" (known: {', '.join(sorted(self._items))})"
            raise RegistryError(f"unknown {self.kind} {name!r}{hint}")
        return self._items[name]

    def names(self) -> list[str]:
        """All registered names, the plugins' included, sorted."""
        self._load_plugins()
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        """Whether `name` is registered (loading the plugins first if it is not)."""
        if name not in self._items:
            self._load_plugins()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._items)
