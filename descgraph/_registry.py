"""A registry per kind (ops, builders, datasets, algorithms, ...), filled by a decorator."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from descgraph.errors import RegistryError

T = TypeVar("T")


def close_matches(name: str, names: list[str], n: int = 3) -> str:
    """Return a ' (did you mean: a, b?)' suffix for an unknown `name`, or '' if nothing is close."""
    matches = difflib.get_close_matches(name, names, n=n, cutoff=0.6)
    return f" (did you mean: {', '.join(matches)}?)" if matches else ""


class Registry(Generic[T]):
    """Maps names to objects of one kind; a duplicate name or an unknown name is an error.

    Args:
        kind: what the registry holds, used in error messages ("op", "dataset", ...).
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
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
        """Return the item registered under `name`, or raise an error listing close matches."""
        try:
            return self._items[name]
        except KeyError:
            hint = close_matches(name, list(self._items)) or f" (known: {', '.join(sorted(self._items))})"
            raise RegistryError(f"unknown {self.kind} {name!r}{hint}") from None

    def names(self) -> list[str]:
        """All registered names, sorted."""
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._items)
