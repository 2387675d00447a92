"""VerifierPool, verify(), verify_batch() and the ``rlvr verify`` command."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from rlvr.cli import main
from rlvr.errors import RlvrError
from rlvr.verifiers import ANSWER_TYPES, MARKERS, VerifierPool, VerifyRequest, verify, verify_batch, verify_inline
from rlvr.verifiers import pool as pool_module
from rlvr.verifiers.api import prepare

REQUESTS = [
    VerifyRequest("\\boxed{(x+1)^2}", "x^2+2x+1"),
    VerifyRequest("#### 72", "72"),
    VerifyRequest("\\boxed{980 cm/s^2}", "9.8 m/s^2"),
    VerifyRequest("\\boxed{9.8 N}", "9.8 m/s^2"),
    VerifyRequest("\\boxed{\\frac{1}{2}}", "0.5"),
    VerifyRequest("Answer: (C) and (D)", "CD"),
    VerifyRequest("\\boxed{x > 3}", "(2, \\infty)"),
]
EXPECTED = [True, True, True, False, True, True, False]


@pytest.fixture(scope="module")
def pool():
    with VerifierPool(workers=2, timeout=5.0) as p:
        yield p


def test_pool_preserves_order_and_matches_inline(pool: VerifierPool) -> None:
    requests = REQUESTS * 20
    verdicts = pool.verify_many(requests)
    assert [v.correct for v in verdicts] == EXPECTED * 20
    assert verdicts[:7] == [verify_inline(r) for r in REQUESTS]
    assert verdicts[3].reason == "unit-mismatch"


def test_submit_returns_a_future_usable_from_threads(pool: VerifierPool) -> None:
    futures = [pool.submit(REQUESTS) for _ in range(4)]
    results: list[list[bool]] = []
    thread = threading.Thread(target=lambda: results.append([v.correct for v in pool.verify_many(REQUESTS)]))
    thread.start()
    thread.join(timeout=30)
    assert results == [EXPECTED]
    assert all([v.correct for v in f.result(timeout=30)] == EXPECTED for f in futures)
    assert pool.verify_many([]) == []


def test_timeout_kills_and_replaces_the_worker(pool: VerifierPool) -> None:
    slow = prepare(VerifyRequest("\\boxed{" + "+".join(f"(x+{i})^{{3}}" for i in range(120)) + "}", "x"))
    assert not isinstance(slow, type(verify_inline(REQUESTS[0])))  # it needs a worker
    pids = {w.process.pid for w in pool._workers}
    verdicts = pool.run_pending([slow, slow], timeout=0.0005)
    assert [v.reason for v in verdicts] == ["timeout", "timeout"]
    assert {w.process.pid for w in pool._workers} != pids
    assert [v.correct for v in pool.verify_many(REQUESTS)] == EXPECTED  # replacements work


def test_verify_and_verify_batch() -> None:
    assert verify("\\boxed{(x+1)^2}", "x^2+2x+1").correct
    assert verify("9.8 N", "9.8", unit="m/s^2").reason == "unit-mismatch"
    assert verify("The answer is 7 apples.", "7", fallback=False, marker="boxed").reason == "no-answer"
    assert [v.correct for v in verify_batch(REQUESTS, workers=1)] == EXPECTED


def test_registries_list_the_contract_names() -> None:
    assert set(ANSWER_TYPES.names()) >= {"numeric", "symbolic", "choice", "quantity", "text", "countdown"}
    assert set(MARKERS.names()) == {"boxed", "answer_tag", "gsm8k", "answer_colon", "final_answer"}
    with pytest.raises(RlvrError, match="known"):
        verify("1", "1", answer_type="nonsense")


def test_cli_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "\\boxed{980 cm/s^2}", "9.8 m/s^2"]) == 0
    assert "correct (equal)" in capsys.readouterr().out
    assert main(["verify", "9.8 N", "9.8", "--unit", "m/s^2", "--json"]) == 1
    assert '"reason": "unit-mismatch"' in capsys.readouterr().out
    assert main(["verify", "2.0", "2.1", "--rel-tol", "0.1"]) == 0
    assert main(["verify", "1", "1", "--marker", "nope"]) == 2


# -- never hangs, never crashes (issue 11) -----------------------------------------------------
# An item whose full check runs for minutes (each \pm doubles the values to compare): a stand-in
# for any answer that only a worker's hard timeout can stop.
# A legitimate comparison that runs for the sympy tier's whole budget (2 s), past a 1 s timeout.
STUCK, STUCK_KEY = "\\boxed{\\sin(x)^{9} + \\cos(x)^{7} > \\tan(x)}", "x > 0"
# The input: 2^19 sign choices, which the hedge check of two different boxes once
# expanded in the caller (over 120 s, no timeout); ± signs are now capped per comparison.
HEDGE_BOMB = "\\boxed{" + " \\pm ".join(["1"] * 19) + "} or \\boxed{4}"


@pytest.mark.timeout(120)
def test_stage1_exceptions_become_verdicts_and_the_pool_survives(pool: VerifierPool) -> None:
    requests = [
        VerifyRequest("\\boxed{171!} or \\boxed{4}", "4"),  # raised OverflowError in the dispatcher
        VerifyRequest("The answer is " + "9" * 320 + ".5", "5"),  # likewise, from the float fast path: now compared exactly
        VerifyRequest("\\boxed{" + "9" * 320 + ".5}", "9" * 320 + ".50"),  # beyond float range, still a value
        REQUESTS[1],
    ]
    verdicts = pool.submit(requests).result(timeout=60)
    assert [v.reason for v in verdicts] == ["ambiguous", "mismatch", "equal", "equal"]
    assert pool.submit([VerifyRequest("1" * 1_000_001, "1")]).result(timeout=60)[0].reason == "invalid-input"
    with pytest.raises(RlvrError, match="known"):  # the caller's mistake fails its own batch only
        pool.submit([VerifyRequest("1", "1", answer_type="nonsense")]).result(timeout=60)
    assert [v.correct for v in pool.submit(REQUESTS).result(timeout=60)] == EXPECTED


@pytest.mark.timeout(120)
def test_the_hedge_check_runs_under_the_timeout(pool: VerifierPool) -> None:
    start = time.monotonic()
    first = prepare(VerifyRequest(HEDGE_BOMB, "4"))
    assert time.monotonic() - start < 1.0  # was over 120 s, in the caller, with no timeout
    assert pool.run_pending([first], timeout=0.5)[0].reason in ("ambiguous", "timeout")
    assert pool.run_pending([prepare(VerifyRequest(STUCK + " or \\boxed{4}", "4"))], timeout=0.5)[0].reason in (
        "ambiguous",
        "timeout",
    )  # either way, decided within the item's own timeout
    assert verify_inline(VerifyRequest("\\boxed{\\frac{639}{40}} or \\boxed{15\\frac{39}{40}}", "15.975")).correct


@pytest.mark.timeout(120)
def test_a_stuck_item_does_not_hold_up_another_batch() -> None:
    with VerifierPool(workers=1, timeout=1.5) as pool:  # under the sympy tier's own 2 s budget
        assert pool.wait_ready(60)  # the worker and the spare are up
        stuck = pool.submit([VerifyRequest(STUCK, STUCK_KEY)])
        time.sleep(0.2)
        assert [v.correct for v in pool.verify_many(REQUESTS * 3)] == EXPECTED * 3
        assert not stuck.done()  # the other batch did not wait for the stuck item's timeout
        assert stuck.result(timeout=60)[0].reason == "timeout"


@pytest.mark.timeout(120)
def test_workers_that_cannot_start_give_error_verdicts(monkeypatch: pytest.MonkeyPatch) -> None:
    command = pool_module.worker_command
    monkeypatch.setattr(pool_module, "START_RETRY_AFTER", 0.2)
    monkeypatch.setattr(pool_module, "worker_command", lambda: [sys.executable, "-c", "raise SystemExit(3)"])
    with VerifierPool(workers=1, timeout=2.0) as pool:
        verdicts = pool.submit(REQUESTS[:2]).result(timeout=60)
        assert [v.reason for v in verdicts] == ["error:worker-start", "equal"]  # stage 1 still decides
        monkeypatch.setattr(pool_module, "worker_command", command)  # the cause goes away: it recovers
        deadline = time.monotonic() + 60
        while not pool.verify_many(REQUESTS[:1])[0].correct and time.monotonic() < deadline:
            time.sleep(0.3)
        assert pool.verify_many(REQUESTS[:1])[0].correct


@pytest.mark.timeout(120)
@pytest.mark.parametrize("then", ["os._exit(1)", "os.write(1, b'garbage, not a frame')"])
def test_a_worker_that_dies_or_babbles_mid_item_gives_an_error_verdict(monkeypatch: pytest.MonkeyPatch, then: str) -> None:
    worker = (
        "import json, os, struct, time; ready = json.dumps({'ready': 1}).encode(); "
        f"os.write(1, struct.pack('>I', len(ready)) + ready); os.read(0, 1 << 20); {then}; time.sleep(60)"
    )
    monkeypatch.setattr(pool_module, "worker_command", lambda: [sys.executable, "-c", worker])
    with VerifierPool(workers=1, timeout=30.0) as pool:
        verdicts = pool.submit([REQUESTS[0], REQUESTS[1], REQUESTS[0]]).result(timeout=60)
    assert [v.reason for v in verdicts] == ["error:worker-died", "equal", "error:worker-died"]


@pytest.mark.timeout(120)
def test_a_failed_dispatcher_fails_every_call_instead_of_hanging() -> None:
    pool = VerifierPool(workers=1)
    try:

        def broken() -> None:
            raise RuntimeError("dispatcher bug")

        pool._collect = broken  # type: ignore[method-assign]
        future = pool.submit([REQUESTS[0]])  # needs a worker, so it is pending when the bug hits
        with pytest.raises(RuntimeError, match="dispatcher bug"):
            future.result(timeout=60)
        with pytest.raises(RuntimeError, match="dispatcher"):
            pool.submit([REQUESTS[0]]).result(timeout=10)
    finally:
        pool.close()


# Every place users call a reward function from, each proving the hard timeout still holds there.
def _timeout_holds(_: object = None) -> tuple[str, bool, float]:
    start = time.monotonic()
    stuck = verify(STUCK, STUCK_KEY, timeout=1.0)
    return stuck.reason, verify("\\boxed{(x+1)^2}", "x^2+2x+1").correct, time.monotonic() - start


def _check(result: tuple[str, bool, float]) -> None:
    reason, fast_ok, seconds = result
    assert (reason, fast_ok) == ("timeout", True)
    assert seconds < 60  # worker start-up on a loaded machine, plus the 1 s timeout; not minutes


@pytest.mark.timeout(180)
def test_timeout_holds_in_a_thread() -> None:
    results: list = []
    thread = threading.Thread(target=lambda: results.append(_timeout_holds()))
    thread.start()
    thread.join(timeout=120)
    _check(results[0])


@pytest.mark.timeout(180)
def test_timeout_holds_in_a_daemonic_multiprocessing_pool() -> None:
    with multiprocessing.get_context("fork").Pool(1) as mp_pool:  # its workers are daemonic
        _check(mp_pool.apply_async(_timeout_holds).get(timeout=120))


class _VerifyingDataset:
    def __len__(self) -> int:
        return 1

    def __getitem__(self, index: int) -> tuple[str, bool, float]:
        return _timeout_holds()


@pytest.mark.timeout(180)
def test_timeout_holds_in_a_dataloader_worker() -> None:
    from torch.utils.data import DataLoader

    loader = DataLoader(_VerifyingDataset(), num_workers=1, batch_size=None, timeout=120)
    _check(next(iter(loader)))


@pytest.mark.timeout(180)
def test_timeout_holds_in_a_forked_child() -> None:
    verify("\\boxed{(x+1)^2}", "x^2+2x+1")  # the parent's default pool exists before the fork
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report through the pipe and leave without running pytest's exit
        try:
            os.write(write, json.dumps(_timeout_holds()).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        result = json.loads(pipe.read() or "null")
    os.waitpid(pid, 0)
    _check(tuple(result))


SCRIPT = f"""
import json, sys, time, types
if sys.argv[-1] == "notebook":  # IPython's __main__ is a module without __file__
    sys.modules["__main__"] = types.ModuleType("__main__")
from rlvr.verifiers import verify
start = time.monotonic()
stuck = verify({STUCK!r}, {STUCK_KEY!r}, timeout=1.0)
print(json.dumps([stuck.reason, verify("\\\\boxed{{(x+1)^2}}", "x^2+2x+1").correct, time.monotonic() - start]))
"""


@pytest.mark.timeout(180)
@pytest.mark.parametrize("how", ["stdin", "-c", "notebook"])
def test_timeout_holds_in_scripts_from_stdin_and_c(how: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    if how == "stdin":  # python - <<EOF: forkserver could not re-import such a __main__
        run = subprocess.run([sys.executable, "-"], input=SCRIPT, capture_output=True, text=True, env=env, timeout=150)
    else:
        run = subprocess.run([sys.executable, "-c", SCRIPT, how], capture_output=True, text=True, env=env, timeout=150)
    assert run.returncode == 0, run.stderr[-2000:]
    _check(tuple(json.loads(run.stdout.strip().splitlines()[-1])))
