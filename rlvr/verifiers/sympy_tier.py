"""The second tier of symbolic comparison: sympy, for what the randomized fast path cannot decide.

The fast path (:mod:`rlvr.verifiers.symbolic`) evaluates both sides at random complex points.
That is exact enough for most answers but wrong in a few known ways, which this tier covers:

* identities that only hold on a real domain (``2\\log a + \\log b`` vs ``\\log(a^2 b)``: at
  negative points the complex logarithms differ by ``2\\pi i``), inverse hyperbolic functions
  against their logarithm forms, angles written in degrees inside functions;
* inequalities and interval forms whose solution sets agree (``|x| \\le 3``, ``x^2 \\le 9``,
  ``[-3, 3]``), and inequalities in several symbols that are positive multiples of each other;
* equations naming the dependent variable differently (``f(x) = 2x + 3`` vs ``y = 2x + 3``) or
  needing a common denominator (``xy = 1`` vs ``y = 1/x``);
* matrix arithmetic written as the answer.

Sympy objects are built directly from the project's parser tree (:mod:`rlvr.verifiers.parser`):
numbers become ``Rational`` from the parsed fraction, symbols ``Symbol`` from the parsed name, and
no text is ever given to ``sympify``/``parse_expr``/``eval``. Trees that are too large (node count,
exponents, factorial arguments, matrix sizes) are refused before sympy sees them, and the whole
decision runs under a soft time budget where a timer can be armed (a pool worker's main thread);
the pool's hard per-item timeout still bounds everything else.

Precision first: :func:`decide` answers True only on a proof (a simplification to zero, equal
solution sets), confirmed at sample points where both sides are real; False only on a
counterexample or two sets that differ; None (the fast path's verdict stands) otherwise.
Importing this module imports sympy, so only :meth:`SymbolicType.check` (worker side) imports it.
"""

from __future__ import annotations

import math
import random
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from fractions import Fraction

import sympy
from sympy import S

from rlvr.verifiers import verdict as R
from rlvr.verifiers.evaluator import MAX_BITS, MAX_FACTORIAL
from rlvr.verifiers.normalization import clean_latex
from rlvr.verifiers.numeric import parse_answer
from rlvr.verifiers.parser import Node, ParseError, iter_nodes, parse
from rlvr.verifiers.symbolic import DEGREE_MARKS, solved_value

TIER = "sympy"
BUDGET_S = 2.0  # soft budget per item; the pool's hard timeout (default 5 s) is the backstop
MAX_NODES = 300  # larger answers are not worth sympy's worst cases
MAX_EXPONENT = 1000  # |numeric exponent|
MAX_SUM_EXPONENT = 32  # of a sum with symbols: (x + y + z)^{1000} expands to half a million terms
MAX_MATRIX_CELLS = 100
MAX_MATRIX_POWER = 64
N_SAMPLES = 24
MIN_AGREEING = 6  # real sample points that must agree when sympy finds no proof
SAMPLE_REL_TOL = 1e-9


def reason(correct: bool) -> str:
    """``sympy:equal`` / ``sympy:mismatch``: the verdict's reason names the tier that decided."""
    return f"{TIER}:{R.EQUAL if correct else R.MISMATCH}"


class Refused(ValueError):
    """The tree is outside what this tier takes on (too large, or a form it does not model)."""


class _OutOfTime(BaseException):
    """Raised by the budget timer; a BaseException so that sympy's own ``except Exception``
    clauses cannot swallow it."""


@contextmanager
def _budget(seconds: float) -> Iterator[None]:
    """Arm SIGALRM for ``seconds`` when that is safe: in a main thread whose SIGALRM nobody else
    uses (a pool worker). Elsewhere (a caller's thread, pytest-timeout's alarm) run unbudgeted."""
    usable = (
        hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, None)
        and signal.getitimer(signal.ITIMER_REAL)[0] == 0
    )
    if not usable:
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise _OutOfTime

    signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        try:
            signal.setitimer(signal.ITIMER_REAL, 0)
        finally:
            signal.signal(signal.SIGALRM, signal.SIG_DFL)


# -- building sympy objects from parser trees ----------------------------------------------------

