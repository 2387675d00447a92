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

Traits. A registry may declare a dataclass of *traits*: what an entry says about itself that its
callers must act on (an advantage estimator that needs critic values, a loss that needs the
sampling-time logprobs). An entry declares them where it is registered,
``ESTIMATORS.register("gae", needs_values=True)``, and callers ask ``ESTIMATORS.traits(name)``
instead of testing names, so a plug-in gets the same treatment as a built-in. A plug-in declares
traits by registering itself (with them) when its module is imported; one that does not gets the
defaults.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from typing import Any, Generic, TypeVar

from rlvr.errors import RlvrError

T = TypeVar("T")


class Registry(Generic[T]):
    """A mapping from names to objects (functions or classes) of one kind."""

    def __init__(self, kind: str, entry_point_group: str | None = None, traits: type | None = None, modules: dict[str, str] | None = None):
        self.kind = kind  # used in error messages: "unknown advantage estimator 'grpoo'"
        self.group = entry_point_group
        self.traits_type = traits  # a dataclass whose defaults fit an entry that declares nothing
        self._items: dict[str, T] = {}
        self._traits: dict[str, Any] = {}
        self._modules = dict(modules or {})  # lazy built-ins: name -> module registering it on import
        self._plugins_loaded = False

    def register(self, name: str, obj: T | None = None, *, replace: bool = False, **traits: Any) -> Callable[[T], T] | T:
        """Register ``obj`` under ``name``; without ``obj``, return a decorator. Keyword arguments
        are the entry's traits (fields of the registry's traits dataclass)."""
        if traits and self.traits_type is None:
            raise TypeError(f"{self.kind} entries declare no traits (got {', '.join(traits)})")
        declared = self.traits_type(**traits) if self.traits_type is not None else None

        def add(o: T) -> T:
            if name in self._items and not replace and self._items[name] is not o:
                raise ValueError(f"{self.kind} '{name}' is already registered")
            self._items[name] = o
            if declared is not None:
                self._traits[name] = declared
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

    def traits(self, name: str) -> Any:
        """The traits entry ``name`` declared (the defaults when it declared none)."""
        self.get(name)  # unknown names fail here, with the list of known ones
        if self.traits_type is None:
            raise TypeError(f"{self.kind} entries declare no traits")
        return self._traits.get(name) or self.traits_type()

    def names(self) -> list[str]:
        self._load_plugins()
        return sorted({*self._items, *self._modules})

    def __contains__(self, name: str) -> bool:
        # Plug-ins load only for a name the built-ins lack (as in get), so checking a built-in name
        # (every row of a dataset) costs a dict lookup and never fails on a broken plug-in.
        if name in self._items or name in self._modules:
            return True
        self._load_plugins()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
