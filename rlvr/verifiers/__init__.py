"""Answer verification for RL from verifiable rewards: ``rlvr.verifiers``.

``verify(response, answer, ...)`` finds the final answer in a model response and decides whether
it matches the key: numbers, symbolic expressions, sets/intervals/matrices, multiple choice,
physical quantities with units, plain text and Countdown expressions. ``VerifierPool`` keeps
worker processes alive across training steps and enforces a hard per-item timeout.
"""

from rlvr.verifiers.answer_types import ANSWER_TYPES, AnswerType, infer_type
from rlvr.verifiers.api import verify, verify_batch, verify_inline
from rlvr.verifiers.extraction import MARKERS
from rlvr.verifiers.pool import VerifierPool
from rlvr.verifiers.verdict import Verdict, VerifyRequest

__all__ = [
    "ANSWER_TYPES",
    "MARKERS",
    "AnswerType",
    "Verdict",
    "VerifierPool",
    "VerifyRequest",
    "infer_type",
    "verify",
    "verify_batch",
    "verify_inline",
]