_FUNCS: dict[str, Callable] = {
    "sin": sympy.sin,
    "cos": sympy.cos,
    "tan": sympy.tan,
    "sec": sympy.sec,
    "csc": sympy.csc,
    "cot": sympy.cot,
    "arcsin": sympy.asin,
    "asin": sympy.asin,
    "arccos": sympy.acos,
    "acos": sympy.acos,
    "arctan": sympy.atan,
    "atan": sympy.atan,
    "sinh": sympy.sinh,
    "cosh": sympy.cosh,
    "tanh": sympy.tanh,
    "asinh": sympy.asinh,
    "arcsinh": sympy.asinh,
    "arsinh": sympy.asinh,
    "acosh": sympy.acosh,
    "arccosh": sympy.acosh,
    "arcosh": sympy.acosh,
    "atanh": sympy.atanh,
    "arctanh": sympy.atanh,
    "artanh": sympy.atanh,
    "exp": sympy.exp,
    "sqrt": sympy.sqrt,
    "abs": sympy.Abs,
    "ln": sympy.log,
    "log": sympy.log,
}
_CONSTS = {"pi": S.Pi, "e": S.Exp1, "i": S.ImaginaryUnit, "oo": S.Infinity}
# Functions whose real domain restricts their argument to be non-negative (see _positive_symbols).
_RESTRICTING = {"ln", "log", "sqrt"}


def _rational(value: Fraction) -> sympy.Rational:
    return sympy.Rational(value.numerator, value.denominator)


class _Builder:
    """Parser tree -> sympy expression or Matrix. Symbols are real; those in ``positive`` are
    positive (symbols the answer's real domain already restricts, see :func:`_positive_symbols`)."""

    def __init__(self, positive: frozenset[str] = frozenset()):
        self.positive = positive

    def symbol(self, name: str) -> sympy.Symbol:
        if name in self.positive:
            return sympy.Symbol(name, positive=True)
        return sympy.Symbol(name, real=True)

    def build(self, node: Node):  # noqa: ANN201 - sympy.Expr or sympy.Matrix
        kind = node[0]
        if kind == "num":
            return _rational(node[1])
        if kind == "sym":
            return self.symbol(node[1])
        if kind == "const":
            return _CONSTS[node[1]]
        if kind in ("add", "mul"):  # folded from the first item: a sum of matrices has no zero
            parts = [self.build(item) for item in node[1]]
            acc = parts[0]
            for part in parts[1:]:
                acc = acc + part if kind == "add" else acc * part
            return acc
        if kind == "neg":
            return -self.build(node[1])
        if kind in ("div", "frac"):
            den = self.build(node[2])
            if isinstance(den, sympy.MatrixBase) or den == 0:
                raise Refused("division by a matrix or by zero")
            return self.build(node[1]) / den
        if kind == "pow":
            return self.power(self.build(node[1]), self.build(node[2]))
        if kind == "fact":
            return sympy.factorial(self.integer_or_symbolic(self.build(node[1]), MAX_FACTORIAL))
        if kind == "binom":
            n = self.integer_or_symbolic(self.build(node[1]), 20 * MAX_FACTORIAL)
            return sympy.binomial(n, self.integer_or_symbolic(self.build(node[2]), 20 * MAX_FACTORIAL))
        if kind == "pct":
            return self.build(node[1]) / 100
        if kind == "fn":
            arg = self.build(node[2])
            if isinstance(arg, sympy.MatrixBase):
                raise Refused("function of a matrix")
            if node[1] in ("ln", "log") and node[3] is not None:
                return sympy.log(arg, self.build(node[3]))
            return _FUNCS[node[1]](arg)
        if kind == "matrix":
            rows = node[1]
            if len(rows) * len(rows[0]) > MAX_MATRIX_CELLS:
                raise Refused("matrix too large")
            return sympy.Matrix([[self.build(cell) for cell in row] for row in rows])
        raise Refused(f"{kind} is not a scalar")

    @staticmethod
    def integer_or_symbolic(value, limit: int):  # noqa: ANN001, ANN205 - sympy objects
        if value.is_Number and not (value.is_Integer and 0 <= value <= limit):
            raise Refused("factorial/binomial argument out of range")
        return value

    @staticmethod
    def power(base, exponent):  # noqa: ANN001, ANN205 - sympy objects
        if isinstance(exponent, sympy.MatrixBase):
            raise Refused("matrix exponent")
        if isinstance(base, sympy.MatrixBase):
            if not (exponent.is_Integer and 0 <= exponent <= MAX_MATRIX_POWER) or not base.is_square:
                raise Refused("matrix power")
            return base ** int(exponent)
        if exponent.is_Number:
            if abs(exponent) > (MAX_SUM_EXPONENT if base.is_Add and base.free_symbols else MAX_EXPONENT):
                raise Refused("exponent too large")
            if base.is_Rational and exponent.is_Integer:
                bits = max(int(base.p).bit_length(), int(base.q).bit_length())
                if bits * abs(int(exponent)) > MAX_BITS:
                    raise Refused("power too large")
        return base**exponent


