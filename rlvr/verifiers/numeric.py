"""Numeric answers: tolerances, significant figures, percent, and the plain-number fast path.

Tolerance policy (when the request gives none):

* An exact key (integer, fraction, radical) needs the response's value within a relative 1e-6:
  float noise and a six-digit decimal of 1/3 pass, ``0.33`` does not. Answer keys from MATH and
  GSM8K are exact, and a looser rule would teach a policy to round.
* A decimal key (``88.3``, ``2.9 \\times 10^{-11}``) is a measured or rounded value: the response
  also passes when rounding it to the key's significant figures gives the key (``88.27`` for
  ``88.3``). Keys with a single significant figure (``0.5``) stay exact, because in math sets they
  are exact values.
* Quantities (``relative=QUANTITY_REL_TOL``) accept 1% relative error, the usual physics grading.
* An integer key admits integers only: a rational response must equal it (``2.0`` and
  ``\\frac{6}{3}`` pass, ``2.0000019`` and ``1234567.5`` do not, however small the relative gap),
  and a value computed in floats (``\\sqrt{4000001}``) may differ from it by float noise only.
* Explicit ``rel_tol``/``abs_tol`` replace all of the above.
* Explicit ``sig_figs=N`` replaces all of the above, ``rel_tol``/``abs_tol`` included: the response
  and the key, each rounded to N significant figures (half away from zero, on the decimal value
  as written, so ``0.15`` rounds to ``0.2``), must be equal. A response written with fewer digits
  than N is read as its value, i.e. padded with zeros: at N=3, ``9.8`` is ``9.80``, so it matches
  the key ``9.80`` (or ``9.796``) but not ``9.81``. Integer keys get no special case (``1190``
  matches ``1234`` at N=2). Quantities are converted to the key's unit first.

Percent: ``50\\%`` is 0.5 as a value. When only one side carries the sign the bare numbers are
compared too, since "what percent..." keys are stored both as ``50`` and as ``50\\%``, but only
when that number exceeds 1 in magnitude: a number of at most 1 may itself be the fraction (``0.5``
for 50%), so ``0.5\\%`` against ``0.5`` is wrong, as is ``1\\%`` against ``1``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from fractions import Fraction

from rlvr.verifiers import verdict as R
from rlvr.verifiers.answer_types import ANSWER_TYPES, AnswerType, is_plain_number
from rlvr.verifiers.evaluator import EvalError, NotNumeric, TooLarge, Value, as_complex, close, evaluate
from rlvr.verifiers.normalization import clean_latex, compact
from rlvr.verifiers.parser import Node, ParseError, iter_nodes, parse
from rlvr.verifiers.verdict import Verdict, VerifyRequest

EXACT_REL_TOL = 1e-6
FLOAT_NOISE_REL_TOL = 1e-9  # what a float computation of an integer may be off by
QUANTITY_REL_TOL = 1e-2

_MANTISSA_RE = re.compile(r"^\s*[-+]?(\d*\.?\d+)\s*(?:(?:\\times|\\cdot|\*|x|×)\s*10\s*\^|[eE][-+]?\d)")
_DECIMAL_RE = re.compile(r"^\s*[-+]?(\d*\.\d+|\d+)\s*$")


@dataclass(frozen=True)
class Tolerance:
    rel: float = EXACT_REL_TOL
    abs: float = 0.0
    sig_figs: int | None = None  # round the response to this many significant figures
    exact_integers: bool = True  # two integers must be equal (the default policy only)
    figures: int | None = None  # the request's sig_figs: rounded to this many figures, both must be equal

    def match(self, value: Value, key: Value, value_figures: int = 0) -> bool:
        """``value_figures``: significant figures the response was written with; a response of
        three or more figures that is the key correctly rounded (6.02e23 for 6.022e23) matches."""
        if self.figures is not None:
            v, k = round_sig(value, self.figures), round_sig(key, self.figures)
            return v is not None and v == k
        if self.exact_integers and _is_integer(key):
            if isinstance(value, Fraction):
                return value == key  # 2^{100}+1 is not 2^{100}, nor 2.0000019 two
            return close(value, key, FLOAT_NOISE_REL_TOL)
        if close(value, key, self.rel, self.abs):
            return True
        v, k = as_complex(value), as_complex(key)
        if v.imag or k.imag:
            return False
        if (
            self.sig_figs is not None
            and value_figures >= 3
            and value_figures < self.sig_figs
            and _round_sig(k.real, value_figures) == _round_sig(v.real, value_figures)
        ):
            return True
        if self.sig_figs is None:
            return False
        return _round_sig(v.real, self.sig_figs) == _round_sig(k.real, self.sig_figs)


def _is_integer(a: Value) -> bool:
    return isinstance(a, Fraction) and a.denominator == 1


def _round_sig(x: float, n: int) -> str:
    return f"{x:.{n - 1}e}"


def round_sig(value: Value, n: int) -> Decimal | None:
    """``value`` rounded to ``n`` significant figures, half away from zero; None when it is
    complex or not finite. Rationals are rounded exactly; floats (values that went through a unit
    conversion or an irrational step) are first read at 12 significant figures, which drops the
    conversion's float noise, so a written ``0.15`` and ``0.15`` reached as ``0.1499999999999999``
    both give 0.2."""
    if isinstance(value, Fraction):
        with localcontext() as ctx:
            ctx.prec = 60
            exact = Decimal(value.numerator) / Decimal(value.denominator)
    else:
        c = complex(value)
        if c.imag or not math.isfinite(c.real):
            return None
        exact = Decimal(f"{c.real:.12g}")
    if not exact:
        return exact
    with localcontext() as ctx:
        ctx.prec = 60
        return exact.quantize(Decimal(1).scaleb(exact.adjusted() - n + 1), rounding=ROUND_HALF_UP)


def significant_figures(key: str) -> tuple[int, bool]:
    """(significant figures, is a decimal/scientific literal) of a key's mantissa."""
    text = clean_latex(key)
    m = _MANTISSA_RE.match(text)
    decimal = m is not None
    digits = m.group(1) if m else None
    if digits is None:
        m2 = _DECIMAL_RE.match(text.replace(",", ""))
        if m2 is None:
            return 0, False
        digits = m2.group(1)
        decimal = "." in digits
    stripped = digits.replace(".", "").lstrip("0")
    if "." not in digits:
        stripped = stripped.rstrip("0") or stripped
    return max(len(stripped), 1), decimal


