"""Named registries with entry-point plug-ins.

Advantage estimators, policy losses, datasets, generators and answer types are looked up by the
name a config gives, never through if/elif chains on strings. A third-party package adds one by
declaring an entry point in its own ``pyproject.toml``::

    [project.entry-points."rlvr.datasets"]
    my-physics = "my_pkg.data:load_my_physics"

Entry points are loaded lazily, the first time a name is not found among the built-ins. A
built-in can be lazy too (``modules``: name -> module that registers it on import), so the
registry's owner never imports its implementations: they import the registry, one way, and a heavy
or order-sensitive import (vLLM must follow ``rlvr.env.setup()``) happens only when the name is used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from rlvr.errors import RlvrError

T = TypeVar("T")


class Registry(Generic[T]):
    """A mapping from names to objects (functions or classes) of one kind."""

    def __init__(self, kind: str, entry_point_group: str | None = None, modules: dict[str, str] | None = None):
        self.kind = kind  # used in error messages: "unknown advantage estimator 'grpoo'"
        self.group = entry_point_group
        self._items: dict[str, T] = {}
        self._modules = dict(modules or {})  # lazy built-ins: name -> module registering it on import
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
        if name not in self._items and name in self._modules:
            importlib.import_module(self._modules[name])
            if name not in self._items:
                raise RlvrError(f"{self.kind} '{name}': module {self._modules[name]} did not register it")
        if name not in self._items:
            self._load_plugins()
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(sorted({*self._items, *self._modules})) or "none"
            raise RlvrError(f"unknown {self.kind} '{name}' (known: {known})") from None

    def names(self) -> list[str]:
        self._load_plugins()
        return sorted({*self._items, *self._modules})

    def __contains__(self, name: str) -> bool:
        self._load_plugins()
        return name in self._items or name in self._modules

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
