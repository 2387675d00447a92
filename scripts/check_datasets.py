#!/usr/bin/env python
"""End-to-end check that datasets and verifiers agree: every reference solution must verify.

For each registered dataset with worked solutions, every (split, row) is judged with
``rlvr.verifiers.verify(solution, answer, **problem.verify_kwargs())``; a reference solution judged
wrong is a disagreement between the answer key, its typing and the verifier. Every row (with or
without a solution) is also checked against itself: its key written as a final answer, with its unit
when it has one (``\\boxed{2.9 \\times 10^{-11} m}``), must verify, which catches keys or units the
verifier cannot read. Prints one JSON object: per dataset and split the rows with a solution, the
agreement rate, the key self-check rate, the verdict reasons of the disagreements and examples.

    python scripts/check_datasets.py                      # all datasets (about a minute)
    python scripts/check_datasets.py --datasets gsm8k math500 --limit 200 --examples 5
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
from typing import Any

from tqdm import tqdm

from rlvr.data import DATASETS, DatasetConfig, get_dataset, load_problems

# The synthetic datasets are checked on their held-out splits at both difficulties.
SYNTHETIC = {"arith": [{"level": "easy"}, {"level": "hard"}], "countdown": [{}]}
FILE_LOADERS = {"jsonl", "csv", "parquet", "hf"}


def check(name: str, split: str, options: dict[str, Any], limit: int | None, n_examples: int) -> dict[str, Any]:
    from rlvr.verifiers import verify

    problems = load_problems(DatasetConfig(name=name, split=split, options=options))[:limit]
    keys_ok = 0
    key_failures = []
    for p in tqdm(problems, desc=f"{name}[{split}] keys", leave=False, file=sys.stderr):
        key = p.answer if p.answer_type == "countdown" or not p.unit else f"{p.answer} {p.unit}"
        v = verify(f"\\boxed{{{key}}}" if p.answer_type != "countdown" else p.solution or "", p.answer, **p.verify_kwargs())
        keys_ok += v.correct
        if not v.correct and len(key_failures) < n_examples:
            key_failures.append({"id": p.id, "response": key, "reason": v.reason, "kwargs": p.verify_kwargs()})
    result: dict[str, Any] = {"rows": len(problems), "key_self_rate": round(keys_ok / len(problems), 4), "key_failures": key_failures}
    solved = [p for p in problems if p.solution]
    if not solved:
        return {**result, "rows_with_solution": 0}
    reasons: collections.Counter[str] = collections.Counter()
    examples = []
    agree = 0
    for p in tqdm(solved, desc=f"{name}[{split}]", leave=False, file=sys.stderr):
        v = verify(p.solution, p.answer, **p.verify_kwargs())
        if v.correct:
            agree += 1
            continue
        reasons[v.reason] += 1
        if len(examples) < n_examples:
            examples.append(
                {
                    "id": p.id,
                    "answer": p.answer,
                    "extracted": v.extracted,
                    "reason": v.reason,
                    "kwargs": p.verify_kwargs(),
                    "solution_tail": p.solution[-160:],
                }
            )
    return {
        **result,
        "rows_with_solution": len(solved),
        "agree": agree,
        "rate": round(agree / len(solved), 4),
        "disagreement_reasons": dict(reasons.most_common()),
        "examples": examples,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="*", help="names to check (default: all registered ones)")
    parser.add_argument("--limit", type=int, default=None, help="at most this many rows per dataset split")
    parser.add_argument("--examples", type=int, default=3, help="disagreement examples to show per dataset")
    args = parser.parse_args()
    names = args.datasets or [n for n in DATASETS.names() if n not in FILE_LOADERS]
    report: dict[str, Any] = {}
    for name in names:
        for options in SYNTHETIC.get(name, [{}]):
            splits = ["test"] if name in SYNTHETIC else get_dataset(name).splits
            for split in splits:
                label = f"{name}[{split}]" + "".join(f"{{{k}={v}}}" for k, v in options.items())
                report[label] = check(name, split, options, args.limit, args.examples)
    print(json.dumps(report, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
