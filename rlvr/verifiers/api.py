"""The public entry points: :func:`verify` and :func:`verify_batch`.

Verification runs in two stages so that the common case never leaves the caller's process:

1. :func:`prepare` (caller side): sanitise the inputs, infer the answer type, extract the final
   answer and try the type's cheap decision (exact string after normalisation, plain numbers,
   letters, text). Everything here is regex or small-integer work on size-capped strings; work
   whose cost can explode (evaluating expressions, e.g. whether two different boxes hold the
   same value) is left to stage 2, and an exception becomes that item's verdict, never the
   caller's (or the pool's dispatcher thread's) problem.
2. :func:`decide` (worker side): the full comparison (parser, evaluator, pint). It runs in a
   :class:`~rlvr.verifiers.pool.VerifierPool` worker process, which the pool kills and replaces
   when an item exceeds its timeout. That is a hard, process-level timeout: it works when the
   caller is a thread or itself a worker, where ``signal.alarm`` cannot be used.

:func:`verify` uses a lazily started one-worker pool shared by the process for stage 2.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace

from rlvr.errors import RlvrError
from rlvr.verifiers import verdict as R
from rlvr.verifiers.answer_types import ANSWER_TYPES, AnswerType, infer_type
from rlvr.verifiers.evaluator import EvalError, TooLarge
from rlvr.verifiers.extraction import Ambiguous, key_answer, same_value
from rlvr.verifiers.normalization import MAX_ANSWER_CHARS, InvalidInput, sanitize
from rlvr.verifiers.verdict import Verdict, VerifyRequest

# Built-in answer types register themselves on import.
from rlvr.verifiers import choice, countdown, numeric, quantity, symbolic, text  # noqa: E402,F401  isort: skip


@dataclass(frozen=True)
class Pending:
    """A request that passed stage 1 undecided: what a worker needs for stage 2."""

    type_name: str
    extracted: str
    request: VerifyRequest
    # The final boxes when they differ in text (the last is ``extracted``): stage 2 first checks
    # that they hold one value, since that check evaluates expressions and can take any time.
    hedge: tuple[str, ...] | None = None


def _clean_request(req: VerifyRequest) -> VerifyRequest:
    return replace(
        req,
        response=sanitize(req.response, "response"),
        answer=sanitize(req.answer, "answer"),
        unit=sanitize(req.unit, "unit") if req.unit is not None else None,
        choices=[sanitize(c, "choice") for c in req.choices] if req.choices else None,
    )


def _is_list_key(answer: str) -> bool:
    """Whether the key is a list or set of several answers (``(2, 2), (6, 2)``, ``\\{1, 2\\}``)."""
    from rlvr.verifiers.parser import ParseError, parse

    try:
        node = parse(answer)
    except (ParseError, RecursionError):
        return False
    return node[0] in ("list", "set") and len(node[1]) > 1


def _failure(exc: BaseException, extracted: str | None) -> Verdict:
    """The verdict for an exception raised while verifying: a verifier bug is a wrong answer, not
    a crash. A value beyond float range (OverflowError) or memory is too large to compare;
    nesting beyond the recursion limit is not a readable answer; an answer without a value where
    a comparison needed one (``(-i)!``, a division by zero) is not the key. The rest name the bug."""
    if isinstance(exc, RecursionError):
        return Verdict(False, extracted, R.UNPARSABLE)
    if isinstance(exc, (MemoryError, OverflowError, TooLarge)):
        return Verdict(False, extracted, R.TOO_LARGE)
    if isinstance(exc, EvalError):
        return Verdict(False, extracted, R.MISMATCH)
    return Verdict(False, extracted, f"{R.ERROR}:{type(exc).__name__}")


def prepare(req: VerifyRequest) -> Verdict | Pending:
    """Stage 1 (see :func:`_prepare`). Whatever the response or key holds it returns a verdict;
    only the caller's own mistakes (an unknown answer type or marker) raise :class:`RlvrError`."""
    try:
        return _prepare(req)
    except RlvrError:
        raise
    except Exception as exc:  # noqa: BLE001 - see _failure
        return _failure(exc, None)


