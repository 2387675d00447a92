"""The typed problem record every dataset produces and every verifier consumes.

A dataset, not the verifier, knows how its answers are meant to be judged (SciBench grades within
5%, JEEBench letters are multiple choice, an arithmetic key is an integer), so that knowledge travels
with each problem as typed fields and reaches :func:`rlvr.verifiers.verify` as keyword arguments.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

_VERIFY_FIELDS = ("answer_type", "rel_tol", "abs_tol", "unit", "choices", "numbers", "sig_figs")


@dataclass(frozen=True)
class Problem:
    """One question with its answer key.

    ``prompt`` is the bare question (a prompt template wraps it); ``answer`` is the key as a string
    ("18", "\\frac{1}{2}", "B", "2.9 \\times 10^{-11}"), or None for a problem without one (a file
    loaded with ``require_answer: false``: only a learned reward can score it); ``unit`` is the key's unit when it is stated
    separately from the number; ``choices`` are the option letters (or texts) of a multiple-choice
    row; ``numbers`` are the usable numbers of a Countdown puzzle; ``solution`` is a worked solution
    (SFT targets, few-shot examples); ``metadata`` is free (level, subject, source, language, ...);
    ``sig_figs`` asks for the comparison at that many significant figures instead of a tolerance,
    as physics graders do (see :mod:`rlvr.verifiers.numeric`).
    """

    id: str
    prompt: str
    answer: str | None
    answer_type: str | None = None
    unit: str | None = None
    rel_tol: float | None = None
    abs_tol: float | None = None
    choices: tuple[str, ...] | list[str] | None = None
    solution: str | None = None
    numbers: tuple[int, ...] | list[int] | None = None
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)
    sig_figs: int | None = None

    def __post_init__(self) -> None:
        if self.answer_type is not None:
            # Lazily: importing the verifiers costs 0.1 s, which a Problem without a type never pays.
            from rlvr.verifiers import ANSWER_TYPES

            if self.answer_type not in ANSWER_TYPES:  # the registry: plug-in types are valid too
                known = ", ".join(ANSWER_TYPES.names())
                raise ValueError(f"problem {self.id}: answer_type: unknown answer type {self.answer_type!r} (known: {known})")
        if self.sig_figs is not None:
            from rlvr.verifiers.verdict import sig_figs_problem

            problem = sig_figs_problem(self.sig_figs)
            if problem is not None:
                raise ValueError(f"problem {self.id}: {problem}")

    def verify_kwargs(self) -> dict[str, Any]:
        """The typed fields as keyword arguments of ``rlvr.verifiers.verify`` (only those that are set)."""
        out: dict[str, Any] = {}
        for name in _VERIFY_FIELDS:
            value = getattr(self, name)
            if value is not None:
                out[name] = list(value) if isinstance(value, tuple) else value
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data (tuples become lists)."""
        d = dataclasses.asdict(self)
        for key in ("choices", "numbers"):
            if d[key] is not None:
                d[key] = list(d[key])
        return d
