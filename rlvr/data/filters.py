"""Row filters from config strings such as ``level>=3`` or ``subject==Algebra``.

A filter names a field of :class:`~rlvr.data.problem.Problem` (``answer_type``, ``unit``, ...) or a
metadata key. ``==`` and ``!=`` compare as numbers when both sides are numbers, else as strings;
the ordering operators compare numbers only (as strings, ``"10" < "9"``), so their value must be a
number and a row whose field is not one is an error. A value starting with an operator character
(``level>>3``) is a typo, not a string to compare with. A row that lacks the field does not match;
a field that *no* row has is an error, because that is a typo which would otherwise silently empty
(or silently not filter) the dataset.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rlvr.data.problem import Problem
from rlvr.errors import RlvrError

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}
_ORDERING = frozenset({">=", "<=", ">", "<"})
_FILTER_RE = re.compile(r"^\s*([A-Za-z_][\w.-]*)\s*(==|!=|>=|<=|>|<)\s*(.*?)\s*$")


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


@dataclass(frozen=True)
class RowFilter:
    key: str
    op: str
    value: str

    def field_of(self, problem: Problem) -> Any:
        if self.key in problem.metadata:
            return problem.metadata[self.key]
        return None if self.key == "metadata" else getattr(problem, self.key, None)

    def matches(self, problem: Problem) -> bool:
        have = self.field_of(problem)
        if have is None:
            return False
        a, b = _number(have), _number(self.value)
        if a is not None and b is not None:
            return _OPS[self.op](a, b)
        if self.op in _ORDERING:
            raise RlvrError(f"filter '{self}': problem {problem.id} has {self.key}={have!r}, not a number")
        return _OPS[self.op](str(have), self.value)

    def __str__(self) -> str:
        return f"{self.key}{self.op}{self.value}"


def parse_filter(text: str) -> RowFilter:
    """``"level>=3"`` -> RowFilter; ValueError naming the filter when it does not parse."""
    m = _FILTER_RE.match(text)
    if not m:
        raise ValueError(f"filter '{text}' must look like FIELD OP VALUE with OP one of {' '.join(_OPS)} (e.g. level>=3)")
    key, op, value = m.groups()
    if not value or value[0] in "=<>!":
        raise ValueError(f"filter '{text}': expected one operator ({' '.join(_OPS)}) then a value, e.g. level>=3")
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]
    if op in _ORDERING and _number(value) is None:
        raise ValueError(f"filter '{text}': {op} compares numbers, got {value!r}")
    return RowFilter(key, op, value)


def parse_filters(texts: Sequence[str]) -> list[RowFilter]:
    """Every filter of a config's ``filters`` list (its load-time check)."""
    return [parse_filter(t) for t in texts]


def apply_filters(problems: Sequence[Problem], filters: Sequence[str], dataset: str) -> list[Problem]:
    kept = list(problems)
    for text in filters:
        f = parse_filter(text)
        if kept and all(f.field_of(p) is None for p in kept):
            keys = sorted({k for p in kept for k in p.metadata} | {"answer_type", "unit", "id", "answer"})
            raise RlvrError(f"filter '{text}' on dataset '{dataset}': no row has field '{f.key}' (fields: {', '.join(keys)})")
        kept = [p for p in kept if f.matches(p)]
    return kept