def _prepare(req: VerifyRequest) -> Verdict | Pending:
    """Stage 1: a verdict when it is cheap to reach, else what stage 2 needs.

    Several different final boxes are hedging, except when the key itself lists several
    answers: ``\\boxed{(2, 2)} and \\boxed{(6, 2)}`` is then one answer split over boxes, and
    is compared as the list it spells (which must still equal the key, so listing extra
    candidates gains nothing). Both that and whether boxes differ only in spelling
    (``\\frac{1}{2}`` and ``0.5``) need the parser, so the ``hedge`` is resolved in stage 2."""
    try:
        req = _clean_request(req)
    except InvalidInput:
        return Verdict(False, None, R.INVALID_INPUT)
    req = replace(req, answer=key_answer(req.answer))
    type_name = infer_type(req)
    answer_type: AnswerType = ANSWER_TYPES.get(type_name)
    hedge = None
    try:
        extracted = answer_type.extract(req)
    except Ambiguous as exc:
        hedge, extracted = tuple(exc.candidates), exc.candidates[-1]
    if extracted is None:
        return Verdict(False, None, R.NO_ANSWER)
    if len(extracted) > MAX_ANSWER_CHARS or (hedge and sum(map(len, hedge)) > MAX_ANSWER_CHARS):
        return Verdict(False, extracted[:200], R.UNPARSABLE)
    if hedge:
        return Pending(type_name, extracted, req, hedge)
    quick = answer_type.quick(extracted, req)
    return quick if quick is not None else Pending(type_name, extracted, req)


def decide(pending: Pending) -> Verdict:
    """Stage 2: the full comparison. Never raises: a verifier bug is a wrong answer, not a crash."""
    try:
        if pending.hedge and _is_list_key(pending.request.answer):
            pending = replace(pending, extracted=", ".join(pending.hedge), hedge=None)
        if pending.hedge and not all(same_value(b, pending.extracted) for b in pending.hedge[:-1]):
            return Verdict(False, None, R.AMBIGUOUS)
        return ANSWER_TYPES.get(pending.type_name).check(pending.extracted, pending.request)
    except Exception as exc:  # noqa: BLE001 - see _failure
        return _failure(exc, pending.extracted)


def verify_inline(req: VerifyRequest) -> Verdict:
    """Both stages in this process, with no timeout: for workers and for tests of the logic."""
    first = prepare(req)
    return first if isinstance(first, Verdict) else decide(first)


_DEFAULT_POOL = None
_DEFAULT_LOCK = threading.Lock()


def _default_pool():  # noqa: ANN202 - returns VerifierPool (imported lazily: it imports this module)
    global _DEFAULT_POOL
    from rlvr.verifiers.pool import VerifierPool

    with _DEFAULT_LOCK:
        if _DEFAULT_POOL is None or not _DEFAULT_POOL.usable():
            _DEFAULT_POOL = VerifierPool(workers=1)
            atexit.register(_DEFAULT_POOL.close)
        return _DEFAULT_POOL


def verify(
    response: str,
    answer: str,
    *,
    answer_type: str | None = None,
    rel_tol: float | None = None,
    abs_tol: float | None = None,
    unit: str | None = None,
    choices: list[str] | None = None,
    numbers: list[int] | None = None,
    marker: str | None = None,
    timeout: float = 5.0,
    fallback: bool = True,
    sig_figs: int | None = None,
) -> Verdict:
    """Check the final answer of ``response`` against the key ``answer``.

    ``answer_type`` is one of the registered types (numeric, symbolic, choice, quantity, text,
    countdown) or None/"auto" to infer it; ``marker`` names the extraction style a prompt
    declared (boxed, answer_tag, gsm8k, answer_colon, final_answer). A declared marker makes
    extraction strict, as in training: a response with no answer under that marker has none
    (reason ``"no-answer"``), with no bare-answer or last-number fallback. Without a marker
    (untemplated evaluation) the last number is the fallback unless ``fallback=False``, and never
    when the response says it has no answer ("I don't know"). Retractions, hedges, negations,
    integer keys and percent follow docs/verifier_policy.md. ``sig_figs=N`` compares the values
    rounded to N significant figures (after converting a quantity to the key's unit) instead of
    using a tolerance; a response with fewer digits is read as written (``9.8`` is ``9.80`` at
    N=3); see :mod:`rlvr.verifiers.numeric`. Anything that needs more than the
    cheap checks runs in a worker process killed after ``timeout`` seconds (reason ``"timeout"``).
    """
    req = VerifyRequest(response, answer, answer_type, rel_tol, abs_tol, unit, choices, numbers, marker, fallback, sig_figs)
    first = prepare(req)
    if isinstance(first, Verdict):
        return first
    return _default_pool().run_pending([first], timeout)[0]


def verify_batch(requests: Sequence[VerifyRequest], workers: int = 2, timeout: float = 5.0) -> list[Verdict]:
    """Verify many requests in a fresh pool (order preserved). A trainer that verifies every step
    should keep one :class:`~rlvr.verifiers.pool.VerifierPool` open instead."""
    from rlvr.verifiers.pool import VerifierPool

    with VerifierPool(workers=workers, timeout=timeout) as pool:
        return pool.verify_many(list(requests))
