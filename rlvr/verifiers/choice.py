"""Multiple-choice answers: single letters and multi-select sets.

A key ``"CD"``, ``"C, D"``, ``"(C) and (D)"`` or ``"\\text{(C)}"`` is read as a set of letters, and
so is the response; the answer is correct only when the two sets are equal, so hedging
("A or B") and listing every option are wrong. With ``choices`` (option texts, "A" first) a
response may also give the option's text instead of its letter, and a key given as option text
is mapped to its letter.

Letters are taken only where they stand alone (``C``, ``(c)``, ``C.``); the article "A" and the
pronoun "I" followed by a lowercase word are prose, not options. All of this is regex work, so
choice answers are decided in the caller's process without a worker round trip.
"""

from __future__ import annotations

import re

from rlvr.verifiers import verdict as R
from rlvr.verifiers.answer_types import ANSWER_TYPES, AnswerType
from rlvr.verifiers.extraction import extract, is_bare
from rlvr.verifiers.normalization import clean_latex, compact, normalize_text
from rlvr.verifiers.numeric import plain_value
from rlvr.verifiers.verdict import Verdict, VerifyRequest

_RUN_RE = re.compile(r"^\s*\(?\s*([A-J]{1,10})\s*\)?\s*\.?\s*$")
_LOWER_RE = re.compile(r"^\s*\(\s*([a-j])\s*\)\s*\.?\s*$")
_LETTER_RE = re.compile(r"(?<![A-Za-z\\])\(?([A-J])\)?(?![A-Za-z])(?!\s+[a-z])")
_TAIL_RE = re.compile(
    r"(?:answer|option|choice)s?\s*(?:is|are|:)?\s*:?\s*\**\s*"
    r"(\(?[A-J]\)?(?:\s*(?:,|and|&)\s*\(?[A-J]\)?)*)(?![A-Za-z])",
    re.IGNORECASE,
)
_PAREN_RE = re.compile(r"\(([A-J])\)")


def letters_of(text: str, n_choices: int | None = None) -> frozenset[str]:
    """The set of option letters written in ``text`` (empty when there are none)."""
    text = clean_latex(text).replace("*", "")
    m = _RUN_RE.match(text)
    found = set(m.group(1)) if m else set()
    if not found:
        m = _LOWER_RE.match(text)
        found = {m.group(1).upper()} if m else set(_LETTER_RE.findall(text))
    if n_choices:
        allowed = {chr(ord("A") + i) for i in range(n_choices)}
        if not found <= allowed:
            return frozenset()
    return frozenset(found)


def _option_letter(text: str, choices: list[str]) -> str | None:
    """The letter of the option whose text ``text`` is, or None."""
    target_norm, target_compact, target_value = normalize_text(text), compact(text), plain_value(text)
    for i, choice in enumerate(choices):
        if compact(choice) == target_compact or normalize_text(choice) == target_norm:
            return chr(ord("A") + i)
        if target_value is not None and plain_value(choice) == target_value:
            return chr(ord("A") + i)
    return None


def _letters(text: str, choices: list[str] | None) -> frozenset[str]:
    letters = letters_of(text, len(choices) if choices else None)
    if not letters and choices:
        letter = _option_letter(text, choices)
        return frozenset(letter) if letter else frozenset()
    return letters


class ChoiceType(AnswerType):
    name = "choice"

    def extract(self, req: VerifyRequest) -> str | None:
        found = extract(req.response, req.marker, fallback=False)  # Ambiguous propagates
        if found is not None or not req.fallback:
            return found
        tail = req.response[-2000:]
        last = None
        for last in _TAIL_RE.finditer(tail):  # noqa: B007 - the last statement of the answer wins
            pass
        if last is not None:
            return last.group(1)
        parens = _PAREN_RE.findall(tail)
        return parens[-1] if parens and not is_bare(req.response) else None

    def quick(self, extracted: str, req: VerifyRequest) -> Verdict | None:
        key = _letters(req.answer, req.choices)
        if not key:
            return Verdict(False, extracted, R.BAD_KEY)
        got = _letters(extracted, req.choices)
        if not got:
            return Verdict(False, extracted, R.UNPARSABLE)
        ok = got == key
        return Verdict(ok, extracted, R.EQUAL if ok else R.MISMATCH)

    def check(self, extracted: str, req: VerifyRequest) -> Verdict:
        return self.quick(extracted, req)  # type: ignore[return-value]


ANSWER_TYPES.register("choice", ChoiceType())
