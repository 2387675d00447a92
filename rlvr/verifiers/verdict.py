"""The request and result types of the verifier, and its vocabulary of reasons."""

from __future__ import annotations

from dataclasses import dataclass

# Machine-readable reasons. A trainer can count them to see *why* rewards are zero.
EQUAL = "equal"
NO_ANSWER = "no-answer"  # no final answer could be found in the response
AMBIGUOUS = "ambiguous"  # the response ends with several different final answers
MISMATCH = "mismatch"
UNIT_MISMATCH = "unit-mismatch"  # quantities of different dimensions (or a unit the key lacks)
UNKNOWN_UNIT = "unknown-unit"  # a number followed by a word that is no unit (9.8 foo for 9.8 m/s^2)
UNPARSABLE = "unparsable"  # the extracted answer is not of the key's type
TOO_LARGE = "too-large"  # a value beyond the evaluator's bounds (9^{9^{9^9}})
TIMEOUT = "timeout"
INVALID_INPUT = "invalid-input"  # NUL bytes, invalid UTF-8, wrong types
BAD_KEY = "bad-key"  # the answer key itself cannot be read as its type
NUMBERS_MISUSED = "numbers-misused"  # countdown: a number not given, or used twice
ERROR = "error"  # a bug in the verifier; always reported with correct=False


@dataclass(frozen=True)
class Verdict:
    correct: bool
    extracted: str | None
    reason: str


MAX_SIG_FIGS = 15  # a float holds 15-17 significant digits; more cannot be compared


def sig_figs_problem(value: object) -> str | None:
    """Why ``value`` is not a valid ``sig_figs`` (None when it is): the one check that requests,
    problems and dataset configs share."""
    if value is None or isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_SIG_FIGS:
        return None
    return f"sig_figs must be an integer from 1 to {MAX_SIG_FIGS}, got {value!r}"


@dataclass
class VerifyRequest:
    """One (response, answer key) pair with the per-row options a dataset may carry."""

    response: str
    answer: str
    answer_type: str | None = None  # None or "auto": inferred from the key
    rel_tol: float | None = None
    abs_tol: float | None = None
    unit: str | None = None  # the key's unit when the dataset stores it apart from the number
    choices: list[str] | None = None  # option texts, "A" first, for multiple choice
    numbers: list[int] | None = None  # countdown: the numbers that may be used
    marker: str | None = None  # extraction style the prompt declared; None tries all
    fallback: bool = True  # use the last number when no marker is found
    sig_figs: int | None = None  # compare both values rounded to this many significant figures

    def __post_init__(self) -> None:
        problem = sig_figs_problem(self.sig_figs)
        if problem is not None:
            raise ValueError(problem)
