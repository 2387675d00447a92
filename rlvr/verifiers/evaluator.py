"""Bounded evaluation of parsed answers to exact rationals or complex floats.

Values are :class:`fractions.Fraction` while the arithmetic stays rational (so ``0.1 + 0.2``
equals ``3/10`` and ``2^{100}`` is exact) and ``complex`` once an irrational step happens
(``\\sqrt{2}``, ``\\pi``, ``\\sin``). Complex rather than float so that ``\\sqrt{-4}`` and
``6+9i`` need no special case.

Every step that can explode is bounded *before* it runs, which is what keeps ``9^{9^{9^{9}}}``
and ``10^{10^{10}}!`` cheap: an exact power is computed only when the result fits in
:data:`MAX_BITS` bits, otherwise its magnitude is estimated with logarithms and anything beyond
1e300 raises :class:`TooLarge`; factorials and binomials are capped likewise. Nothing here calls
sympy or Python ``eval``.
"""

from __future__ import annotations

import cmath
import math
from collections.abc import Mapping
from fractions import Fraction

from rlvr.verifiers.parser import Node, iter_nodes

Value = Fraction | complex

MAX_BITS = 20_000  # exact integers up to ~6,000 digits; far beyond any answer key
MAX_LOG10 = 300.0  # beyond 1e300 a value cannot be compared as a float
MAX_FACTORIAL = 1000


class EvalError(ArithmeticError):
    """The expression has no value (division by zero, free symbol, a structure, ...)."""


class NotNumeric(EvalError):
    """The expression contains a free symbol or a structure, so it has no single value."""


class TooLarge(EvalError):
    """The value exceeds the bounds above; it is never equal to anything we can compare."""


_CONSTS: dict[str, Value] = {"pi": complex(math.pi), "e": complex(math.e), "i": 1j, "oo": complex(math.inf)}

_FUNCS = {
    "sin": cmath.sin,
    "cos": cmath.cos,
    "tan": cmath.tan,
    "arcsin": cmath.asin,
    "asin": cmath.asin,
    "arccos": cmath.acos,
    "acos": cmath.acos,
    "arctan": cmath.atan,
    "atan": cmath.atan,
    "sinh": cmath.sinh,
    "cosh": cmath.cosh,
    "tanh": cmath.tanh,
    "asinh": cmath.asinh,
    "arcsinh": cmath.asinh,
    "arsinh": cmath.asinh,
    "acosh": cmath.acosh,
    "arccosh": cmath.acosh,
    "arcosh": cmath.acosh,
    "atanh": cmath.atanh,
    "arctanh": cmath.atanh,
    "artanh": cmath.atanh,
    "sec": lambda z: 1 / cmath.cos(z),
    "csc": lambda z: 1 / cmath.sin(z),
    "cot": lambda z: 1 / cmath.tan(z),
}


def as_complex(v: Value) -> complex:
    """``v`` as a complex float; :class:`TooLarge` (never OverflowError) beyond float range."""
    if not isinstance(v, Fraction):
        return v
    try:
        return complex(v)
    except OverflowError:
        raise TooLarge("beyond float range") from None


def _check(v: Value) -> Value:
    if isinstance(v, Fraction):
        if v.numerator.bit_length() > MAX_BITS or v.denominator.bit_length() > MAX_BITS:
            raise TooLarge("exact value too large")
        return v
    if cmath.isnan(v):
        raise EvalError("not a number")
    return v


def _exact_root(x: Fraction, q: int) -> Fraction | None:
    """The exact ``q``-th root of a non-negative rational, or None when it is irrational."""
    if x < 0 or q > 64:
        return None
    out = []
    for part in (x.numerator, x.denominator):
        r = round(part ** (1.0 / q)) if part.bit_length() < 1000 else None
        if r is None:
            return None
        for cand in (r - 1, r, r + 1):
            if cand >= 0 and cand**q == part:
                out.append(cand)
                break
        else:
            return None
    return Fraction(out[0], out[1])


def power(base: Value, exp: Value) -> Value:
    if isinstance(base, Fraction) and isinstance(exp, Fraction):
        if exp.denominator == 1:
            e = exp.numerator
            if base == 0:
                if e < 0:
                    raise EvalError("division by zero")
                return Fraction(int(e == 0))
            if base in (1, -1):
                return base**e
            bits = max(base.numerator.bit_length(), base.denominator.bit_length())
            if abs(e) * bits <= MAX_BITS:
                return base**e
        elif base >= 0 and exp.denominator <= 64:
            root = _exact_root(base, exp.denominator)
            if root is not None:
                return power(root, Fraction(exp.numerator))
    b, e = as_complex(base), as_complex(exp)
    if b == 0:
        if e.real > 0:
            return Fraction(0)
        raise EvalError("zero to a non-positive power")
    magnitude = e.real * math.log10(abs(b)) - e.imag * cmath.phase(b) / math.log(10)
    if magnitude > MAX_LOG10:
        raise TooLarge("power too large")
    if magnitude < -MAX_LOG10:
        return complex(0.0)
    if b.imag == 0 and b.real > 0 and e.imag == 0:
        return complex(b.real**e.real)
    return b**e


