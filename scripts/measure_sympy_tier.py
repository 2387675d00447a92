"""The sympy tier on its case table (tests/test_verify_sympy.py): accuracy, latency, math-verify.

* ours: every row through one :class:`VerifierPool` worker, one row at a time, for the per-item
  latency of a verdict (p50/p99 over all rows and over the rows the sympy tier decided), after a
  first pass that warms the worker (one-time loads such as pint's registry are not per-item);
* math-verify: ``verify(parse(key), parse(response))`` (both in ``$...$``) on the same rows, as a
  standalone grader and as "one more opinion" (accept when either accepts; accept only when both
  do), to see whether consulting it would help.

Prints ONE JSON line. Usage: ``python scripts/measure_sympy_tier.py [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import time
from pathlib import Path

from rlvr.verifiers import VerifierPool, VerifyRequest


def _rows() -> list[tuple[str, str, bool]]:
    path = Path(__file__).resolve().parent.parent / "tests" / "test_verify_sympy.py"
    spec = importlib.util.spec_from_file_location("test_verify_sympy", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module.ROWS


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _score(predicted: list[bool], expected: list[bool]) -> dict:
    fp = sum(p and not e for p, e in zip(predicted, expected))
    fn = sum(e and not p for p, e in zip(predicted, expected))
    return {"accuracy": round(1 - (fp + fn) / len(expected), 3), "false_positives": fp, "false_negatives": fn}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="timed passes over the table (after one warm-up pass)")
    args = parser.parse_args()
    rows = _rows()
    expected = [e for _, _, e in rows]
    latencies: list[float] = []
    sympy_latencies: list[float] = []
    with VerifierPool(workers=1, timeout=10) as pool:
        for rep in range(args.repeat + 1):  # pass 0 warms the worker (pint's registry, sympy caches)
            ours = []
            for response, key, _ in rows:
                start = time.perf_counter()
                verdict = pool.verify_many([VerifyRequest(response, key)])[0]
                elapsed = time.perf_counter() - start
                if rep:
                    latencies.append(elapsed)
                    if verdict.reason.startswith("sympy:"):
                        sympy_latencies.append(elapsed)
                ours.append(verdict)
    from math_verify import parse, verify

    theirs = []
    for response, key, _ in rows:
        try:
            wrapped = response if "$" in response else f"${response}$"  # its parser wants math mode
            theirs.append(bool(verify(parse(f"${key}$"), parse(wrapped))))
        except Exception:  # noqa: BLE001 - a crash of the other grader is its "no"
            theirs.append(False)
    mine = [v.correct for v in ours]
    print(
        json.dumps(
            {
                "rows": len(rows),
                "positives": sum(expected),
                "ours": _score(mine, expected),
                "decided_by_sympy": sum(v.reason.startswith("sympy:") for v in ours),
                "latency_ms_all": {"p50": round(1000 * _quantile(latencies, 0.5), 1), "p99": round(1000 * _quantile(latencies, 0.99), 1)},
                "latency_ms_sympy": {
                    "p50": round(1000 * _quantile(sympy_latencies, 0.5), 1),
                    "p99": round(1000 * _quantile(sympy_latencies, 0.99), 1),
                },
                "math_verify": _score(theirs, expected),
                "ours_or_math_verify": _score([a or b for a, b in zip(mine, theirs)], expected),
                "ours_and_math_verify": _score([a and b for a, b in zip(mine, theirs)], expected),
            }
        )
    )


if __name__ == "__main__":
    main()
