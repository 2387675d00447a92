"""Typed configs loaded from YAML with dotted command-line overrides.

Every command's config is a tree of dataclasses. Each field carries a one-line ``help`` in its
metadata (shown by ``--print-config`` and ``rlvr <cmd> --help-config``). Loading is strict: an unknown
key, a wrong type, or a value outside a ``Literal`` is a :class:`ConfigError` naming the dotted key,
because a silently ignored typo (``optim.lr`` spelled ``optim.lrr``) wastes a whole run.

Every value is validated when the config loads, never deep in a run: besides its type, a field may
declare bounds next to its default (``field(1e-4, help=..., gt=0)``), registry ``choices`` (the names a
registry knows, plug-ins included) or a ``check`` function; float fields must be finite unless they
say ``finite=False``. The bounds show in ``--help-config``. A section's ``validate()`` then checks
what relates several of its fields. YAML files refuse duplicate keys (the second would silently win).

Resolution order: dataclass defaults < the YAML file (``--config``: a path, or the name of a
built-in under ``rlvr/configs/<command>/``) < dotted overrides (``optim.lr=3e-4``), whose values are
parsed as YAML scalars.
"""

from __future__ import annotations

import dataclasses
import math
import operator
import types
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

import yaml

from rlvr.errors import ConfigError, RlvrError

T = TypeVar("T")

MOVED_KEYS: dict[str, str] = {
    "rollout.verifier_workers": "verifier.workers",  # train
    "rollout.verifier_timeout": "verifier.timeout",
    "verifier_workers": "verifier.workers",  # eval
    "verifier_timeout": "verifier.timeout",
    "heldout.verifier_workers": "verifier.workers",  # sft
}
"""Dotted keys that moved: an unknown-key error for an old key names its new place, which a
spelling guess cannot find in another section."""


def field(
    default: Any = dataclasses.MISSING,
    *,
    help: str,  # noqa: A002
    default_factory: Any = dataclasses.MISSING,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    finite: bool = True,
    choices: Any = None,
    check: Callable[[Any], None] | None = None,
) -> Any:
    """A dataclass field with a one-line description (required: every knob is documented).

    ``ge``/``gt``/``le``/``lt`` bound a number; ``finite=False`` lets a float be nan or inf;
    ``choices`` is a :class:`~rlvr.registry.Registry` (or a function returning one, for a registry
    defined after the config class) whose names the value must be; ``check(value)`` raises
    ``ValueError`` or :class:`RlvrError` for anything else (a port, a path, a template file).
    ``None`` values of optional fields are not checked.
    """
    rule = Rule(ge=ge, gt=gt, le=le, lt=lt, finite=finite, choices=choices, check=check)
    kwargs: dict[str, Any] = {"metadata": {"help": help, "rule": rule}}
    if default_factory is not dataclasses.MISSING:
        kwargs["default_factory"] = default_factory
    else:
        kwargs["default"] = default
    return dataclasses.field(**kwargs)


@dataclasses.dataclass(frozen=True)
class Rule:
    """What a field's value must satisfy beyond its type (see :func:`field`)."""

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    finite: bool = True
    choices: Any = None
    check: Callable[[Any], None] | None = None

    def _bounds(self) -> list[tuple[str, float, Callable[[float, float], bool]]]:
        ops = ((">=", self.ge, operator.ge), (">", self.gt, operator.gt), ("<=", self.le, operator.le), ("<", self.lt, operator.lt))
        return [(sym, bound, op) for sym, bound, op in ops if bound is not None]

    def registry(self) -> Any:
        return self.choices if hasattr(self.choices, "names") else self.choices()

    def describe(self) -> str:
        """The documented range, as ``--help-config`` shows it (e.g. ``> 0``, ``> 0 and <= 1``)."""
        parts = [" and ".join(f"{sym} {bound:g}" for sym, bound, _ in self._bounds())] if self._bounds() else []
        if self.choices is not None:
            parts.append("one of: " + ", ".join(self.registry().names()))
        return ", ".join(parts)

    def apply(self, value: Any, key: str) -> None:
        """Raise :class:`ConfigError` naming ``key`` when ``value`` breaks the rule."""
        if value is None:
            return
        if isinstance(value, float) and self.finite and not math.isfinite(value):
            raise ConfigError(f"{key}: must be a finite number, got {value}")
        for _sym, bound, op in self._bounds():
            if isinstance(value, (int, float)) and not isinstance(value, bool) and not op(value, bound):
                raise ConfigError(f"{key}: must be {self.describe()}, got {value!r}")
        if self.choices is not None:
            registry = self.registry()
            if value not in registry:
                raise ConfigError(f"{key}: unknown {registry.kind} {value!r} (known: {', '.join(registry.names())})")
        if self.check is not None:
            try:
                self.check(value)
            except (ValueError, RlvrError) as e:
                raise ConfigError(f"{key}: {e}") from None


