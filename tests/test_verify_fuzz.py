"""Fuzzing the verifier (issue 11): stage 1 never raises and stays cheap; the pool answers every
item within its timeout. Inputs come from the grammar of ``scripts/fuzz_verify.py`` (huge
numbers, factorials, ``\\pm`` chains, hedges, nesting, deep braces), driven by hypothesis so that
a failure shrinks to a small example. The long run (100,000 inputs) is that script."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from types import ModuleType

import pytest
from conftest import script_module
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rlvr.verifiers import Verdict, VerifierPool, VerifyRequest, verify_inline
from rlvr.verifiers.api import prepare

TIMEOUT = 0.5
MARGIN = 10.0  # start-up of replacement workers on a loaded 2-core machine (2-5 s each)
FUZZ = settings(deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def fuzz() -> Iterator[ModuleType]:
    with script_module("fuzz_verify") as module:
        prepare(VerifyRequest("\\boxed{1 m}", "1 m"))  # pint's registry is built once, not per item
        yield module


@pytest.fixture(scope="module")
def fuzz_pool() -> Iterator[VerifierPool]:
    with VerifierPool(workers=2, timeout=TIMEOUT) as pool:
        yield pool


@pytest.mark.timeout(120)
@FUZZ
@given(st.randoms(use_true_random=False))
def test_stage1_never_raises_and_stays_cheap(fuzz: ModuleType, rnd: random.Random) -> None:
    request = fuzz.generate(rnd)
    start = time.perf_counter()
    first = prepare(request)
    assert time.perf_counter() - start < 0.5, request
    if isinstance(first, Verdict):
        assert not first.reason.startswith("error"), (request, first)


@pytest.mark.timeout(180)
@settings(FUZZ, max_examples=60)
@given(st.randoms(use_true_random=False))
def test_the_pool_answers_every_item_within_its_timeout(
    fuzz: ModuleType,
    fuzz_pool: VerifierPool,
    rnd: random.Random,
) -> None:
    request = fuzz.generate(rnd)
    start = time.perf_counter()
    verdict = fuzz_pool.submit([request]).result(timeout=TIMEOUT + MARGIN + 60)[0]
    assert time.perf_counter() - start < TIMEOUT + MARGIN, request
    assert not verdict.reason.startswith("error"), (request, verdict)


def test_an_answer_without_a_value_is_a_mismatch_not_an_error() -> None:
    """Found by the long fuzz run: ``(-i)!`` raised EvalError out of the comparison."""
    verdict = verify_inline(VerifyRequest("Thus $x = 17$, i.e. $x \\approx \\theta \\times 10^{{x}} < -(i)!$.", "17"))
    assert (verdict.correct, verdict.reason) == (False, "mismatch")


@pytest.mark.timeout(60)
def test_stage1_never_parses_a_hedge_key() -> None:
    """Found by the long fuzz run: a hedge made stage 1 parse the key, and parsing 1e-91234567.5
    built 10^91234567 as an exact fraction, for minutes, in the caller."""
    start = time.perf_counter()
    first = prepare(VerifyRequest("$\\boxed{4!}$ and $\\boxed{5}$", "1e-91234567.5"))
    assert time.perf_counter() - start < 0.5
    assert not isinstance(first, Verdict) and first.hedge == ("4!", "5")


@pytest.mark.timeout(120)
def test_the_costly_corners_are_bounded(fuzz_pool: VerifierPool) -> None:
    """The fuzzer's worst inputs, named: each answers within the timeout, none as an error."""
    costly = [
        "\\boxed{" + " \\pm ".join(["1"] * 22) + "} or \\boxed{4}",
        "\\boxed{" + "{" * 5000 + "1" + "}" * 5000 + "}",
        "\\boxed{" + "(" * 3000 + "1" + ")" * 3000 + "}",
        "\\boxed{" * 20_000,
        "The answer is " + "9" * 320 + ".5",
        "\\boxed{(10^{10})!} or \\boxed{9^{9^{9^9}}}",
        " ".join(["12"] * 100_000),
    ]
    start = time.perf_counter()
    verdicts = fuzz_pool.submit([VerifyRequest(r, "4") for r in costly]).result(timeout=120)
    assert time.perf_counter() - start < len(costly) * TIMEOUT + MARGIN
    assert not [v for v in verdicts if v.reason.startswith("error")]
