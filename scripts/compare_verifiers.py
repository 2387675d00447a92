"""Accuracy per category of rlvr.verifiers and math-verify on an answer-equivalence table.

Tables: ``own`` (default) is ``CASES`` in ``tests/test_verify_table.py``; ``peers`` is ``PEERS``
in ``tests/test_verify_peers.py`` (vectors from peer projects' test suites); ``dev``,
``heldback`` and ``adversarial`` are the JSONL files of ``tests/verify_cases/`` (see its README:
``heldback`` is scored once at the end of a piece of work and its failures are never printed).
Rows are (category, response, answer, options, expected).

rlvr is measured through ``VerifierPool`` (``--via pool``, the path ``verify_batch`` takes, with
its hard timeout) or in-process with ``verify_inline`` (``--via inline``, no timeout). A row
whose options this version of ``VerifyRequest`` does not know (``sig_figs`` before it existed)
counts as rejected and is reported as unsupported. math-verify gets
``verify(parse(answer), parse(response))`` with its defaults, the key wrapped in ``$...$`` when
it has no delimiters; options have no math-verify counterpart and are not passed.

Rows rlvr did not decide (unsupported options, the pool's timeouts, stalls and escaped
exceptions) are counted under ``undecided``: timeouts grow on a loaded machine.

Per category: accuracy, balanced accuracy (the mean of the accuracy on right and on wrong
answers), false positives (wrong answers accepted) and false negatives (right answers rejected),
then a physics aggregate and ALL. Prints a table, then one JSON line with the same numbers.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import sys
from collections import defaultdict
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path

from rlvr.verifiers import Verdict, VerifierPool, VerifyRequest, verify_inline

TESTS = Path(__file__).resolve().parent.parent / "tests"
CASES_DIR = TESTS / "verify_cases"
PY_TABLES = {"own": ("test_verify_table.py", "CASES"), "peers": ("test_verify_peers.py", "PEERS")}
JSONL_TABLES = ("dev", "heldback", "adversarial")
TABLES = (*PY_TABLES, *JSONL_TABLES)

# The kinds of answer the issue-11 evaluation covers (dev and heldback rows).
CATEGORIES = (
    "numeric",
    "fraction_expr",
    "choice",
    "multilingual",
    "inequality_interval",
    "equation_system",
    "set_list_tuple",
    "matrix",
    "units_physics",
    "sig_figs",
    "symbolic_identity",
    "text",
)
# Categories scored together as "physics", the third target (>= 0.92).
PHYSICS = ("units_physics", "sig_figs")
# The near misses of adversarial.jsonl, every one of them a wrong answer.
ADVERSARIAL_KINDS = (
    "retraction",
    "two_boxed",
    "hedge",
    "negation",
    "fallback_no_answer",
    "exponent",
    "wrong_unit",
    "unknown_unit",
    "wrong_sign",
    "rounding",
    "list_size",
    "non_integer",
    "percent_one_side",
    "reward_hack",
)
# A pool whose future stays unresolved this long past the item timeout has a stuck or dead
# dispatcher (issue 11: stage 1 runs there unguarded); the row is scored "stalled".
STALL_GRACE_S = 10.0
REQUEST_FIELDS = {f.name for f in dataclasses.fields(VerifyRequest)}

Case = tuple[str, str, str, dict, bool]


def load_jsonl(table: str) -> list[dict]:
    """The rows of ``tests/verify_cases/<table>.jsonl``."""
    path = CASES_DIR / f"{table}.jsonl"
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def load_cases(table: str = "own") -> list[Case]:
    if table in JSONL_TABLES:
        return [(r["category"], r["response"], r["answer"], r["options"], r["expected"]) for r in load_jsonl(table)]
    filename, attribute = PY_TABLES[table]
    spec = importlib.util.spec_from_file_location(f"verify_{table}", TESTS / filename)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return getattr(module, attribute)


def build_request(response: str, answer: str, options: dict) -> VerifyRequest | str:
    """The request, or the reason it cannot be made with this version's ``VerifyRequest``."""
    unknown = sorted(set(options) - REQUEST_FIELDS)
    if unknown:
        return "unsupported-option:" + ",".join(unknown)
    return VerifyRequest(response, answer, **options)


def pool_verdicts(requests: list[VerifyRequest], workers: int, timeout: float) -> list[Verdict]:
    """Verdicts through ``VerifierPool.submit``, one request at a time so that a request that
    kills or wedges the pool is identified: it is scored ``escaped:<exception>`` or ``stalled``
    and a fresh pool takes the rest."""
    results: list[Verdict] = []
    pool = VerifierPool(workers=workers, timeout=timeout)
    try:
        for request in requests:
            try:
                results.append(pool.submit([request]).result(timeout=timeout + STALL_GRACE_S)[0])
                continue
            except FutureTimeout:
                results.append(Verdict(False, None, "stalled"))
            except Exception as exc:  # noqa: BLE001 - the pool's failure is the measurement
                results.append(Verdict(False, None, f"escaped:{type(exc).__name__}"))
            pool.close()
            pool = VerifierPool(workers=workers, timeout=timeout)
    finally:
        pool.close()
    return results


