"""``DatasetConfig``: the config section that selects and shapes a dataset.

The trainer has one for training and one for evaluation; ``rlvr data`` and the SFT stage use the
same class, so a user's own file works everywhere with the same keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from rlvr.config import check_existing_path, field
from rlvr.data.filters import parse_filters
from rlvr.data.registry import DATASETS

FILE_FORMATS = ("jsonl", "csv", "parquet", "hf")
"""Generic loaders: ``name`` set to one of these reads ``path`` with the field mapping below."""


def _answer_types() -> Any:
    from rlvr.verifiers import ANSWER_TYPES  # lazily: importing the verifiers costs 0.1 s

    return ANSWER_TYPES


def _check_sig_figs(value: int) -> None:
    from rlvr.verifiers.verdict import sig_figs_problem  # lazily: importing the verifiers costs 0.1 s

    problem = sig_figs_problem(value)
    if problem is not None:
        raise ValueError(problem)


@dataclass
class DatasetConfig:
    name: str = field(
        "arith", choices=DATASETS, help="registered dataset name (see `rlvr data list`), or jsonl/csv/parquet/hf for a file of your own"
    )
    split: str = field("train", help="split to load (built-ins: see `rlvr data list`; hf: any split name of the dataset)")
    path: str | None = field(None, help="file (jsonl/csv/parquet), or a local dir / hub id (hf); required by the generic loaders")
    question_field: str = field("question", help="row field holding the question text")
    answer_field: str = field("answer", help="row field holding the answer key (or the text the key is extracted from)")
    require_answer: bool = field(
        True,
        help="rows must have an answer key; false: rows without one are kept unkeyed, for training with a learned reward "
        "(reward_model, judge, or a composite whose verifier is gated when: keyed); evaluation always needs keys",
    )
    answer_from: Literal["field", "boxed", "gsm8k"] = field(
        "field",
        help="field: the key is the answer field as is; boxed: the last \\boxed{} of the solution (else answer) field; "
        "gsm8k: the text after '####' of the solution (else answer) field",
    )
    solution_field: str | None = field("solution", help="row field holding a worked solution (optional in each row)")
    id_field: str | None = field("id", help="row field holding a unique id (rows without one get FILE:LINE)")
    unit_field: str | None = field("unit", help="row field holding the answer's unit (optional in each row)")
    answer_type: str | None = field(
        None, choices=_answer_types, help="force this answer type on every row (null: the dataset's own typing, auto for files)"
    )
    rel_tol: float | None = field(None, ge=0, help="force this relative tolerance on every row (null: the dataset's own)")
    abs_tol: float | None = field(None, ge=0, help="force this absolute tolerance on every row (null: the dataset's own)")
    sig_figs: int | None = field(
        None,
        check=_check_sig_figs,
        help="compare answers at this many significant figures on rows that set none themselves, instead of a tolerance "
        "(physics grading; a row's own sig_figs wins)",
    )
    sig_figs_field: str | None = field("sig_figs", help="row field holding a row's own significant figures (optional in each row)")
    filters: list[str] = field(
        default_factory=list, check=parse_filters, help="keep rows matching all of these, e.g. ['level>=3', 'subject==Algebra'] (fields or metadata)"
    )
    shuffle: bool = field(False, help="shuffle the rows (after filtering, before limit) with `seed`")
    seed: int = field(0, help="seed for shuffle and sub-sampling")
    limit: int | None = field(None, ge=1, help="keep at most this many rows (a random subset when shuffle is on, else the first ones)")
    max_row_bytes: int = field(
        1 << 20, ge=1, help="a row (JSONL line, CSV record) longer than this is a bad row naming file:line, not a giant prompt deep in training"
    )
    on_bad_row: Literal["error", "skip"] = field(
        "error", help="error: stop at the first bad row (naming file:line); skip: drop it and warn with a count"
    )
    max_prompt_tokens: int | None = field(
        None, ge=1, help="longest prompt in tokens, rendered with its template (null: what fits, the generator's context minus max_tokens)"
    )
    on_overlong: Literal["error", "skip", "truncate_left"] = field(
        "error", help="a longer prompt: error (naming the row and the limit), skip it (reporting the count), or keep its last tokens"
    )
    options: dict[str, Any] = field(
        default_factory=dict, help="dataset-specific knobs, e.g. {level: hard} for arith, {language: en} for abench-physics"
    )

    def validate(self) -> None:
        if self.name in FILE_FORMATS and not self.path:
            raise ValueError(f"dataset '{self.name}' reads a file: set path")
        if self.path and self.name in FILE_FORMATS and self.name != "hf":  # hf may name a hub dataset
            try:
                check_existing_path(self.path)
            except ValueError as e:
                raise ValueError(f"path: {e}") from None
        if self.sig_figs is not None and (self.rel_tol is not None or self.abs_tol is not None):
            raise ValueError("set sig_figs or rel_tol/abs_tol, not both: significant figures replace the tolerance")