def _integer(v: Value, what: str) -> int:
    if isinstance(v, Fraction) and v.denominator == 1:
        return v.numerator
    c = as_complex(v)
    if c.imag == 0 and abs(c.real) < 1e15 and c.real == round(c.real):
        return int(round(c.real))
    raise EvalError(f"{what} of a non-integer")


def _function(name: str, x: Value, base: Value | None) -> Value:
    if name == "abs":
        return abs(x) if isinstance(x, Fraction) else complex(abs(x))
    if name == "sqrt":
        return power(x, Fraction(1, 2))
    if name in ("ln", "log"):
        if x == 0:
            raise EvalError("log of zero")
        value = cmath.log(as_complex(x))
        if base is not None:
            if base in (0, 1):
                raise EvalError("bad log base")
            value /= cmath.log(as_complex(base))
        return value
    if name == "exp":
        if as_complex(x).real > 690:
            raise TooLarge("exp too large")
        return cmath.exp(as_complex(x))
    c = as_complex(x)
    if abs(c.imag) > 700:
        raise TooLarge("trig argument too large")
    try:
        return _FUNCS[name](c)
    except (ZeroDivisionError, ValueError) as exc:
        raise EvalError(str(exc)) from None


def evaluate(node: Node, env: Mapping[str, Value] | None = None) -> Value:
    """Value of a scalar expression; free symbols are looked up in ``env``."""
    kind = node[0]
    try:
        if kind == "num":
            return node[1]
        if kind == "const":
            return _CONSTS[node[1]]
        if kind == "sym":
            if env is not None and node[1] in env:
                return env[node[1]]
            raise NotNumeric(f"free symbol {node[1]}")
        if kind == "add":
            total: Value = Fraction(0)
            for t in node[1]:
                total = _check(total + evaluate(t, env))
            return total
        if kind == "mul":
            prod: Value = Fraction(1)
            for f in node[1]:
                prod = _check(prod * evaluate(f, env))
            return prod
        if kind == "neg":
            return -evaluate(node[1], env)
        if kind in ("div", "frac"):
            num, den = evaluate(node[1], env), evaluate(node[2], env)
            if den == 0:
                raise EvalError("division by zero")
            return _check(num / den)
        if kind == "pow":
            return _check(power(evaluate(node[1], env), evaluate(node[2], env)))
        if kind == "fact":
            n = _integer(evaluate(node[1], env), "factorial")
            if not 0 <= n <= MAX_FACTORIAL:
                raise TooLarge("factorial out of range") if n > 0 else EvalError("negative factorial")
            return Fraction(math.factorial(n))
        if kind == "binom":
            n = _integer(evaluate(node[1], env), "binomial")
            k = _integer(evaluate(node[2], env), "binomial")
            if not 0 <= n <= 20 * MAX_FACTORIAL:
                raise TooLarge("binomial out of range")
            return Fraction(math.comb(n, k) if k >= 0 else 0)
        if kind == "pct":
            return evaluate(node[1], env) / 100
        if kind == "fn":
            base = evaluate(node[3], env) if node[3] is not None else None
            return _check(_function(node[1], evaluate(node[2], env), base))
    except (OverflowError, ZeroDivisionError) as exc:
        raise TooLarge(str(exc)) if isinstance(exc, OverflowError) else EvalError(str(exc)) from None
    raise NotNumeric(f"{kind} has no single value")


def free_symbols(node: Node) -> set[str]:
    return {n[1] for n in iter_nodes(node) if n[0] == "sym"}


def close(a: Value, b: Value, rel_tol: float, abs_tol: float = 0.0) -> bool:
    """Tolerant equality; exact for two rationals when both tolerances are zero."""
    if isinstance(a, Fraction) and isinstance(b, Fraction) and rel_tol == 0 and abs_tol == 0:
        return a == b
    try:
        ca, cb = as_complex(a), as_complex(b)
    except TooLarge:  # a rational beyond float range (<320 nines>.5) is still a value
        if isinstance(a, Fraction) and isinstance(b, Fraction):
            return abs(a - b) <= max(Fraction(abs_tol), Fraction(rel_tol) * max(abs(a), abs(b)))
        return False  # a float is finite here, so it is far from a value beyond float range
    if cmath.isinf(ca) or cmath.isinf(cb):
        return ca == cb
    diff = abs(ca - cb)
    return diff <= abs_tol or diff <= rel_tol * max(abs(ca), abs(cb))
