"""Multiple-choice answers: single letters and multi-select sets.

A key ``"CD"``, ``"C, D"``, ``"(C) and (D)"`` or ``"\\text{(C)}"`` is read as a set of letters, and
so is the response; the answer is correct only when the two sets are equal, so hedging
("A or B") and listing every option are wrong. With ``choices`` (option texts, "A" first) a
response may also give the option's text instead of its letter, and a key given as option text
is mapped to its letter.

Letters are taken only where they stand alone (``C``, ``(c)``, ``C.``); the article "A" and the
pronoun "I" followed by a lowercase word are prose, not options. A response commits to the
letters it writes before the first negation or contrast (``NEGATION_CUES``, :data:`CONTRAST_CUES`): ``D, it can't be
A or B`` answers D, ``B。不是 A`` answers B, and ``not A`` answers nothing. Several letters for a
single-letter key are a hedge (reason ``ambiguous``).

A key may carry its option's text (``C Cecile``, ``(C) Cecile``, ``C. Cecile``): the response may
give the letter, the text, or both, and when it gives both they must both match. All of this is
regex work, so choice answers are decided in the caller's process without a worker round trip.
"""

from __future__ import annotations

import re

from rlvr.verifiers import verdict as R
from rlvr.verifiers.answer_types import ANSWER_TYPES, AnswerType, is_choice_key
from rlvr.verifiers.extraction import AND_WORDS, NEGATION_RE, OR_WORDS, after_retraction, extract, is_bare
from rlvr.verifiers.normalization import clean_latex, compact, normalize_text
from rlvr.verifiers.numeric import plain_value
from rlvr.verifiers.verdict import Verdict, VerifyRequest

_RUN_RE = re.compile(r"^\s*\(?\s*([A-J]{1,10})\s*\)?\s*\.?\s*$")
_LOWER_RE = re.compile(r"^\s*\(?\s*([a-j])\s*\)?\s*\.?\s*$")  # "(b)", or "b" alone as the whole answer
# A bare "A" or "I" before a lowercase word is the article or the pronoun ("A cat", "I think"),
# unless that word joins options ("A or B"); other letters, and "(A)", are options ("B is wrong").
_JOINS = "|".join(OR_WORDS + AND_WORDS)
_LETTER_RE = re.compile(r"(?<![A-Za-z\\])\(?([A-J])\)?(?![A-Za-z])(?!(?<=[AI])\s+(?!(?:" + _JOINS + r")\b)[a-z])")
_TAIL_RE = re.compile(
    r"(?:answer|option|choice)s?\s*(?:is|are|:)?\s*:?\s*\**\s*"
    r"(\(?[A-J]\)?(?:\s*(?:,|and|&)\s*\(?[A-J]\)?)*)(?![A-Za-z])",
    re.IGNORECASE,
)
_PAREN_RE = re.compile(r"\(([A-J])\)")
# A response that opens with its letter: "D, it can't be A or B", "(C) since ...".
_OPENING_RE = re.compile(r"^\s*\**\s*\(?([A-J])\)?\s*\**\s*(?:[.,:;)]|$)")
# Letters joined as one answer: "A and B", "A or C", "A, B", "A 和 B" (a set, compared as a set).
_LIST_RE = re.compile(r"^\s*\(?[A-J]\)?(?:\s*(?:,|/|&|(?<![^\W\d_])(?:" + _JOINS + r")(?![^\W\d_]))\s*\(?[A-J]\)?)+\s*\.?\s*$")
# A key (or a response) giving an option's letter with its text: "(C) Cecile", "C. Cecile",
# "C: Cecile", "C Cecile" (a bare letter needs a capital, digit or math after it: "A cat" is prose).
_OPTION_RE = re.compile(r"^\s*(?:\(([A-J])\)\s*|([A-J])[.:)]\s+|([A-J])\s+(?=[A-Z0-9$\\]))([\w$\\].*?)\s*$", re.DOTALL)
_OPTION_START_RE = re.compile(r"\s*(?:\$|\\text\s*\{|\*)*\s*\(?[A-J]")
# After a negation (NEGATION_CUES: "not A", "can't be B", "不是 A") or one of these reasons or
# contrasts ("because", ";"), letters are no longer the answer.
CONTRAST_CUES: dict[str, tuple[str, ...]] = {
    "en": (r"\brather than\b", r"\binstead of\b", r"\bunlike\b", r"\bbecause\b", r"\bsince\b", r"\bexcept\b"),
    "zh": (r"而非", r"因为"),
    "fr": (r"\bparce que\b",),
    "es": (r"\bporque\b",),
    "de": (r"\bweil\b",),
    "ru": (r"\bпотому что\b",),
    "ja": (r"なぜなら",),
    "punctuation": (r"[;；。]",),
}
_CONTRAST_RE = re.compile("|".join([NEGATION_RE.pattern, *(c for forms in CONTRAST_CUES.values() for c in forms)]), re.IGNORECASE)