def tolerance_for(key: str, req: VerifyRequest, *, quantity: bool = False) -> Tolerance:
    if req.sig_figs is not None:
        return Tolerance(rel=0.0, figures=req.sig_figs, exact_integers=False)
    if req.rel_tol is not None or req.abs_tol is not None:
        return Tolerance(rel=req.rel_tol or 0.0, abs=req.abs_tol or 0.0, exact_integers=False)
    figures, decimal = significant_figures(key)
    sig = figures if decimal and (figures >= 2 or quantity) else None
    return Tolerance(rel=QUANTITY_REL_TOL if quantity else EXACT_REL_TOL, sig_figs=sig, exact_integers=not (quantity or decimal))


def plain_value(text: str) -> Fraction | None:
    """The value of a plain decimal such as ``1,234.5`` or ``$18``; None for anything else."""
    text = text.strip().strip("$").replace("\\$", "").strip().rstrip(".")
    if not is_plain_number(text):
        return None
    try:
        return Fraction(Decimal(text.replace(",", "").replace("+", "")))
    except (InvalidOperation, ValueError):
        return None


def strip_percent(node: Node) -> Node:
    if node[0] == "pct":
        return strip_percent(node[1])
    return node


def has_percent(node: Node) -> bool:
    return any(n[0] == "pct" for n in iter_nodes(node))


