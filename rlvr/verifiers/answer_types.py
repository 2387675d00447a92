"""The answer-type registry and the inference of a key's type.

An answer type knows how to find its answer in a response (:meth:`AnswerType.extract`), how to
decide cheaply when it can (:meth:`AnswerType.quick`, run in the caller's process: exact string,
plain numbers, letters), how to decide in full (:meth:`AnswerType.check`, run in a worker
process under a hard timeout) and which keys it can have (:meth:`AnswerType.key_problem`, asked
when a dataset loads). Built-ins register themselves in :data:`ANSWER_TYPES`, the one list of
answer-type names that problems, dataset configs and the CLI read; a plug-in adds one through the
``rlvr.answer_types`` entry-point group with an :class:`AnswerType` instance.

With no ``answer_type`` the type is inferred from the request, most specific evidence first:
``numbers`` given means countdown, ``choices`` or a letter key means choice, a ``unit`` or a key
with a physical unit means quantity, a key of plain words means text, a plain number means
numeric, and anything else is symbolic.
"""

from __future__ import annotations

import re

from rlvr.registry import Registry
from rlvr.verifiers.extraction import extract
from rlvr.verifiers.verdict import Verdict, VerifyRequest


class AnswerType:
    """Base class: generic extraction, no fast path, any key. Subclasses implement :meth:`check`."""

    def key_problem(self, answer: str) -> str | None:
        """What is wrong with ``answer`` as a key of this type, e.g. ``"is not a number"`` (None
        when nothing is): a dataset row with such a key is a bad row when the data loads, rather
        than a problem nobody can ever answer right."""
        return None

    def extract(self, req: VerifyRequest) -> str | None:
        return extract(req.response, req.marker, req.fallback)

    def quick(self, extracted: str, req: VerifyRequest) -> Verdict | None:
        """A final verdict when it is cheap to reach, else None (then :meth:`check` runs)."""
        return None

    def check(self, extracted: str, req: VerifyRequest) -> Verdict:
        raise NotImplementedError


ANSWER_TYPES: Registry[AnswerType] = Registry("answer type", "rlvr.answer_types")

_CHOICE_KEY_RE = re.compile(
    r"^\s*(?:\\text\{\s*)?\(?([A-J])\)?(?:\s*\})?\s*$"  # B, (B), \text{(B)}
    r"|^\s*[A-J]{2,10}\s*$"  # CD, ABD
    r"|^\s*\(?[A-J]\)?(?:\s*(?:,|and|&)\s*\(?[A-J]\)?)+\s*$"  # C, D / (C) and (D)
)
_PLAIN_NUMBER_RE = re.compile(r"^\s*[-+]?(?:(?:[1-9]\d{0,2}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+)\s*$")
_UNIT_HINT_RE = re.compile(
    r"[\d}]\s*(?:\\[,;!: ]|~|\*|\\mathrm|\\text|\\mbox|\\operatorname|\s)*\s*\^?\s*\{?\s*"
    r"(?:[a-zA-Z\u00b5\u03bc\u03a9\u00b0\u00c5\u3400-\u9fff]|\\(?:mu|upmu|textmu|micro|Omega|AA|circ)(?![a-z]))"
)
_WORDS_RE = re.compile(r"^\s*(?:\\text\{)?[A-Za-z][A-Za-z '\-]*[A-Za-z.]?\}?\s*$")


def _unit_key(answer: str) -> bool:
    from rlvr.verifiers.quantity import split_quantity  # pint is imported only when needed

    return _UNIT_HINT_RE.search(answer) is not None and split_quantity(answer) is not None


def is_choice_key(answer: str) -> bool:
    """A key of option letters only (``B``, ``(B)``, ``CD``, ``C, D``)."""
    return _CHOICE_KEY_RE.match(answer) is not None


def _option_key(answer: str) -> bool:
    from rlvr.verifiers.choice import option_key  # choice imports this module

    return option_key(answer) is not None


def is_plain_number(text: str) -> bool:
    return _PLAIN_NUMBER_RE.match(text) is not None


def infer_type(req: VerifyRequest) -> str:
    if req.answer_type not in (None, "auto"):
        return req.answer_type  # type: ignore[return-value]
    answer = req.answer
    if req.numbers:
        return "countdown"
    if req.choices or is_choice_key(answer) or _option_key(answer):
        return "choice"
    if is_plain_number(answer):
        return "quantity" if req.unit and req.unit.strip() else "numeric"
    if req.unit and req.unit.strip() or _unit_key(answer):
        return "quantity"
    if _WORDS_RE.match(answer) and re.search(r"(?<!\\)[A-Za-z]{2,}", answer.replace("\\text", "")):
        return "text"
    return "symbolic"