def _positive_symbols(resp: Node, key: Node) -> frozenset[str]:
    """Symbols to treat as positive: those the key's real domain forces positive (the direct
    argument or radicand of a log or root: ``\\log a``), and those the response forces positive
    when the key's own domain is restricted by them too. The second condition keeps a response
    from buying an assumption (``x\\sqrt{x}/\\sqrt{x}`` is not ``|x|``)."""

    def direct(node: Node) -> set[str]:
        out = set()
        for n in iter_nodes(node):
            if n[0] == "fn" and n[1] in _RESTRICTING and n[2][0] == "sym":
                out.add(n[2][1])
            elif n[0] == "pow" and n[1][0] == "sym" and n[2][0] == "num" and n[2][1].denominator % 2 == 0:
                out.add(n[1][1])
        return out

    def restricted(node: Node) -> set[str]:
        out = set()
        for n in iter_nodes(node):
            inside = None
            if n[0] == "fn" and n[1] in _RESTRICTING:
                inside = n[2]
            elif n[0] == "pow" and n[2][0] == "num" and n[2][1].denominator % 2 == 0:
                inside = n[1]
            if inside is not None:
                out |= {m[1] for m in iter_nodes(inside) if m[0] == "sym"}
        return out

    return frozenset(direct(key) | (direct(resp) & restricted(key)))


# -- proofs and counterexamples --------------------------------------------------------------------


def _is_zero(expr) -> bool:  # noqa: ANN001
    """Whether sympy can show ``expr == 0``: a few rewritings, cheapest first."""
    if expr == 0:
        return True
    candidates: list[Callable] = [sympy.expand, sympy.simplify]
    if expr.has(sympy.log):
        candidates.append(lambda e: sympy.simplify(sympy.expand_log(e)))
    if expr.has(sympy.asinh, sympy.acosh, sympy.atanh):
        candidates.append(lambda e: sympy.simplify(e.rewrite(sympy.log)))
    if expr.has(sympy.Pow):  # radicals: denest before simplifying
        candidates.append(lambda e: sympy.simplify(sympy.sqrtdenest(e)))
    return any(transform(expr) == 0 for transform in candidates)


def _real_value(expr, env: dict) -> float | None:  # noqa: ANN001
    """The value at ``env`` when it is a finite real number (the point is in the real domain)."""
    try:
        value = expr.xreplace(env).evalf(30)
    except (ArithmeticError, ValueError, TypeError):
        return None
    if not value.is_number or value.has(S.NaN, S.ComplexInfinity, S.Infinity, S.NegativeInfinity):
        return None
    re_part, im_part = value.as_real_imag()
    if not (re_part.is_Number and im_part.is_Number):
        return None
    re_f, im_f = float(re_part), float(im_part)
    if not (math.isfinite(re_f) and math.isfinite(im_f)) or abs(im_f) > 1e-12 * max(1.0, abs(re_f)):
        return None  # beyond a float (10^{1000} x) says nothing: inf would "agree" with anything
    return re_f