def math_verify_says(response: str, answer: str) -> bool:
    """math-verify's verdict, with the key in ``$...$`` as its README parses gold answers: a bare
    key is only read by its plain-number extractor (``3\\sqrt{13}`` would become ``3``)."""
    from math_verify import parse, verify

    gold = answer if "$" in answer or "\\boxed" in answer else f"${answer}$"
    try:
        return bool(verify(parse(gold), parse(response)))
    except Exception:  # noqa: BLE001 - a crash is an "incorrect" verdict for a trainer
        return False


def scores(rows: list[tuple[bool, bool]]) -> dict[str, float | int]:
    """Accuracy, balanced accuracy, false positives and false negatives of (verdict, expected) pairs."""
    acc = sum(p == e for p, e in rows) / len(rows)
    pos = [p == e for p, e in rows if e]
    neg = [p == e for p, e in rows if not e]
    parts = [sum(x) / len(x) for x in (pos, neg) if x]
    return {
        "acc": round(acc, 3),
        "bal": round(sum(parts) / len(parts), 3),
        "fp": sum(p and not e for p, e in rows),
        "fn": sum(e and not p for p, e in rows),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--table", choices=TABLES, default="own", help="which case table to score")
    parser.add_argument(
        "--via", choices=("pool", "inline"), default="pool", help="measure rlvr through VerifierPool (hard timeout) or verify_inline (none: may hang)"
    )
    parser.add_argument("--timeout", type=float, default=5.0, help="per-item timeout of the pool, seconds")
    parser.add_argument("--workers", type=int, default=2, help="pool worker processes")
    parser.add_argument("--show-failures", action="store_true", help="print the rows rlvr.verifiers gets wrong (refused for heldback)")
    args = parser.parse_args()
    if args.show_failures and args.table == "heldback":
        parser.error("--show-failures is refused for the held-back split: its failures must not guide tuning")
    cases = load_cases(args.table)
    requests = [build_request(response, answer, options) for _, response, answer, options, _ in cases]
    built = [r for r in requests if isinstance(r, VerifyRequest)]
    if args.via == "pool":
        decided = iter(pool_verdicts(built, args.workers, args.timeout))
    else:
        decided = iter(verify_inline(r) for r in built)
    verdicts = [next(decided) if isinstance(r, VerifyRequest) else Verdict(False, None, r) for r in requests]

    results: dict[str, dict[str, list[tuple[bool, bool]]]] = defaultdict(lambda: defaultdict(list))
    reasons: dict[str, int] = defaultdict(int)
    for (category, response, answer, _, expected), verdict in zip(cases, verdicts):
        if verdict.reason.startswith(("unsupported-option", "stalled", "escaped", "timeout")):
            reasons[verdict.reason] += 1
        if args.show_failures and verdict.correct != expected:
            print(
                f"FAIL {category}: expected {expected}, {verdict.reason}, extracted {verdict.extracted!r:.80}, "
                f"answer {answer!r:.80}, response {response[-120:]!r}",
                file=sys.stderr,
            )
        theirs = math_verify_says(response, answer) if isinstance(response, str) else False
        groups = [category, "ALL"] + (["physics"] if category in PHYSICS else [])
        for group in groups:
            results[group]["ours"].append((verdict.correct, expected))
            results[group]["math_verify"].append((theirs, expected))

    order = sorted(results, key=lambda c: (c in ("physics", "ALL"), c == "ALL", c))
    summary: dict = {"table": args.table, "via": args.via, "undecided": dict(reasons)}
    print(f"{'category':20s} {'n':>4s} | {'ours acc':>8s} {'bal':>5s} {'FP':>3s} {'FN':>3s} | {'mv acc':>6s} {'bal':>5s} {'FP':>3s} {'FN':>3s}")
    for category in order:
        ours, theirs = scores(results[category]["ours"]), scores(results[category]["math_verify"])
        summary[category] = {"n": len(results[category]["ours"]), "ours": ours, "math_verify": theirs}
        print(
            f"{category:20s} {len(results[category]['ours']):4d} | {ours['acc']:8.3f} {ours['bal']:5.3f} "
            f"{ours['fp']:3d} {ours['fn']:3d} | {theirs['acc']:6.3f} {theirs['bal']:5.3f} {theirs['fp']:3d} {theirs['fn']:3d}"
        )
    if reasons:
        print("not decided by rlvr: " + ", ".join(f"{k} x{v}" for k, v in sorted(reasons.items())))
    sys.stdout.flush()
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
