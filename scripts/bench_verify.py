"""Throughput and latency of rlvr.verifiers against math-verify on the same cases, in one run.

Cases are a realistic trainer mix built from the GSM8K test and MATH-500 answer keys: the worked
solution rewritten as a model response (GSM8K ends with ``#### N``, "The final answer is
$\\boxed{N}$" or a bare last sentence; MATH keeps its ``\\boxed{}``), with 30% of responses given
another row's final answer so that both verdicts occur.

* ours: one :class:`VerifierPool` (2 workers), all cases in one ``verify_many`` call for
  verdicts/s; then every case alone (``verify_many([case])``) for per-verdict latency.
* math-verify: ``verify(parse(gold), parse(pred))`` in this process, one case at a time
  (its ``signal.alarm`` timeouts need the main thread), which gives both figures.

Prints ONE JSON line, with the machine's CPU count and load average at the end of the run (on a
shared machine the figures depend on it). Usage: ``python scripts/bench_verify.py [--data DIR] [--n 2000]``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

from tqdm import tqdm

from rlvr.verifiers import VerifierPool, VerifyRequest


def _load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def build_cases(data: Path, n: int, seed: int = 0) -> list[tuple[VerifyRequest, bool]]:
    rng = random.Random(seed)
    gsm, math = _load(data / "gsm8k_test.jsonl"), _load(data / "math500_test.jsonl")
    cases: list[tuple[VerifyRequest, bool]] = []
    while len(cases) < n:
        if rng.random() < 0.6:
            row = rng.choice(gsm)
            wrong = rng.random() < 0.3
            final = str(int(row["answer"].replace(",", "")) + rng.randint(1, 9)) if wrong else row["answer"]
            style = rng.randrange(3)
            body = row["solution"].strip()
            tail = (f"\n#### {final}", f"\nThe final answer is $\\boxed{{{final}}}$.", f"\nSo the answer is {final}.")[style]
            cases.append((VerifyRequest(body + tail, row["answer"]), not wrong))
        else:
            row = rng.choice(math)
            wrong = rng.random() < 0.3
            solution = row["solution"]
            if wrong:
                other = rng.choice(math)["answer"]
                if other == row["answer"]:
                    continue
                cut = solution.rfind("\\boxed{")
                solution = solution[:cut] + "\\boxed{" + other + "}." if cut >= 0 else solution + f" \\boxed{{{other}}}"
            cases.append((VerifyRequest(solution, row["answer"]), not wrong))
    return cases


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bench_ours(cases: list[tuple[VerifyRequest, bool]], workers: int) -> dict:
    requests = [r for r, _ in cases]
    with VerifierPool(workers=workers) as pool:
        pool.wait_ready(120)
        pool.verify_many(requests[:50])  # start-up (pint registry) is not a per-verdict cost
        start = time.perf_counter()
        verdicts = pool.verify_many(requests)
        elapsed = time.perf_counter() - start
        latencies = []
        for r in tqdm(requests, desc="ours, one at a time", file=sys.stderr, leave=False):
            t = time.perf_counter()
            pool.verify_many([r])
            latencies.append(time.perf_counter() - t)
    accuracy = statistics.mean(v.correct == label for v, (_, label) in zip(verdicts, cases))
    return {
        "verdicts_per_s": round(len(requests) / elapsed, 1),
        "p50_ms": round(_pct(latencies, 0.5) * 1e3, 3),
        "p99_ms": round(_pct(latencies, 0.99) * 1e3, 3),
        "accuracy": round(accuracy, 4),
    }


def bench_math_verify(cases: list[tuple[VerifyRequest, bool]]) -> dict:
    from math_verify import parse, verify

    latencies, correct = [], []
    for r, label in tqdm(cases, desc="math-verify", file=sys.stderr, leave=False):
        t = time.perf_counter()
        try:
            ok = bool(verify(parse(r.answer), parse(r.response)))
        except Exception:  # noqa: BLE001 - a crash counts as "incorrect", as a trainer would treat it
            ok = False
        latencies.append(time.perf_counter() - t)
        correct.append(ok == label)
    total = sum(latencies)
    return {
        "verdicts_per_s": round(len(cases) / total, 1),
        "p50_ms": round(_pct(latencies, 0.5) * 1e3, 3),
        "p99_ms": round(_pct(latencies, 0.99) * 1e3, 3),
        "accuracy": round(statistics.mean(correct), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data"), help="folder with the JSONL files")
    parser.add_argument("--n", type=int, default=2000, help="number of cases")
    parser.add_argument("--workers", type=int, default=2, help="verifier worker processes")
    args = parser.parse_args()
    cases = build_cases(args.data, args.n)
    ours = bench_ours(cases, args.workers)
    theirs = bench_math_verify(cases)
    print(
        json.dumps(
            {
                "cases": len(cases),
                "mix": "gsm8k_test 60% + math500 40%, 30% wrong answers",
                "workers": args.workers,
                "ours": ours,
                "math_verify": theirs,
                "throughput_ratio": round(ours["verdicts_per_s"] / theirs["verdicts_per_s"], 2),
                "p99_ratio": round(theirs["p99_ms"] / ours["p99_ms"], 2),
                "cpus": os.cpu_count(),
                "load_avg_1m": round(os.getloadavg()[0], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