def _samples(symbols: set, scale: sympy.Rational) -> Iterator[dict]:
    """Random real points, half with magnitudes 0.05 to 3 (log-uniform, so that narrow domains
    such as ``|x| < 1`` get points) and half 1 to 3 times ``scale`` (beyond every constant:
    piecewise answers such as ``5 - x`` for ``|x - 5|`` differ only there)."""
    rng = random.Random(len(symbols))
    ordered = sorted(symbols, key=lambda s: s.name)
    for i in range(N_SAMPLES if symbols else 1):
        env = {}
        for s in ordered:
            if i % 2:
                magnitude = sympy.Rational(rng.randint(1000, 3000), 1000) * scale
            else:
                magnitude = sympy.Rational(round(1000 * 0.05 * 60 ** rng.random()), 1000)
            env[s] = magnitude if s.is_positive or rng.random() < 0.5 else -magnitude
        yield env


def _pointwise(resp, key) -> tuple[int, bool, bool]:  # noqa: ANN001
    """(points in both sides' real domain where they agree, whether some such point disagrees,
    whether the response is undefined at a point where the key is defined)."""
    agreed, differs, shrinks = 0, False, False
    numbers = [abs(n) for e in (resp, key) for n in e.atoms(sympy.Number) if n.is_finite and n.is_real]
    scale = 1 + 2 * min(max(numbers, default=S.One), sympy.Integer(10**6))
    for env in _samples(resp.free_symbols | key.free_symbols, scale):
        vr, vk = _real_value(resp, env), _real_value(key, env)
        if vk is not None and vr is None:
            shrinks = True
        if vr is None or vk is None:
            continue
        if abs(vr - vk) <= SAMPLE_REL_TOL * max(1.0, abs(vr), abs(vk)):
            agreed += 1
        else:
            differs = True
    return agreed, differs, shrinks


def _same_scalar(resp, key) -> bool | None:  # noqa: ANN001
    """Equal on the key's real domain. A proof by simplification, or failing that agreement at
    MIN_AGREEING random real points where the response is defined wherever the key is: the
    randomized identity test of the fast path, moved from complex points (where logarithms and
    inverse functions differ by branch) to the real domain the answer lives on."""
    agreed, differs, shrinks = _pointwise(resp, key)
    if differs:
        return False
    if not (resp.free_symbols or key.free_symbols):
        return True if agreed else None  # two constants, compared to 30 digits at the one "point"
    if agreed >= MIN_AGREEING and not shrinks:
        return True  # enough: no need for simplify, the slow part of this tier
    if agreed == 0:
        return None  # no common real point: nothing a real answer could be checked on
    return True if _is_zero(resp - key) else None


def _same_matrix(a, b) -> bool | None:  # noqa: ANN001
    if not (isinstance(a, sympy.MatrixBase) and isinstance(b, sympy.MatrixBase)):
        return None
    if a.shape != b.shape:
        return False
    verdicts = [_same_scalar(x, y) for x, y in zip(a, b)]
    if False in verdicts:
        return False
    return True if all(verdicts) else None


# -- solution sets of inequalities -----------------------------------------------------------------

_REL = {"<": sympy.StrictLessThan, "<=": sympy.LessThan, ">": sympy.StrictGreaterThan, ">=": sympy.GreaterThan, "!=": sympy.Ne}