NO_RULE = Rule()


def check_port(port: int) -> None:
    """A TCP port to listen on or connect to (0 would make the OS pick one nobody can be told)."""
    if not 1 <= port <= 65535:
        raise ValueError(f"port must be between 1 and 65535, got {port}")


def check_existing_path(path: str) -> None:
    if not Path(path).expanduser().exists():
        raise ValueError(f"no such file or directory: {path}")


def section(cls: type, help: str) -> Any:  # noqa: A002
    """A nested config section, defaulting to its class's defaults."""
    return field(default_factory=cls, help=help)


# ----------------------------------------------------------------------------- type checking


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Literal:
        return " | ".join(repr(a) for a in get_args(tp))
    if origin in (Union, types.UnionType):
        return " | ".join(_type_name(a) for a in get_args(tp))
    if origin is list:
        (inner,) = get_args(tp) or (Any,)
        return f"list[{_type_name(inner)}]"
    if origin is dict:
        return "mapping"
    if tp is type(None):
        return "null"
    return getattr(tp, "__name__", str(tp))


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """Check ``value`` against annotation ``tp``; return it (ints widen to float). Raise naming ``key``."""
    origin = get_origin(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        errors = []
        for arg in get_args(tp):
            try:
                return _coerce(value, arg, key)
            except ConfigError as e:
                errors.append(e)
        raise ConfigError(f"{key}: expected {_type_name(tp)}, got {value!r}")
    if origin is Literal:
        if value in get_args(tp):
            return value
        raise ConfigError(f"{key}: expected one of {_type_name(tp)}, got {value!r}")
    if tp is type(None):
        if value is None:
            return None
        raise ConfigError(f"{key}: expected null, got {value!r}")
    if origin is list:
        (inner,) = get_args(tp) or (Any,)
        if isinstance(value, str) and inner is not str and "," in value:
            value = [safe_load(v) for v in value.split(",")]
        if not isinstance(value, (list, tuple)):
            value = [value] if isinstance(value, (str, int, float)) else value
        if not isinstance(value, list):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
        return [_coerce(v, inner, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping, got {value!r}")
        return dict(value)
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping (section {tp.__name__}), got {value!r}")
        return from_dict(tp, value, prefix=key)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{key}: expected true or false, got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ConfigError(f"{key}: expected an integer, got {value!r}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML 1.1 reads "3e-4" (no dot) as a string
            try:
                return float(value)
            except ValueError:
                pass
        raise ConfigError(f"{key}: expected a number, got {value!r}")
    if tp is str:
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        raise ConfigError(f"{key}: expected a string, got {value!r}")
    raise ConfigError(f"{key}: unsupported config type {tp!r}")  # a bug in a config class


def from_dict(cls: type[T], data: dict[str, Any], prefix: str = "") -> T:
    """Build dataclass ``cls`` from a mapping, strictly: unknown keys and bad types are errors."""
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix or 'config'}: expected a mapping, got {data!r}")
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in data.items():
        dotted = f"{prefix}.{key}" if prefix else str(key)
        if key not in fields:
            close = _closest(str(key), list(fields))
            hint = f" (did you mean {prefix + '.' if prefix else ''}{close}?)" if close else ""
            if dotted in MOVED_KEYS:
                hint = f" (moved: write {MOVED_KEYS[dotted]})"
            raise ConfigError(f"unknown config key '{dotted}'{hint}")
        kwargs[key] = _coerce(value, hints[key], dotted)
    try:
        obj = cls(**kwargs)
    except TypeError as e:  # a required field without default
        raise ConfigError(f"{prefix or 'config'}: {e}") from None
    for f in dataclasses.fields(cls):  # defaults too: a built-in config must obey its own rules
        f.metadata.get("rule", NO_RULE).apply(getattr(obj, f.name), f"{prefix}.{f.name}" if prefix else f.name)
    validate = getattr(obj, "validate", None)
    if validate is not None:
        try:
            validate()
        except ValueError as e:
            raise ConfigError(f"{prefix + ': ' if prefix else ''}{e}") from None
    return obj


def _closest(key: str, options: list[str]) -> str | None:
    import difflib

    match = difflib.get_close_matches(key, options, n=1, cutoff=0.6)
    return match[0] if match else None


def to_dict(cfg: Any) -> dict[str, Any]:
    """The config as plain data (what is written to ``config.yaml`` in each run directory)."""
    return dataclasses.asdict(cfg)


def to_yaml(cfg: Any) -> str:
    return yaml.safe_dump(to_dict(cfg), sort_keys=False, default_flow_style=False)


def describe(cls: type, prefix: str = "") -> list[tuple[str, str, str]]:
    """(dotted key, type, help) for every leaf field: the config's reference documentation."""
    rows = []
    hints = get_type_hints(cls)
    for f in dataclasses.fields(cls):
        key = f"{prefix}{f.name}"
        tp = hints[f.name]
        if dataclasses.is_dataclass(tp):
            rows.append((key, "section", f.metadata.get("help", "")))
            rows.extend(describe(tp, key + "."))
        else:
            rule = f.metadata.get("rule", NO_RULE).describe()
            rows.append((key, _type_name(tp) + (f" ({rule})" if rule else ""), f.metadata.get("help", "")))
    return rows


# ----------------------------------------------------------------------------- loading


def builtin_configs(command: str) -> list[str]:
    """Names of the configs shipped for ``command`` (``rlvr/configs/<command>/<name>.yaml``)."""
    root = resources.files("rlvr.configs") / command
    if not root.is_dir():
        return []
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".yaml"))


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Parse a YAML mapping with ``yaml.safe_load``; errors name the file and line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read config {path}: {e}") from None
    return parse_yaml(text, str(path))


class _UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key given twice in one mapping (plain YAML keeps the last,
    so ``lr: 1e-4`` further down a file would silently override the one the user is reading)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, (str, int, float, bool)) and key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key '{key}'", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def safe_load(text: str) -> Any:
    """``yaml.safe_load`` refusing duplicate keys: every YAML the user writes is read with this."""
    return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass


