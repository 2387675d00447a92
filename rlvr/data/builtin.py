"""The answer-key benchmarks shipped inside the package (``rlvr/data/assets/*.jsonl.gz``).

Each is registered as a dataset whose converter types its rows so the verifier judges them the way
the benchmark's own scorer does:

* ``gsm8k`` (train/test): integer keys, ``numeric``; solutions get back GSM8K's ``#### N`` last line
  (the shared copy stored it only as the key), so SFT on them teaches the GSM8K answer format.
* ``math`` (train), ``math500`` (test): free-form LaTeX keys, type auto (numbers, expressions,
  intervals and text all occur); solutions box their answer.
* ``aime2024``, ``aime2025``, ``amc2023`` (test): integer keys, ``numeric``.
* ``scibench-physics`` (test): SciBench rows whose domain is physics; ``rel_tol`` 0.05 as in
  SciBench's grading. A power of ten in the unit (``$10^3 \\mathrm{~kg}/\\mathrm{m}^3$``) is folded
  into the key (``2.0 \\times 10^{3}``) and the unit is kept as plain text (``kg/m^3``), so key and
  unit together are the quantity. Rows with a unit are ``quantity``, the others ``numeric``.
* ``theoremqa-physics`` (test): ``numeric`` with ``rel_tol`` 0.04 (TheoremQA's scorer accepts floats
  within 4%); the two list answers are type auto. Its "solutions" are file names of images, dropped.
* ``jeebench-physics`` (test): MCQ and multi-select MCQ rows are ``choice`` over A-D (the options are
  in the question text); Numeric rows ``numeric`` with ``abs_tol`` 0.01 (answers are asked to two
  decimals), Integer rows exact.
* ``abench-physics`` (test): ``rel_tol`` 0.01 (ABench grades within 1%); ``options: {language:
  en|zh|all}``. Its unit column was parsed from the question and is dropped where it is not a unit.
* ``champ`` (test): CHAMP competition math; keys are often free text ("C(10, 5), or equivalently
  252"), so only a lenient or model-based judge can use them: type auto, kept for completeness.

Provenance and licenses: ``assets/SOURCES.json`` and ``assets/LICENSES.md``.
"""

from __future__ import annotations

import functools
import gzip
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from typing import Any

from rlvr.data.config import DatasetConfig
from rlvr.data.problem import Problem
from rlvr.data.registry import DATASETS, Dataset
from rlvr.data.rows import BadRowError, RawRow, rows_to_problems, warn_skipped
from rlvr.data.units import fold_power, plain_unit, split_power_of_ten
from rlvr.errors import RlvrError

ASSETS = "assets"
_NOT_METADATA = {"id", "question", "answer", "solution", "license", "unit"}


@functools.cache
def sources() -> dict[str, dict[str, Any]]:
    """SOURCES.json entries by file name (license, upstream source, sha256, rows)."""
    text = resources.files("rlvr.data").joinpath(ASSETS, "SOURCES.json").read_text(encoding="utf-8")
    return {entry["file"]: entry for entry in json.loads(text)["files"]}


@functools.cache
def _asset_rows(file: str) -> tuple[dict[str, Any], ...]:
    data = resources.files("rlvr.data").joinpath(ASSETS, f"{file}.gz").read_bytes()
    with gzip.open(io.BytesIO(data), "rt", encoding="utf-8") as f:
        return tuple(json.loads(line) for line in f if line.strip())


def asset_rows(file: str) -> Iterator[RawRow]:
    for i, row in enumerate(_asset_rows(file)):
        yield f"rlvr/data/assets/{file}.gz:{i + 1}", row


def _problem(row: dict[str, Any], **typed: Any) -> Problem:
    answer = str(typed.pop("answer", row["answer"]))
    fields: dict[str, Any] = {"solution": row.get("solution") or None, **typed}
    metadata = {k: v for k, v in row.items() if k not in _NOT_METADATA}
    return Problem(id=str(row["id"]), prompt=row["question"], answer=answer, metadata=metadata, **fields)


# ----------------------------------------------------------------------------- per-dataset typing


def _gsm8k(row: dict[str, Any], cfg: DatasetConfig) -> Problem:
    return _problem(row, answer_type="numeric", solution=f"{row['solution']}\n#### {row['answer']}")


def _auto(row: dict[str, Any], cfg: DatasetConfig) -> Problem:
    return _problem(row)


def _integer(row: dict[str, Any], cfg: DatasetConfig) -> Problem:
    return _problem(row, answer_type="numeric")


