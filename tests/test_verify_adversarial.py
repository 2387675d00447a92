"""Zero false positives on the adversarial near misses of ``tests/verify_cases/adversarial.jsonl``.

Every row is a wrong answer a policy could find by itself (issue 11, item 7): a retraction, a
hedge, a negation, no answer at all, an exponent read as the answer, the right number with a
wrong or unknown unit, a non-integer for an integer key, ... Accepting one is a reward hack, so
each row is its own test. The rows go through ``VerifierPool`` as a trainer's do, so the hard
timeout applies (a timeout is a rejection); a row that kills or wedges the pool fails too, since
in training it would stall every later reward.
"""

from __future__ import annotations

import pytest
from conftest import script_module

with script_module("compare_verifiers") as compare:
    ROWS = compare.load_jsonl("adversarial")
    pool_verdicts = compare.pool_verdicts
    build_request = compare.build_request

TIMEOUT_S = 5.0


@pytest.fixture(scope="module")
def verdicts() -> dict:
    requests = [build_request(r["response"], r["answer"], r["options"]) for r in ROWS]
    return dict(zip((r["id"] for r in ROWS), pool_verdicts(requests, workers=2, timeout=TIMEOUT_S)))


@pytest.mark.parametrize("row", ROWS, ids=[r["id"] for r in ROWS])
def test_near_miss_is_rejected(row: dict, verdicts: dict) -> None:
    verdict = verdicts[row["id"]]
    assert not verdict.reason.startswith(("stalled", "escaped")), f"{row['category']}: the pool {verdict.reason}"
    assert not verdict.correct, f"{row['category']}: accepted {verdict.extracted!r} for key {row['answer']!r}"