def _as_set(node: Node, build: _Builder) -> tuple[sympy.Set, set[str]] | None:
    """The node as a subset of the reals and the variable names it constrains; None when it is
    not one (an equation, a set of numbers, several variables)."""
    kind = node[0]
    if kind == "interval":
        lo, hi, lo_closed, hi_closed = node[1:]
        return sympy.Interval(build.build(lo), build.build(hi), not lo_closed, not hi_closed), set()
    if kind in ("union", "list") and node[1]:
        items = list(node[1])
        first = items[0]
        if kind == "union" and first[0] == "rel" and first[1] == ("in",) and first[2][0][0] == "sym":
            # z \in [a, b] \cup [c, d]: \in binds tighter than \cup in the grammar
            items = [first[2][1], *items[1:]]
            names = {first[2][0][1]}
        else:
            names = set()
        if kind == "union":  # (0, 9) \cup (9, 36): pairs in a union are open intervals
            items = [("interval", *i[1], False, False) if i[0] == "tuple" and len(i[1]) == 2 else i for i in items]
        if kind == "list" and not all(item[0] == "rel" for item in items):
            return None  # a list of values, not "x < -1 or x > 1"
        parts = []
        for item in items:
            sub = _as_set(item, build)
            if sub is None:
                return None
            parts.append(sub[0])
            names |= sub[1]
        return (sympy.Union(*parts), names) if len(names) <= 1 else None
    if kind != "rel":
        return None
    ops, operands = node[1], node[2]
    if ops == ("in",) and operands[0][0] == "sym":
        inner = _as_set(operands[1], build)
        return None if inner is None else (inner[0], {operands[0][1]})
    if not set(ops) <= set(_REL):
        return None
    names = {n[1] for o in operands for n in iter_nodes(o) if n[0] == "sym"}
    if len(names) != 1:
        return None
    var = build.symbol(next(iter(names)))
    sides = [build.build(o) for o in operands]
    result: sympy.Set = S.Reals
    for op, left, right in zip(ops, sides, sides[1:]):
        solved = sympy.solveset(_REL[op](left, right), var, S.Reals)
        if isinstance(solved, sympy.ConditionSet):
            return None
        result = sympy.Intersection(result, solved)
    return result, names


def _isolated(node: Node, allow_abs: bool) -> bool:
    """Whether every inequality in the node bounds the bare variable (``-3 \\le x \\le 3``,
    ``x > 2``; with ``allow_abs`` also ``|x| \\le 3``): a solved form, as intervals are."""
    for n in iter_nodes(node):
        if n[0] == "rel" and n[1] != ("in",):
            for side in n[2]:
                bare = side[0] == "sym" or allow_abs and side[0] == "fn" and side[1] == "abs" and side[2][0] == "sym"
                if not bare and any(m[0] == "sym" for m in iter_nodes(side)):
                    return False
    return True


def _same_sets(a: sympy.Set, b: sympy.Set) -> bool | None:
    if a == b:
        return True
    empty = sympy.Union(sympy.Complement(a, b), sympy.Complement(b, a)).is_empty
    return None if empty is None else bool(empty)


def _inequality_form(node: Node, build: _Builder):  # noqa: ANN202
    """``(F, strict)`` with the relation meaning ``F > 0`` (strict) or ``F >= 0``."""
    if node[0] != "rel" or len(node[1]) != 1 or node[1][0] not in _REL or node[1][0] == "!=":
        return None
    op = node[1][0]
    left, right = (build.build(o) for o in node[2])
    return (right - left if op in ("<", "<=") else left - right), op in ("<", ">")


def _same_inequality(resp: Node, key: Node, build: _Builder) -> bool | None:
    """Inequalities in several symbols: equal when one side is a positive constant times the
    other (``b > a`` and ``a < b``; ``x^2 - 3a < 0`` and ``3x^2 < 9a``). Anything else, for
    instance a form solved for one symbol under a sign assumption on the others, is left
    undecided: that would need a case split over the parameters."""
    r, k = _inequality_form(resp, build), _inequality_form(key, build)
    if r is None or k is None or r[1] != k[1]:
        return None
    ratio = sympy.simplify(r[0] / k[0])
    return True if ratio.is_number and ratio.is_positive else None


# -- equations -------------------------------------------------------------------------------------


def _dependent(lhs: Node, rhs: Node) -> bool:
    """``y`` or ``f(x)`` (parsed as the product of ``f`` and ``x``) naming a function whose value
    is the right side: the named symbol does not occur on the right."""
    rhs_names = {n[1] for n in iter_nodes(rhs) if n[0] == "sym"}
    if lhs[0] == "sym":
        return lhs[1] not in rhs_names
    return lhs[0] == "mul" and all(f[0] == "sym" for f in lhs[1]) and lhs[1][0][1] not in rhs_names and all(f[1] in rhs_names for f in lhs[1][1:])


def _solution_set_numerator(lhs, rhs):  # noqa: ANN001, ANN202
    """``(numerator, denominator)`` of ``lhs - rhs`` over a common denominator."""
    return sympy.fraction(sympy.together(lhs - rhs))


