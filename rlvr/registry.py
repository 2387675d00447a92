"""Named registries with entry-point plug-ins.

Advantage estimators, policy losses, datasets, generators and answer types are looked up by the
name a config gives, never through if/elif chains on strings. A third-party package adds one by
declaring an entry point in its own ``pyproject.toml``::

    [project.entry-points."rlvr.datasets"]
    my-physics = "my_pkg.data:load_my_physics"

Entry points are loaded lazily, the first time a name is not found among the built-ins.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from rlvr.errors import RlvrError

T = TypeVar("T")


class Registry(Generic[T]):
    """A mapping from names to objects (functions or classes) of one kind."""

    def __init__(self, kind: str, entry_point_group: str | None = None):
        self.kind = kind  # used in error messages: "unknown advantage estimator 'grpoo'"
        self.group = entry_point_group
        self._items: dict[str, T] = {}
        self._plugins_loaded = False

    def register(self, name: str, obj: T | None = None, *, replace: bool = False) -> Callable[[T], T] | T:
        """Register ``obj`` under ``name``; without ``obj``, return a decorator."""

        def add(o: T) -> T:
            if name in self._items and not replace and self._items[name] is not o:
                raise ValueError(f"{self.kind} '{name}' is already registered")
            self._items[name] = o
            return o

        return add(obj) if obj is not None else add

    def _load_plugins(self) -> None:
        if self._plugins_loaded or self.group is None:
            return
        self._plugins_loaded = True
        for ep in entry_points(group=self.group):
            if ep.name in self._items:
                continue
            try:
                self._items[ep.name] = ep.load()
            except Exception as e:  # noqa: BLE001 - a broken plug-in must not hide the built-ins
                raise RlvrError(f"{self.kind} plug-in '{ep.name}' ({ep.value}) failed to load: {e}") from e

    def get(self, name: str) -> T:
        if name not in self._items:
            self._load_plugins()
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(sorted(self._items)) or "none"
            raise RlvrError(f"unknown {self.kind} '{name}' (known: {known})") from None

    def names(self) -> list[str]:
        self._load_plugins()
        return sorted(self._items)

    def __contains__(self, name: str) -> bool:
        # Plug-ins load only for a name the built-ins lack (as in get), so checking a built-in name
        # (every row of a dataset) costs a dict lookup and never fails on a broken plug-in.
        if name not in self._items:
            self._load_plugins()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
