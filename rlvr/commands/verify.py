"""``rlvr verify "<response>" "<answer>"``: check one response against an answer key.

Prints the verdict and its reason (or one JSON object with ``--json``); the exit code is 0 when
the answer is correct and 1 when it is not, so shell scripts can branch on it.
"""

from __future__ import annotations

import argparse
import json

from rlvr.errors import RlvrError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from rlvr.verifiers import ANSWER_TYPES, MARKERS  # the registries list the names (plug-ins too)

    parser.add_argument("response", help="the model response, or a bare answer")
    parser.add_argument("answer", help="the answer key as the dataset stores it")
    parser.add_argument("--answer-type", default=None, help=f"{', '.join(ANSWER_TYPES.names())} (default: inferred from the key)")
    parser.add_argument("--unit", default=None, help="the key's unit when given apart from it, e.g. m/s")
    parser.add_argument("--rel-tol", type=float, default=None, help="relative tolerance, e.g. 0.02")
    parser.add_argument("--abs-tol", type=float, default=None, help="absolute tolerance")
    parser.add_argument(
        "--sig-figs", type=int, default=None, metavar="N", help="compare both values rounded to N significant figures instead of a tolerance"
    )
    parser.add_argument("--choices", nargs="+", default=None, help="option texts for multiple choice, A first")
    parser.add_argument("--numbers", type=int, nargs="+", default=None, help="countdown: the given numbers")
    parser.add_argument("--marker", default=None, help=f"extraction style: {', '.join(MARKERS.names())} (default: any, most explicit first)")
    parser.add_argument("--no-fallback", action="store_true", help="do not fall back to the last number")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds before the verdict is 'timeout'")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    from rlvr.verifiers import ANSWER_TYPES, MARKERS, verify
    from rlvr.verifiers.verdict import sig_figs_problem

    if args.answer_type not in (None, "auto") and args.answer_type not in ANSWER_TYPES:
        raise RlvrError(f"--answer-type: unknown '{args.answer_type}' (known: {', '.join(ANSWER_TYPES.names())})")
    if args.marker is not None and args.marker not in MARKERS:
        raise RlvrError(f"--marker: unknown '{args.marker}' (known: {', '.join(MARKERS.names())})")
    problem = sig_figs_problem(args.sig_figs)
    if problem is not None:
        raise RlvrError(f"--sig-figs: {problem}")
    verdict = verify(
        args.response,
        args.answer,
        answer_type=args.answer_type,
        rel_tol=args.rel_tol,
        abs_tol=args.abs_tol,
        unit=args.unit,
        choices=args.choices,
        numbers=args.numbers,
        marker=args.marker,
        timeout=args.timeout,
        fallback=not args.no_fallback,
        sig_figs=args.sig_figs,
    )
    if args.json:
        print(json.dumps({"correct": verdict.correct, "extracted": verdict.extracted, "reason": verdict.reason}))
    else:
        print(f"{'correct' if verdict.correct else 'incorrect'} ({verdict.reason}); extracted: {verdict.extracted!r}")
    return 0 if verdict.correct else 1
