"""Countdown: reach a target with arithmetic on given numbers.

The key is the target integer and ``numbers`` the given integers. The answer is an expression
such as ``(25 - 5) * 4`` (a trailing ``= 80`` is allowed). It is correct iff

* it contains only integers, ``+ - * /`` and parentheses (no unary minus, no concatenation),
* every integer in it is one of the given numbers, each given number used **at most once**
  (using all of them is not required, as in the TinyZero-style Countdown datasets),
* it evaluates *exactly* (with fractions, so ``7 / 2 * 2`` is 7) to the target.

It is parsed by the small recursive-descent parser below, never by Python ``eval``.
"""

from __future__ import annotations

import re
from collections import Counter
from fractions import Fraction

from rlvr.verifiers import verdict as R
from rlvr.verifiers.answer_types import ANSWER_TYPES, AnswerType
from rlvr.verifiers.extraction import extract
from rlvr.verifiers.verdict import Verdict, VerifyRequest

_TOKEN_RE = re.compile(r"\s*(?:(\d{1,9})|([-+*/()]))")
_SYMBOLS = {"\\times": "*", "\\cdot": "*", "\u00d7": "*", "\u00f7": "/", "\\div": "/", "\u2212": "-", "x": "*"}
MAX_TOKENS = 200


class ExpressionError(ValueError):
    pass


def _tokens(text: str) -> list[str]:
    for old, new in _SYMBOLS.items():
        text = text.replace(old, new)
    text = text.strip().strip("$").strip()
    out: list[str] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            if text[pos:].strip():
                raise ExpressionError(f"unexpected {text[pos]!r}")
            break
        out.append(m.group(1) or m.group(2))
        pos = m.end()
        if len(out) > MAX_TOKENS:
            raise ExpressionError("expression too long")
    return out


class _Expr:
    def __init__(self, tokens: list[str]):
        self.toks, self.i, self.used = tokens, 0, Counter[int]()

    def peek(self) -> str:
        return self.toks[self.i] if self.i < len(self.toks) else ""

    def sum(self, depth: int) -> Fraction:
        value = self.product(depth)
        while self.peek() in ("+", "-"):
            op = self.toks[self.i]
            self.i += 1
            rhs = self.product(depth)
            value = value + rhs if op == "+" else value - rhs
        return value

    def product(self, depth: int) -> Fraction:
        value = self.atom(depth)
        while self.peek() in ("*", "/"):
            op = self.toks[self.i]
            self.i += 1
            rhs = self.atom(depth)
            if op == "/" and rhs == 0:
                raise ExpressionError("division by zero")
            value = value * rhs if op == "*" else value / rhs
        return value

    def atom(self, depth: int) -> Fraction:
        if depth > 50:
            raise ExpressionError("nesting too deep")
        tok = self.peek()
        self.i += 1
        if tok == "(":
            value = self.sum(depth + 1)
            if self.peek() != ")":
                raise ExpressionError("unclosed parenthesis")
            self.i += 1
            return value
        if tok.isdigit():
            self.used[int(tok)] += 1
            return Fraction(int(tok))
        raise ExpressionError(f"unexpected {tok or 'end'}")


def evaluate_countdown(expression: str, target: int) -> tuple[Fraction, Counter[int]]:
    """Value of the expression and the numbers it uses; ``= target`` at the end is dropped."""
    lhs, eq, rhs = expression.partition("=")
    if eq and rhs.strip().strip("$. ") not in (str(target), ""):
        raise ExpressionError("equation with a different right side")
    parser = _Expr(_tokens(lhs))
    value = parser.sum(0)
    if parser.i != len(parser.toks):
        raise ExpressionError("trailing tokens")
    return value, parser.used


_KEY_RE = re.compile(r"^[-+]?\d+$")


class CountdownType(AnswerType):
    def key_problem(self, answer: str) -> str | None:
        return None if _KEY_RE.match(answer.strip()) else "is not an integer target"

    def extract(self, req: VerifyRequest) -> str | None:
        found = extract(req.response, req.marker, fallback=False)
        if found is None and req.fallback:  # the last line that looks like an expression
            for line in reversed(req.response.strip().splitlines()[-20:]):
                if re.search(r"\d\s*[-+*/×÷]\s*\(?\s*\d", line):
                    return line.strip()
        return found

    def check(self, extracted: str, req: VerifyRequest) -> Verdict:
        try:
            target = int(req.answer.strip())
        except ValueError:
            return Verdict(False, extracted, R.BAD_KEY)
        try:
            value, used = evaluate_countdown(extracted, target)
        except ExpressionError:
            return Verdict(False, extracted, R.UNPARSABLE)
        if used - Counter(req.numbers or []):
            return Verdict(False, extracted, R.NUMBERS_MISUSED)
        ok = value == target
        return Verdict(ok, extracted, R.EQUAL if ok else R.MISMATCH)

    def quick(self, extracted: str, req: VerifyRequest) -> Verdict | None:
        return self.check(extracted, req)  # bounded integer arithmetic: decided in the caller


ANSWER_TYPES.register("countdown", CountdownType())