def equation_value(node: Node) -> Node:
    """The value an equation chain answers with; anything else is itself.

    ``x = 2``, ``x = 4/2 = 2``, ``(p, q) = (3, 2)``, ``|AB| = 1`` and ``5 \\times 6 \\times 4 = 120``
    answer with their last side: the left is a name (symbols only, no numbers) or the last side
    is a plain value. ``\\approx`` ends the exact part: ``x = 1/3 \\approx 0.33`` and
    ``\\frac{\\sqrt3}{3} \\approx 0.577`` answer with the exact value; only after a bare name
    (``x \\approx 0.33``) is the approximation all there is.
    """
    if node[0] != "rel" or not set(node[1]) <= {"=", "~"}:
        return node
    ops, operands = node[1], node[2]
    exact = operands[: ops.index("~") + 1] if "~" in ops else operands
    if len(exact) < 2:
        if not is_name(operands[0]):
            return operands[0]
        exact = operands
    computed = not any(n[0] == "sym" for n in iter_nodes(exact[0]))  # 5 \\times 6 = 30
    if is_name(exact[0]) or computed and not any(n[0] == "sym" for n in iter_nodes(exact[-1])):
        return exact[-1]
    return node


_NAME_KINDS = {"sym", "mul", "div", "frac", "tuple", "fn", "pow"}


def is_name(node: Node) -> bool:
    """A left-hand side that names the answer: ``x``, ``f(x)``, ``(p, q)``, ``|AB|``,
    ``\\frac{NO}{BO}``, ``V_1``: symbols only, without numbers or operators that compute."""
    has_symbol = False
    for n in iter_nodes(node):
        if n[0] not in _NAME_KINDS or n[0] == "fn" and n[1] != "abs":
            return False
        has_symbol = has_symbol or n[0] == "sym"
    return has_symbol


_WORD_TAIL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ. \t\n;,")


def split_trailing_words(text: str) -> tuple[str, str] | None:
    """``("18", "dollars")`` for ``"18 dollars"``: the text before a run of plain trailing words,
    when that text ends like a value (digit, ``}``, ``)`` or ``.``). A right-to-left scan, linear
    in the length; the regex it replaces backtracked exponentially on long prose keys."""
    i = len(text)
    while i > 0 and (text[i - 1] in _WORD_TAIL_CHARS or not text[i - 1].isascii() and text[i - 1].isalpha()):
        i -= 1  # a unit word in any script: 18 dollars, 42 кг, 4000 千克
    head, tail = text[:i].rstrip(), text[i:].strip(" \t\n.;,")
    while head.endswith(".") and not head[:-1].rstrip()[-1:].isdigit():
        head = head[:-1].rstrip()
    if not head or not tail or not tail[0].isalpha() or head[-1] not in "0123456789}).":
        return None
    return head, tail


def parse_answer(text: str) -> Node:
    """Parse an extracted answer; trailing words (``18 dollars``) are dropped when they are all
    that stops the parse, because a math key's number is the answer, not its unit word."""
    try:
        return parse(text)
    except ParseError:
        split = split_trailing_words(clean_latex(text))
        if split is None:
            raise
        return parse(split[0], cleaned=True)


def compare_numbers(resp: Node, key: Node, tol: Tolerance, resp_figures: int = 0) -> bool:
    """Value equality with the percent rule; raises EvalError if either side has no value."""
    if tol.match(evaluate(resp), evaluate(key), resp_figures):
        return True
    if has_percent(resp) != has_percent(key):
        bare_key = evaluate(strip_percent(key))
        if abs(as_complex(bare_key)) <= 1:
            return False  # 0.5 may be the fraction itself: 0.5% is not 0.5
        return tol.match(evaluate(strip_percent(resp)), bare_key)
    return False


_DECIMAL_COMMA_RE = re.compile(r"^-?\d+,\d+$")