def _denominator_harmless(num, den) -> bool:  # noqa: ANN001
    """Whether ``den`` never vanishes where ``num`` does, so ``num/den = 0`` and ``num = 0``
    have the same solutions (a Groebner basis of ``[1]``: no common zero at all)."""
    if not den.free_symbols:
        return den != 0
    symbols = sorted(num.free_symbols | den.free_symbols, key=lambda s: s.name)
    if not (num.is_polynomial(*symbols) and den.is_polynomial(*symbols)):
        return False
    return list(sympy.groebner([num, den], *symbols)) == [1]


def _same_equation(resp: Node, key: Node, build: _Builder) -> bool | None:
    if solved_value(key):
        return None  # the fast path's rule: x = 2 is answered by x = 2 only (see solved_value)
    (rl, rr), (kl, kr) = resp[2], key[2]
    if _dependent(rl, rr) and _dependent(kl, kr):  # f(x) = 2x + 3 vs y = 2x + 3
        return _same_scalar(build.build(rr), build.build(kr))
    rn, rd = _solution_set_numerator(build.build(rl), build.build(rr))
    kn, kd = _solution_set_numerator(build.build(kl), build.build(kr))
    if kn == 0 or rn == 0:
        return None
    ratio = sympy.cancel(rn / kn)
    if ratio.free_symbols or ratio == 0 or not ratio.is_finite:
        return None  # x^2 = 4 against x = 2: not the same solution set
    return True if _denominator_harmless(rn, rd) and _denominator_harmless(kn, kd) else None


# -- entry point -----------------------------------------------------------------------------------


def _parse(text: str) -> Node:
    """Parse with degree signs kept (``\\sin(90° - x)``) when the text has any."""
    if any(mark in text for mark in DEGREE_MARKS):
        try:
            return parse(clean_latex(text, keep_degrees=True), cleaned=True)
        except ParseError:
            pass
    return parse_answer(text)


def decide(extracted: str, answer: str) -> bool | None:
    """True (equal), False (not equal) or None (undecided: keep the fast path's verdict)."""
    try:
        with _budget(BUDGET_S):
            return _decide(extracted, answer)
    except (_OutOfTime, Exception):  # noqa: BLE001 - out of budget, Refused (too large), a parse
        return None  # error, or sympy failing on an input: each means "cannot decide", never a crash


def _decide(extracted: str, answer: str) -> bool | None:
    resp, key = _parse(extracted), _parse(answer)
    nodes = [list(iter_nodes(n)) for n in (resp, key)]
    if any(len(n) > MAX_NODES for n in nodes) or any(m[0] == "pm" for n in nodes for m in n):
        return None
    build = _Builder(_positive_symbols(resp, key))
    kinds = {m[0] for n in nodes for m in n}
    if "matrix" in kinds:
        return _same_matrix(build.build(resp), build.build(key))
    r_set, k_set = _as_set(resp, build), _as_set(key, build)
    if r_set is None and resp[0] == "tuple" and len(resp[1]) == 2 and k_set is not None:
        r_set = _as_set(("interval", *resp[1], False, False), build)  # (a, b) is an open interval
    if r_set is not None and k_set is not None:
        if _isolated(key, allow_abs=False) and not _isolated(resp, allow_abs=True):
            return None  # a solved key ([-3, 3]) is not answered by restating the problem (x^2 <= 9)
        return _same_sets(r_set[0], k_set[0])
    if resp[0] == "rel" and key[0] == "rel":
        if resp[1] == key[1] == ("=",):
            return _same_equation(resp, key, build)
        return _same_inequality(resp, key, build)
    if resp[0] in ("list", "set", "tuple", "rel", "interval", "union") or key[0] in ("list", "set", "tuple", "rel", "interval", "union"):
        return None
    return _same_scalar(build.build(resp), build.build(key))


def _warm() -> None:
    """Pay sympy's lazy imports and first-call caches (solvers, simplify) at import time, which is
    in a pool worker before it reports ready, instead of inside the first item's budget (a cold
    first inequality takes about a second)."""
    x = sympy.Symbol("x", real=True)
    sympy.solveset(sympy.Abs(x) <= 1, x, S.Reals)
    sympy.simplify(sympy.log(x**2) - sympy.sin(x) ** 2)


_warm()