def committed(text: str) -> str:
    """The part of a choice answer before its first negation or contrast cue; empty when the
    answer opens with one (``not A`` commits to nothing)."""
    m = _CONTRAST_RE.search(text)
    return text[: m.start()] if m else text


def option_key(text: str) -> tuple[str, str] | None:
    """(letter, option text) of ``C Cecile`` / ``(C) Cecile`` / ``C. Cecile``; None otherwise."""
    if _OPTION_START_RE.match(text) is None:
        return None  # every key's type is inferred through here: skip clean_latex for the rest
    m = _OPTION_RE.match(clean_latex(text).replace("*", ""))
    if m is None:
        return None
    return next(g for g in m.groups()[:3] if g), m.group(4)


def letters_of(text: str, n_choices: int | None = None) -> frozenset[str]:
    """The set of option letters written in ``text`` (empty when there are none)."""
    text = clean_latex(text).replace("*", "")
    m = _RUN_RE.match(text)
    found = set(m.group(1)) if m else set()
    if not found and _LIST_RE.match(text):
        found = set(re.findall(r"(?<![A-Za-z])[A-J](?![A-Za-z])", text))
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
    if not text.strip():
        return frozenset()
    letters = letters_of(text, len(choices) if choices else None)
    if not letters and choices:
        letter = _option_letter(text, choices)
        return frozenset(letter) if letter else frozenset()
    return letters


_KEY_RE = re.compile(r"^\(?[A-Z]\)?(?:\s*(?:,|and|\s)?\s*\(?[A-Z]\)?)*$")  # B, (B), ACD, C, D, (A) and (C)


class ChoiceType(AnswerType):
    def key_problem(self, answer: str) -> str | None:
        return None if _KEY_RE.match(answer.strip()) else "is not option letters such as B or ACD"

    def extract(self, req: VerifyRequest) -> str | None:
        found = extract(req.response, req.marker, fallback=False)  # Ambiguous propagates
        if found is not None or not req.fallback or req.marker:
            return found
        tail = after_retraction(req.response, None)[-2000:]  # a retracted "Answer: C" is no answer
        last = None
        for last in _TAIL_RE.finditer(tail):  # noqa: B007 - the last statement of the answer wins
            pass
        if last is not None:
            return last.group(1)
        parens = _PAREN_RE.findall(tail)
        if parens and not is_bare(req.response):
            return parens[-1]
        opening = _OPENING_RE.match(tail) if len(tail) == len(req.response) else None
        return opening.group(1) if opening else None

    def quick(self, extracted: str, req: VerifyRequest) -> Verdict | None:
        option = None if is_choice_key(req.answer) else option_key(req.answer)
        key = frozenset(option[0]) if option else _letters(req.answer, req.choices)
        if not key:
            return Verdict(False, extracted, R.BAD_KEY)
        answer = committed(extracted)
        if option is not None:
            text = normalize_text(option[1])
            if option_key(extracted) is None and normalize_text(extracted) == text:  # "Not enough data"
                return Verdict(True, extracted, R.EQUAL)
            given = option_key(answer)
            if given is not None:  # letter and text together: both must be the key's
                ok = given[0] == option[0] and normalize_text(given[1]) == text
                return Verdict(ok, extracted, R.EQUAL if ok else R.MISMATCH)
            if normalize_text(answer) == text:
                return Verdict(True, extracted, R.EQUAL)
        got = _letters(answer, req.choices)
        if not got:
            return Verdict(False, extracted, R.UNPARSABLE)
        if len(got) > 1 and len(key) == 1:
            return Verdict(False, extracted, R.AMBIGUOUS)
        ok = got == key
        return Verdict(ok, extracted, R.EQUAL if ok else R.MISMATCH)

    def check(self, extracted: str, req: VerifyRequest) -> Verdict:
        return self.quick(extracted, req)  # type: ignore[return-value]


ANSWER_TYPES.register("choice", ChoiceType())
