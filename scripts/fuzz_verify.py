"""Fuzz the verifier end to end: nothing escapes, nothing runs past its timeout.

Inputs come from a small LaTeX grammar aimed at the costly corners: huge numbers (beyond float
range), factorials, ``\\pm`` chains (each doubles the values to compare), hedges between boxes,
deep and unbalanced braces, nesting, units, letters and prose around all of it.
:func:`generate` is the grammar; ``tests/test_verify_fuzz.py`` drives it with hypothesis.

Each input runs as a trainer runs it: stage 1 (:func:`rlvr.verifiers.api.prepare`) in this
process, then the undecided rest in a :class:`VerifierPool`, one call per item from ``--workers``
threads (so no item waits in a queue and its latency is its own). Counted:

* ``escaped_exceptions``: any exception out of ``prepare`` or out of the pool;
* ``over_timeout``: items whose stage 1 took more than ``--margin`` seconds (it has no timeout),
  or whose stage 2 took more than ``--timeout`` + ``--margin``;
* ``error_verdicts``: ``error:`` verdicts by reason (verifier bugs turned into wrong answers).

Prints ONE JSON line. Usage: ``python scripts/fuzz_verify.py [--n 100000] [--seed 0]``.
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from rlvr.verifiers import Verdict, VerifierPool, VerifyRequest
from rlvr.verifiers.api import prepare

_HUGE = ("9" * 320 + ".5", "9" * 400, "1e400", "10^{10^{10}}", "171!", "2^{100000}", "9^{9^{9^9}}", "(10^{10})!")
_SMALL = ("0", "-0", "1", "2", "4", "17", "0.5", ".5", "1,000", "3/4", "2.0000019", "1234567.5", "-3", "1e-9")
_SYMBOLS = ("x", "y", "\\pi", "e", "i", "A", "C", "\\infty", "n", "\\theta")
_UNARY = (
    "\\sqrt{{{a}}}",
    "{a}!",
    "({a})!",
    "-{a}",
    "{{{a}}}",
    "({a})",
    "\\left({a}\\right)",
    "\\sin({a})",
    "\\log({a})",
    "{a}\\%",
    "\\text{{{a}}}",
    "{a} m/s^2",
    "{a}^\\circ",
    "|{a}|",
    "\\overline{{{a}}}",
)
_BINARY = (
    "{a}+{b}",
    "{a}-{b}",
    "{a} \\pm {b}",
    "\\frac{{{a}}}{{{b}}}",
    "{a}^{{{b}}}",
    "{a} \\cdot {b}",
    "{a}, {b}",
    "{a} = {b}",
    "{a} < {b}",
    "[{a}, {b})",
    "\\binom{{{a}}}{{{b}}}",
    "\\log_{{{a}}} {b}",
    "{a} \\times 10^{{{b}}}",
    "\\begin{{pmatrix}}{a} & {b}\\end{{pmatrix}}",
    "\\{{{a}, {b}\\}}",
    "{a} \\cup {b}",
    "{a}{b}",
)
_RESPONSES = (
    "\\boxed{{{a}}}",
    "\\boxed{{{a}}} or \\boxed{{{b}}}",
    "The answer is {a}.",
    "#### {a}",
    "{a}",
    "Answer: {a}",
    "<answer>{a}</answer>",
    "The answer is {a}. Wait, no, that's wrong.",
    "\\boxed{{not {a}}}",
    "$\\boxed{{{a}}}$ and $\\boxed{{{b}}}$",
    "So we get ${a}$ and then ${b}$.",
    "The final answer is $\\boxed{{{a}}}$. I hope it is correct.",
    "\\boxed{{{a}",
    "\\fbox{{{a}}}",
    "We have {b} apples, so {a}",
    "Thus $x = {a}$, i.e. $x \\approx {b}$.",
)


def _atom(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.08:
        return rng.choice(_HUGE)
    if r < 0.55:
        return rng.choice(_SMALL) if rng.random() < 0.6 else str(rng.randint(-(10**6), 10**6))
    return rng.choice(_SYMBOLS)


def expression(rng: random.Random, depth: int) -> str:
    """A random LaTeX expression, at most ``depth`` operators deep."""
    r = rng.random()
    if depth <= 0 or r < 0.3:
        return _atom(rng)
    if r < 0.55:
        return rng.choice(_UNARY).format(a=expression(rng, depth - 1))
    return rng.choice(_BINARY).format(a=expression(rng, depth - 1), b=expression(rng, depth - 1))


def _costly(rng: random.Random) -> str:
    """Inputs whose cost grows fast with a size: ``\\pm`` chains, deep or unbalanced braces, long prose."""
    n = rng.randint(1, 22)
    return rng.choice(
        (
            " \\pm ".join(["1"] * n),
            "{" * (n * 50) + "1" + "}" * (n * 50),
            "(" * (n * 40) + "1" + ")" * (n * 40),
            "{" * (n * 50),
            "\\frac{" * n + "1" + "}{2}" * n,
            "\\sqrt{" * (n * 10) + "2" + "}" * (n * 10),
            "x^{" * (n * 5) + "2" + "}" * (n * 5),
            " ".join(str(rng.randint(0, 99)) for _ in range(n * 200)),
            "\\boxed{" * (n * 20) + "1" + "}" * (n * 20),
        )
    )


def generate(rng: random.Random) -> VerifyRequest:
    """One fuzzed request: a response built from the grammar, a key and the options a row may carry."""
    a = _costly(rng) if rng.random() < 0.03 else expression(rng, rng.randint(0, 4))
    b = expression(rng, rng.randint(0, 3))
    response = rng.choice(_RESPONSES).format(a=a, b=b)
    if rng.random() < 0.05:
        response = "Let me think. " * rng.randint(1, 300) + response
    r = rng.random()
    key = (
        a
        if r < 0.25
        else b
        if r < 0.4
        else expression(rng, rng.randint(0, 2))
        if r < 0.85
        else rng.choice(("9.8 m/s^2", "C", "(C) Cecile", "x^2+2x+1", "45^\\circ", "17", "\\frac{1}{2}", "2, 3"))
    )
    return VerifyRequest(
        response,
        key,
        marker=rng.choice((None, None, "boxed", "gsm8k", "final_answer")),
        fallback=rng.random() < 0.7,
        rel_tol=rng.choice((None, None, 0.01)),
        unit=rng.choice((None,) * 9 + ("m/s^2",)),
    )


def run(n: int, seed: int, workers: int, timeout: float, margin: float) -> dict:
    rng = random.Random(seed)
    escaped: collections.Counter[str] = collections.Counter()
    errors: collections.Counter[str] = collections.Counter()
    reasons: collections.Counter[str] = collections.Counter()
    over: list[dict] = []
    error_examples: list[dict] = []
    lock = threading.Lock()
    prepare(VerifyRequest("\\boxed{1 m}", "1 m"))  # pint's registry is built once per process, not per item
    start = time.perf_counter()

    def too_slow(stage: int, seconds: float, req: VerifyRequest) -> None:
        with lock:
            over.append({"stage": stage, "seconds": round(seconds, 2), "response": req.response[:200], "key": req.answer[:100]})

    def record(verdict: Verdict, req: VerifyRequest) -> None:
        with lock:
            reasons[verdict.reason] += 1
            if verdict.reason.startswith("error"):
                errors[verdict.reason] += 1
                error_examples.append({"reason": verdict.reason, "response": req.response[:300], "key": req.answer[:100]})

    def stage2(pool: VerifierPool, pending: object, req: VerifyRequest) -> None:
        t = time.perf_counter()
        try:
            verdict = pool.run_pending([pending])[0]
        except Exception as exc:  # noqa: BLE001 - counting is the point
            with lock:
                escaped[f"stage2:{type(exc).__name__}"] += 1
            return
        seconds = time.perf_counter() - t
        if seconds > timeout + margin:
            too_slow(2, seconds, req)
        record(verdict, req)

    with VerifierPool(workers=workers, timeout=timeout) as pool, ThreadPoolExecutor(workers) as threads:
        pool.wait_ready(120)  # the first items must not time the workers' interpreter start-up
        in_flight: collections.deque = collections.deque()
        for done in range(n):
            if done and done % 5000 == 0:  # a long run that is cut short still says how far it got
                print(
                    json.dumps(
                        {
                            "progress": done,
                            "escaped": sum(escaped.values()),
                            "over_timeout": len(over),
                            "errors": dict(errors),
                            "seconds": round(time.perf_counter() - start),
                        }
                    ),
                    file=sys.stderr,
                    flush=True,
                )
            req = generate(rng)
            t = time.perf_counter()
            try:
                first = prepare(req)
            except Exception as exc:  # noqa: BLE001 - counting is the point
                escaped[f"stage1:{type(exc).__name__}"] += 1
                continue
            seconds = time.perf_counter() - t
            if seconds > margin:
                too_slow(1, seconds, req)
            if isinstance(first, Verdict):
                record(first, req)
                continue
            in_flight.append(threads.submit(stage2, pool, first, req))
            while len(in_flight) >= workers:  # one call per worker at a time: no queueing
                in_flight.popleft().result()
        for future in in_flight:
            future.result()
    return {
        "inputs": n,
        "seed": seed,
        "workers": workers,
        "timeout_s": timeout,
        "margin_s": margin,
        "escaped_exceptions": sum(escaped.values()),
        "escaped_by_kind": dict(escaped),
        "over_timeout": len(over),
        "over_timeout_examples": over[:5],
        "error_verdicts": dict(errors),
        "error_examples": error_examples[:5],
        "timeouts": reasons.get("timeout", 0),
        "reasons": dict(reasons.most_common()),
        "seconds": round(time.perf_counter() - start, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="number of fuzzed inputs")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the grammar")
    parser.add_argument("--workers", type=int, default=2, help="verifier worker processes")
    parser.add_argument("--timeout", type=float, default=2.0, help="per-item hard timeout in seconds")
    parser.add_argument("--margin", type=float, default=3.0, help="seconds past the timeout that count as a hang")
    args = parser.parse_args()
    print(json.dumps(run(args.n, args.seed, args.workers, args.timeout, args.margin)))


if __name__ == "__main__":
    main()
