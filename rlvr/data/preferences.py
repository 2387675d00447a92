"""Preference data: what ``rlvr rm`` and ``rlvr dpo`` learn from.

Two shapes, one JSONL row each:

* **Pairs** (reward models, DPO, IPO, SimPO): ``{"prompt": ..., "chosen": ..., "rejected": ...}``,
  optionally ``"id"`` and ``"margin"`` (how much better ``chosen`` is, for a margin loss).
  A **ranking** row ``{"prompt": ..., "ranked": [best, ..., worst]}`` becomes all its
  ``K (K - 1) / 2`` pairs, as InstructGPT turns a K-wise comparison into pairs.
* **Labels** (KTO): ``{"prompt": ..., "completion": ..., "label": true|false}``; a pairs file
  also gives labels (each ``chosen`` good, each ``rejected`` bad).

``prompt`` is the whole text the model conditions on (already rendered by a template, as
``rlvr data pairs`` writes it), and a completion is the text that follows it: the trainer tokenizes
the two separately and concatenates the ids, so the boundary never moves.

A bad row is one line naming ``file:line`` and the key (:class:`~rlvr.errors.RlvrError`).
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rlvr.errors import RlvrError
from rlvr.io import iter_jsonl_objects


@dataclass(frozen=True)
class PreferencePair:
    """``chosen`` is preferred to ``rejected`` as a continuation of ``prompt``."""

    prompt: str
    chosen: str
    rejected: str
    id: str = ""  # the prompt's id (pairs of one prompt share it): held-out splits go by prompt
    margin: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True)
class LabeledCompletion:
    """An unpaired judgement: ``completion`` is good (``label`` true) or bad as a continuation of ``prompt``."""

    prompt: str
    completion: str
    label: bool
    id: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _text(row: dict[str, Any], key: str, where: str) -> str:
    value = row.get(key)
    if not isinstance(value, str):
        what = "missing" if value is None else f"not a string ({type(value).__name__})"
        raise RlvrError(f"{where}: '{key}' is {what}")
    return value


def _rows(path: str | Path) -> Any:
    path = Path(path)
    if not path.is_file():
        raise RlvrError(f"{path}: no such file")
    for line, row in iter_jsonl_objects(path):
        where = f"{path}:{line}"
        if not isinstance(row, dict):
            raise RlvrError(f"{where}: expected a JSON object, got {type(row).__name__}")
        yield where, row


def pairs_of_row(row: dict[str, Any], where: str) -> list[PreferencePair]:
    """The pairs of one JSONL row: a pair row, or every ordered pair of a ranking row."""
    prompt = _text(row, "prompt", where)
    pid = str(row.get("id", ""))
    if "ranked" in row:
        ranked = row["ranked"]
        if not isinstance(ranked, list) or len(ranked) < 2 or not all(isinstance(x, str) for x in ranked):
            raise RlvrError(f"{where}: 'ranked' must be a list of at least two strings, best first")
        return [PreferencePair(prompt, a, b, pid) for a, b in itertools.combinations(ranked, 2)]
    margin = row.get("margin")
    if margin is not None and (not isinstance(margin, (int, float)) or isinstance(margin, bool)):
        raise RlvrError(f"{where}: 'margin' must be a number, got {margin!r}")
    return [PreferencePair(prompt, _text(row, "chosen", where), _text(row, "rejected", where), pid, None if margin is None else float(margin))]


def load_pairs(path: str | Path) -> list[PreferencePair]:
    """Every pair of a pairs/rankings JSONL file (see the module docstring)."""
    out = [p for where, row in _rows(path) for p in pairs_of_row(row, where)]
    if not out:
        raise RlvrError(f"{path}: no preference pairs")
    return out


def load_labels(path: str | Path) -> list[LabeledCompletion]:
    """Labelled completions of a labels JSONL file; rows of a pairs file count too (chosen good, rejected bad)."""
    out: list[LabeledCompletion] = []
    for where, row in _rows(path):
        if "completion" in row or "label" in row:
            label = row.get("label")
            if not isinstance(label, bool):
                raise RlvrError(f"{where}: 'label' must be true or false, got {label!r}")
            out.append(LabeledCompletion(_text(row, "prompt", where), _text(row, "completion", where), label, str(row.get("id", ""))))
        else:
            for p in pairs_of_row(row, where):
                out += [LabeledCompletion(p.prompt, p.chosen, True, p.id), LabeledCompletion(p.prompt, p.rejected, False, p.id)]
    if not out:
        raise RlvrError(f"{path}: no labelled completions")
    return out