def decimal_commas(resp: str, key: str) -> tuple[str, str]:
    """``1000,99`` against ``1000.99``: a lone number with one comma that is not a thousands
    separator (clean_latex has already removed those) is a decimal comma, but only when the
    other side is a plain decimal number; against a list key ``1,2`` it stays a list."""
    r, k = clean_latex(resp), clean_latex(key)
    if _DECIMAL_COMMA_RE.match(r) and plain_value(k) is not None:
        return r.replace(",", "."), key
    if _DECIMAL_COMMA_RE.match(k) and plain_value(r) is not None:
        return resp, k.replace(",", ".")
    return resp, key


_KEY_NUM = r"[-+]?\s*(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?"
_KEY_NUMBER_RE = re.compile(
    rf"""^\s*(?:
        {_KEY_NUM}(?:[eE][-+]?\d+)?\s*(?:\\times|\\cdot|\*|x|×)\s*\{{?10\}}?\s*\^\s*\{{?\s*[-+]?\s*\d+\s*\}}?  # 2.9 \times 10^{{-11}}
      | {_KEY_NUM}(?:[eE][-+]?\d+)?\s*(?:\\%|%)?                                  # 12, 1,000, -0.5, 3e-5, 50%
      | [-+]?\s*\d+\s*/\s*\d+                                                  # 3/4
      | [-+]?\s*\\[dt]?frac\s*\{{\s*-?\d+\s*\}}\s*\{{\s*\d+\s*\}}              # \frac{{1}}{{2}}
    )\s*$""",
    re.VERBOSE,
)


def is_number_key(text: str) -> bool:
    """A plain number as answer keys write them: integer, decimal, 1,000, 3e-5, 2.9 \\times 10^{-11}, 3/4, \\frac{1}{2}, 50%."""
    return bool(re.search(r"\d", text)) and bool(_KEY_NUMBER_RE.match(text))


class NumericType(AnswerType):
    def key_problem(self, answer: str) -> str | None:
        return None if is_number_key(answer) else "is not a number"

    def quick(self, extracted: str, req: VerifyRequest) -> Verdict | None:
        if compact(extracted) == compact(req.answer):
            return Verdict(True, extracted, R.EQUAL)
        extracted = decimal_commas(extracted, req.answer)[0]
        got, want = plain_value(extracted), plain_value(req.answer)
        if got is None or want is None:
            return None
        ok = tolerance_for(req.answer, req).match(got, want, significant_figures(extracted)[0])
        return Verdict(ok, extracted, R.EQUAL if ok else R.MISMATCH)

    def check(self, extracted: str, req: VerifyRequest) -> Verdict:
        try:
            key = equation_value(parse_answer(req.answer))
            evaluate(key)
        except (ParseError, EvalError):
            return Verdict(False, extracted, R.BAD_KEY)
        try:
            resp = equation_value(parse_answer(extracted))
            ok = compare_numbers(resp, key, tolerance_for(req.answer, req), significant_figures(extracted)[0])
        except TooLarge:
            return Verdict(False, extracted, R.TOO_LARGE)
        except (ParseError, EvalError) as exc:
            from rlvr.verifiers.quantity import bare_number_of
            from rlvr.verifiers.symbolic import equivalent

            value = bare_number_of(extracted)  # "9.8 m/s^2" against a unit-less key "9.8"
            if value is not None:
                ok = tolerance_for(req.answer, req).match(value, evaluate(key))
            elif isinstance(exc, NotNumeric):  # sin^2 x + cos^2 x against 1
                ok = equivalent(resp, key, tolerance_for(req.answer, req))
            else:
                from rlvr.verifiers.extraction import distill, prose_words

                value_text = distill(extracted) if prose_words(extracted) else extracted
                if value_text == extracted:  # a sentence's last value: "it's 1,000.99m²"
                    return Verdict(False, extracted, R.UNPARSABLE)
                return self.check(value_text, req)
        return Verdict(ok, extracted, R.EQUAL if ok else R.MISMATCH)


ANSWER_TYPES.register("numeric", NumericType())