def parse_yaml(text: str, source: str) -> dict[str, Any]:
    try:
        data = safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"invalid YAML in {source}{where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping of keys, got {type(data).__name__}")
    return data


def _deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in top.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def resolve_config_source(command: str, config: str, _seen: tuple[str, ...] = ()) -> tuple[dict[str, Any], str]:
    """Read ``config`` as a file path, else as a built-in name for ``command``.

    A config may start from another with ``base: NAME_OR_PATH``; its own keys override the base's
    (mappings merge key by key), so a variant states only what differs.
    """
    if config in _seen:
        raise ConfigError(f"config '{config}' includes itself through 'base' ({' -> '.join(_seen + (config,))})")
    data, source = _read_config_source(command, config)
    base = data.pop("base", None)
    if base is not None:
        if not isinstance(base, str):
            raise ConfigError(f"{source}: 'base' must name a config, got {base!r}")
        base_data, _ = resolve_config_source(command, base, _seen + (config,))
        data = _deep_merge(base_data, data)
    return data, source


def _read_config_source(command: str, config: str) -> tuple[dict[str, Any], str]:
    path = Path(config)
    if path.suffix in (".yaml", ".yml") or path.exists():
        return read_yaml(path), str(path)
    resource = resources.files("rlvr.configs") / command / f"{config}.yaml"
    if resource.is_file():
        return parse_yaml(resource.read_text(encoding="utf-8"), f"built-in config '{config}'"), f"builtin:{config}"
    names = ", ".join(builtin_configs(command)) or "none"
    raise ConfigError(f"no config file '{config}' and no built-in config of that name for '{command}' (built-ins: {names})")


def apply_override(data: dict[str, Any], override: str) -> None:
    """Apply one ``a.b.c=value`` override to nested ``data`` (value parsed as a YAML scalar)."""
    if "=" not in override:
        raise ConfigError(f"override '{override}' must look like key=value (e.g. optim.lr=3e-4)")
    key, raw = override.split("=", 1)
    key = key.strip().lstrip("-")
    if not key:
        raise ConfigError(f"override '{override}' has an empty key")
    try:
        value = safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    node = data
    parts = key.split(".")
    for part in parts[:-1]:
        nxt = node.get(part)
        if nxt is None:
            nxt = node[part] = {}
        if not isinstance(nxt, dict):
            raise ConfigError(f"override '{key}': '{part}' is not a section")
        node = nxt
    node[parts[-1]] = value


def load_config(cls: type[T], command: str, config: str | None, overrides: list[str] | tuple[str, ...] = ()) -> T:
    """Defaults, then the YAML ``config`` (path or built-in name), then dotted ``overrides``."""
    data: dict[str, Any] = {}
    if config:
        data, _ = resolve_config_source(command, config)
    for override in overrides:
        apply_override(data, override)
    return from_dict(cls, data)


def save_config(cfg: Any, path: str | Path) -> None:
    from rlvr.io import atomic_write_text

    atomic_write_text(path, to_yaml(cfg))