def _scibench(row: dict[str, Any], cfg: DatasetConfig) -> Problem:
    power, rest = split_power_of_ten(row.get("unit") or "")
    unit = plain_unit(rest)
    return _problem(row, answer=fold_power(row["answer"], power), unit=unit, answer_type="quantity" if unit else "numeric", rel_tol=0.05)


def _theoremqa(row: dict[str, Any], cfg: DatasetConfig) -> Problem:
    is_list = row.get("answer_type", "").startswith("list")
    return _problem(row, answer_type=None if is_list else "numeric", rel_tol=0.04, solution=None)


def _jeebench(row: dict[str, Any], cfg: DatasetConfig) -> Problem:
    kind = row.get("question_type", "")
    if kind.startswith("MCQ"):
        return _problem(row, answer_type="choice", choices=("A", "B", "C", "D"))
    if kind == "Numeric":
        return _problem(row, answer_type="numeric", abs_tol=0.01)
    if kind == "Integer":
        return _problem(row, answer_type="numeric")
    raise BadRowError(f"unknown JEEBench question_type {kind!r}")


def _abench(row: dict[str, Any], cfg: DatasetConfig) -> Problem:
    unit = plain_unit(row.get("unit"))
    return _problem(row, unit=unit, answer_type="quantity" if unit else "numeric", rel_tol=0.01)


def _abench_language(row: dict[str, Any], cfg: DatasetConfig) -> bool:
    language = cfg.options.get("language", "all")
    if language not in ("en", "zh", "all"):
        raise RlvrError(f"abench-physics: options.language must be en, zh or all, got {language!r}")
    return language == "all" or row.get("language") == language


# ----------------------------------------------------------------------------- registration


@dataclass(frozen=True)
class Shipped:
    """A benchmark file (or one per split) plus the converter that types its rows."""

    name: str
    files: dict[str, str]
    description: str
    convert: Callable[[dict[str, Any], DatasetConfig], Problem]
    keep: Callable[[dict[str, Any], DatasetConfig], bool] | None = None
    options: tuple[str, ...] = ()

    def load(self, cfg: DatasetConfig) -> list[Problem]:
        file = self.files[cfg.split]
        rows = ((w, r) for w, r in asset_rows(file) if self.keep is None or self.keep(r, cfg))  # type: ignore[arg-type]
        problems, bad = rows_to_problems(rows, lambda row, where: self.convert(row, cfg), cfg.on_bad_row)
        warn_skipped(bad, f"{self.name}[{cfg.split}]")
        return problems

    def dataset(self) -> Dataset:
        entries = [sources()[f] for f in dict.fromkeys(self.files.values())]
        return Dataset(
            load=self.load,
            splits=tuple(self.files),
            description=self.description,
            license="; ".join(dict.fromkeys(e["license"] for e in entries)),
            source="; ".join(dict.fromkeys(e["source"] for e in entries)),
            options=self.options,
        )


def _is_physics(row: dict[str, Any], cfg: DatasetConfig) -> bool:
    return row.get("domain") == "physics"


SHIPPED = [
    Shipped("gsm8k", {"train": "gsm8k_train.jsonl", "test": "gsm8k_test.jsonl"}, "GSM8K grade-school math word problems", _gsm8k),
    Shipped("math", {"train": "math_train.jsonl"}, "MATH competition problems (train: MATH minus MATH-500)", _auto),
    Shipped("math500", {"test": "math500_test.jsonl"}, "MATH-500 test problems", _auto),
    Shipped("aime2024", {"test": "aime2024.jsonl"}, "AIME 2024 I+II (with AoPS solutions)", _integer),
    Shipped("aime2025", {"test": "aime2025.jsonl"}, "AIME 2025 I+II", _integer),
    Shipped("amc2023", {"test": "amc2023.jsonl"}, "AMC 12 2023 with numeric answers", _integer),
    Shipped("scibench-physics", {"test": "scibench.jsonl"}, "SciBench physics textbook problems (5% tolerance)", _scibench, keep=_is_physics),
    Shipped("theoremqa-physics", {"test": "theoremqa_physics.jsonl"}, "TheoremQA physics (4% tolerance)", _theoremqa),
    Shipped("jeebench-physics", {"test": "jeebench_physics.jsonl"}, "JEE Advanced physics: numeric and multiple-choice", _jeebench),
    Shipped(
        "abench-physics",
        {"test": "abench_physics.jsonl"},
        "ABench physics, zh and en (1% tolerance)",
        _abench,
        keep=_abench_language,
        options=("language",),
    ),
    Shipped("champ", {"test": "champ.jsonl"}, "CHAMP competition math (free-text keys)", _auto),
]

for _shipped in SHIPPED:
    DATASETS.register(_shipped.name, _shipped.dataset())
