"""Turning raw rows into :class:`Problem` records, and what makes a row bad.

Every loader (the user's JSONL/CSV/Parquet/HF files and the shipped datasets) goes through
:func:`rows_to_problems`, so all of them check rows the same way: a question and an answer key must
be present and be text (or a number, for the key), the key must parse for its declared type
(a ``numeric`` key must be a number, a ``choice`` key option letters), and ids must be unique. A bad
row is an :class:`RlvrError` naming ``file:line``; with ``on_bad_row: skip`` it is dropped and
counted in one warning. Nothing is dropped silently.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from rlvr.data.config import DatasetConfig
from rlvr.data.problem import Problem
from rlvr.errors import RlvrError

log = logging.getLogger("rlvr.data")


class BadRowError(ValueError):
    """Raised by a row converter; the message says what is wrong with the row."""


@dataclass(frozen=True)
class BadRow:
    where: str  # "path:line"
    reason: str


RawRow = tuple[str, "dict[str, Any] | BadRowError"]
"""(where, row): a reader yields the location of each row and the parsed row, or the parse error."""


# ----------------------------------------------------------------------------- answer keys


def key_problem(answer: str, answer_type: str | None) -> str | None:
    """Why ``answer`` is not a valid key of ``answer_type`` (None when it is): the answer type says."""
    if answer_type is None:
        return None
    from rlvr.verifiers import ANSWER_TYPES  # lazily: importing the verifiers costs 0.1 s

    problem = ANSWER_TYPES.get(answer_type).key_problem(answer)
    return None if problem is None else f"answer {answer!r} {problem} (answer_type {answer_type})"


def last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{...}`` (or ``\\fbox{...}``) in ``text``, braces matched.

    ``\\boxed 2`` (no braces; TeX then boxes the single next token, as two MATH solutions write it)
    counts too.
    """
    matches = list(re.finditer(r"\\(?:boxed|fbox)(?:\s*\{|\s+([^\s{$\\]))", text))
    if not matches:
        return None
    last = matches[-1]
    if last.group(1):
        return last.group(1)
    i = start = last.end()
    depth = 1
    while i < len(text):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[start:i].strip()
        i += 1
    return None


def gsm8k_key(text: str) -> str | None:
    """The text after the last ``####`` (GSM8K's final-answer line), commas dropped."""
    if "####" not in text:
        return None
    key = text.rsplit("####", 1)[1].strip().replace(",", "")
    return key or None


# ----------------------------------------------------------------------------- field mapping


def _text(row: dict[str, Any], key: str | None, what: str, *, required: bool, numbers_ok: bool = False) -> str | None:
    value = row.get(key) if key else None
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            present = ", ".join(sorted(map(str, row))) or "none"
            raise BadRowError(f"no {what} (field '{key}' missing or empty; fields present: {present})")
        return None
    if isinstance(value, str):
        return value.strip()
    if numbers_ok and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    kinds = "a string or number" if numbers_ok else "a string"
    raise BadRowError(f"{what} field '{key}' must be {kinds}, got {type(value).__name__} {value!r:.60}")


def mapped_problem(row: dict[str, Any], cfg: DatasetConfig, where: str) -> Problem:
    """Build a Problem from a user's row with the field mapping of ``cfg``."""
    question = _text(row, cfg.question_field, "question", required=True)
    assert question is not None  # required=True raised otherwise
    solution = _text(row, cfg.solution_field, "solution", required=False)
    if cfg.answer_from == "field":
        answer = _text(row, cfg.answer_field, "answer", required=cfg.require_answer, numbers_ok=True) or None
    else:
        source_field = cfg.solution_field if solution is not None else cfg.answer_field
        source = solution if solution is not None else _text(row, cfg.answer_field, "answer", required=cfg.require_answer)
        extract = last_boxed if cfg.answer_from == "boxed" else gsm8k_key
        answer = extract(source or "") or None
        if not answer and cfg.require_answer:
            marker = "\\boxed{}" if cfg.answer_from == "boxed" else "'#### N'"
            raise BadRowError(f"answer_from={cfg.answer_from}: no {marker} in field '{source_field}'")
        solution = source
    unit = _text(row, cfg.unit_field, "unit", required=False)
    rid = _text(row, cfg.id_field, "id", required=False, numbers_ok=True) or where
    sig_figs = _sig_figs(row, cfg.sig_figs_field)
    used = {cfg.question_field, cfg.answer_field, cfg.solution_field, cfg.id_field, cfg.unit_field, cfg.sig_figs_field}
    metadata = {k: v for k, v in row.items() if k not in used}
    return Problem(
        id=rid,
        prompt=question,
        answer=answer,
        answer_type=cfg.answer_type,
        unit=unit,
        rel_tol=cfg.rel_tol,
        abs_tol=cfg.abs_tol,
        solution=solution,
        metadata=metadata,
        sig_figs=sig_figs,
    )


def _sig_figs(row: dict[str, Any], key: str | None) -> int | None:
    """A row's own significant figures: an integer, or its digits as text (CSV cells are text)."""
    value = row.get(key) if key else None
    if value is None or isinstance(value, str) and not value.strip():
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    from rlvr.verifiers.verdict import sig_figs_problem

    problem = sig_figs_problem(value)
    if problem is not None:
        raise BadRowError(f"field '{key}': {problem}")
    return value


Converter = Callable[[dict[str, Any], str], Problem]


def rows_to_problems(rows: Iterable[RawRow], convert: Converter, on_bad_row: str) -> tuple[list[Problem], list[BadRow]]:
    """Convert rows; a bad row raises (``error``) or is collected (``skip``)."""
    problems: list[Problem] = []
    bad: list[BadRow] = []
    first_seen: dict[str, str] = {}
    for where, row in _checked(rows, convert, first_seen):
        if isinstance(row, BadRowError):
            if on_bad_row == "error":
                raise RlvrError(f"{where}: {row} (set on_bad_row: skip to drop such rows with a warning)")
            bad.append(BadRow(where, str(row)))
        else:
            problems.append(row)
    return problems, bad


def _checked(rows: Iterable[RawRow], convert: Converter, first_seen: dict[str, str]) -> Iterator[tuple[str, Problem | BadRowError]]:
    for where, row in rows:
        if isinstance(row, BadRowError):
            yield where, row
            continue
        try:
            problem = convert(row, where)
        except BadRowError as e:
            yield where, e
            continue
        reason = None if problem.answer is None else key_problem(problem.answer, problem.answer_type)
        if reason is None and problem.id in first_seen:
            reason = f"duplicate id {problem.id!r} (first at {first_seen[problem.id]})"
        if reason is not None:
            yield where, BadRowError(reason)
            continue
        first_seen[problem.id] = where
        yield where, problem


def warn_skipped(bad: list[BadRow], source: str) -> None:
    if bad:
        log.warning("%s: skipped %d bad row(s); first: %s: %s", source, len(bad), bad[0].where, bad[0].reason)
