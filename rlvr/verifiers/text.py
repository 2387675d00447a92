"""Plain-text answers ("Evelyn", "No", "\\text{odd}").

Compared after :func:`rlvr.verifiers.normalization.normalize_text`: LaTeX wrappers removed,
lowercase, articles and punctuation dropped. Containment is deliberately *not* accepted ("Evelyn
and Bob" is not "Evelyn"), since a policy would learn to list names.
"""

from __future__ import annotations

from rlvr.verifiers import verdict as R
from rlvr.verifiers.answer_types import ANSWER_TYPES, AnswerType
from rlvr.verifiers.normalization import normalize_text
from rlvr.verifiers.verdict import Verdict, VerifyRequest


class TextType(AnswerType):
    def quick(self, extracted: str, req: VerifyRequest) -> Verdict | None:
        key = normalize_text(req.answer)
        if not key:
            return Verdict(False, extracted, R.BAD_KEY)
        ok = normalize_text(extracted) == key
        return Verdict(ok, extracted, R.EQUAL if ok else R.MISMATCH)

    def check(self, extracted: str, req: VerifyRequest) -> Verdict:
        return self.quick(extracted, req)  # type: ignore[return-value]


ANSWER_TYPES.register("text", TextType())
