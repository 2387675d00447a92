"""Symbolic answers: expressions, equations, intervals, sets, tuples and matrices.

Equivalence of two expressions with free symbols is decided by randomized identity testing:
both sides are evaluated (exactly where rational, else in complex floating point) at several
random points, positive and negative, and must agree at all of them within a relative 1e-8.
Two different rational functions agree at a random point with probability zero, and the same
holds for the elementary functions answers use; unlike ``sympy.simplify`` this never hangs, has
no worst case, and needs no ``sympify`` of anything. Points where either side is undefined
(division by zero) are skipped and replaced.

Structure rules (the key decides):

* a bare comma list or a set ``\\{...\\}`` is unordered; a tuple ``(a, b)`` is ordered;
* ``(a, b)`` also equals the open interval with those ends; ``[a, b)`` is an interval;
* inequalities in one variable (``x > 2``, ``-1 < x \\le 3``, ``x \\in [0, 1]``) are intervals,
  so ``x > 2`` equals ``(2, \\infty)``; unions compare as sorted lists of intervals;
* ``x = 2`` equals ``2``; two equations are equal when their sides agree (same left symbol) or
  when ``lhs - rhs`` of one is a non-zero constant multiple of the other's
  (``y = 2x + 1`` and ``2x - y + 1 = 0``), except that a solved key ``x = 2`` asks for the value
  and is not answered by ``2x = 4`` (nor by the question's own equation restated);
* a key naming its variables (``x = 1, y = 2``, ``p=5,q=2;p=7,q=2``, ``(p, q) = (5, 2)``) is a
  set of solutions, matched by variable name, in any order of solutions;
* ``a \\pm b`` is the list ``a + b, a - b``; matrices compare shape and entries.

The cascade: :meth:`SymbolicType.check` runs these rules first (the fast path); where they say
"not equal" and the answer has symbols, relations, intervals, matrices or degrees, the sympy tier
(:mod:`rlvr.verifiers.sympy_tier`, worker side only) may overrule with a proof or confirm with a
counterexample, and its verdicts carry the reasons ``sympy:equal`` / ``sympy:mismatch``. When it
cannot decide, the fast path's verdict stands.
"""

from __future__ import annotations

import random
from dataclasses import replace
from fractions import Fraction

from rlvr.verifiers import verdict as R
from rlvr.verifiers.answer_types import ANSWER_TYPES, AnswerType
from rlvr.verifiers.evaluator import EvalError, NotNumeric, TooLarge, Value, as_complex, close, evaluate, free_symbols
from rlvr.verifiers.normalization import compact
from rlvr.verifiers.numeric import (
    Tolerance,
    compare_numbers,
    decimal_commas,
    equation_value,
    is_name,
    parse_answer,
    significant_figures,
    tolerance_for,
)
from rlvr.verifiers.parser import NODE_KINDS, Node, ParseError, iter_nodes
from rlvr.verifiers.verdict import Verdict, VerifyRequest

IDENTITY_REL_TOL = 1e-8
N_POINTS = 5
MAX_ITEMS = 64  # longest list/set compared element by element
_INEQ = {"<", "<=", ">", ">="}
_STRUCTURES = {"list", "tuple", "set", "interval", "union", "rel", "matrix", "pm"}


def _points(names: list[str], seed: int, scale: float = 1.0) -> list[dict[str, Value]]:
    rng = random.Random(seed)
    out = []
    for _ in range(N_POINTS * 3):  # spares for points where a side is undefined
        out.append({n: complex(rng.choice((-1, 1)) * rng.uniform(0.3, 2.7) * scale) for n in names})
    return out


def _piecewise_scale(a: Node, b: Node) -> float | None:
    """A sampling scale beyond every constant, for expressions with ``|...|`` or roots: those are
    piecewise on the reals, so ``5 - x`` and ``|x - 5|`` agree at every point below 5 and the
    usual points (magnitudes 0.3 to 2.7) cannot tell them apart. None when neither side has one."""
    nodes = [n for node in (a, b) for n in iter_nodes(node)]
    if not any(
        n[0] == "fn" and n[1] in ("abs", "sqrt") or n[0] == "pow" and n[2][0] != "num" or n[0] == "pow" and n[2][1].denominator != 1 for n in nodes
    ):
        return None
    biggest = max((abs(n[1]) for n in nodes if n[0] == "num"), default=Fraction(1))
    return 1.0 + 2.0 * float(min(biggest, Fraction(10**6)))


def identical(a: Node, b: Node) -> bool:
    """Randomized identity test of two scalar expressions with free symbols (at large points as
    well when they are piecewise, see :func:`_piecewise_scale`)."""
    scale = _piecewise_scale(a, b)
    return _identical_at(a, b, 1.0) and (scale is None or _identical_at(a, b, scale))


def _identical_at(a: Node, b: Node, scale: float) -> bool:
    names = sorted(free_symbols(a) | free_symbols(b))
    agreed = 0
    for env in _points(names, seed=len(names), scale=scale):
        try:
            va, vb = evaluate(a, env), evaluate(b, env)
        except TooLarge:
            return False
        except EvalError:
            continue
        if not close(va, vb, IDENTITY_REL_TOL, 1e-12):
            return False
        agreed += 1
        if agreed == N_POINTS:
            return True
    return False


def proportional(a: Node, b: Node) -> bool:
    """Whether ``a = c * b`` for a non-zero constant ``c`` (as functions of their symbols)."""
    names = sorted(free_symbols(a) | free_symbols(b))
    ratio: complex | None = None
    agreed = 0
    for env in _points(names, seed=7 + len(names)):
        try:
            va, vb = as_complex(evaluate(a, env)), as_complex(evaluate(b, env))
        except TooLarge:
            return False
        except EvalError:
            continue
        if abs(vb) < 1e-12 or abs(va) < 1e-12:
            if abs(va) < 1e-12 and abs(vb) < 1e-12:
                continue
            return False
        r = va / vb
        if ratio is None:
            ratio = r
        elif abs(r - ratio) > IDENTITY_REL_TOL * abs(ratio):
            return False
        agreed += 1
        if agreed == N_POINTS:
            return True
    return False


MAX_PM = 6  # ± signs expanded per comparison: each doubles the work


def _expand_pm(node: Node) -> list[Node] | None:
    """``a \\pm b`` as [a + b, a - b] (first ± only, applied again by the caller); None if none.
    In a list or set each item expands in place, ``\\pm 1, \\pm 2`` being ``1, -1, 2, -2``
    rather than a list of lists (which would also double the work at every sign)."""
    if node[0] in ("list", "set") and any(_expand_pm(item) for item in node[1]):
        items: list[Node] = []
        for item in node[1]:
            items.extend(_all_signs(item))
        return [(node[0], tuple(items))]
    for n in iter_nodes(node):
        if n[0] == "pm":
            plus, minus = ("add", (n[1], n[2])), ("add", (n[1], ("neg", n[2])))
            return [_replace(node, n, plus), _replace(node, n, minus)]
    return None


def _all_signs(node: Node) -> list[Node]:
    """Every sign choice of the ± in ``node`` (``node`` alone when it has none)."""
    expanded = _expand_pm(node)
    return [node] if expanded is None else [leaf for e in expanded for leaf in _all_signs(e)]


def _pm_count(node: Node) -> int:
    return sum(1 for n in iter_nodes(node) if n[0] == "pm")


def _replace(node: Node, old: Node, new: Node) -> Node:
    if node is old:
        return new
    parts: list[object] = [node[0]]
    for part in node[1:]:
        if isinstance(part, tuple) and part and isinstance(part[0], str) and part[0] in NODE_KINDS:
            parts.append(_replace(part, old, new))
        elif isinstance(part, tuple):
            parts.append(tuple(_replace(p, old, new) if isinstance(p, tuple) and p and isinstance(p[0], str) else p for p in part))
        else:
            parts.append(part)
    return tuple(parts)


def _intervals(node: Node, labels: bool = True) -> list[tuple[Node, Node, bool, bool]] | None:
    """The node as a list of intervals, or None when it is not a set of reals. With ``labels``
    the bounded side may be any name (``0 < f(x) < 1`` against ``(0, 1)``); between two
    relations it must be one symbol, else ``ab > 0`` would be the interval of ``a > 0``."""
    kind = node[0]
    if kind == "interval":
        return [node[1:]]  # type: ignore[list-item]
    if kind == "list" and all(item[0] == "rel" for item in node[1]):  # x < -1 or x > 1
        kind, node = "union", ("union", node[1])
    if kind == "union":
        out: list[tuple[Node, Node, bool, bool]] = []
        for item in node[1]:
            if item[0] == "tuple" and len(item[1]) == 2:  # (0,9) \cup (9,36)
                item = ("interval", item[1][0], item[1][1], False, False)
            sub = _intervals(item, labels)
            if sub is None:
                return None
            out.extend(sub)
        return out
    if kind == "rel":
        ops, operands = node[1], node[2]
        if ops == ("in",) and is_name(operands[0]):
            return _intervals(operands[1], labels)
        if not set(ops) <= _INEQ:
            return None
        varying = [i for i, o in enumerate(operands) if free_symbols(o)]
        if len(varying) != 1:
            return None
        if not (is_name(operands[varying[0]]) if labels else operands[varying[0]][0] == "sym"):
            solved = _solve_linear(ops, operands, varying[0])
            if solved is None:
                return None
            ops, operands = solved
        syms = varying
        s = syms[0]
        inf, ninf = ("const", "oo"), ("neg", ("const", "oo"))
        lo, hi, lo_c, hi_c = ninf, inf, False, False
        for j, op in enumerate(ops):  # operands[j] op operands[j+1]
            left, right = operands[j], operands[j + 1]
            if j + 1 == s:  # bound op x
                if op in ("<", "<="):
                    lo, lo_c = left, op == "<="
                else:
                    hi, hi_c = left, op == ">="
            elif j == s:  # x op bound
                if op in ("<", "<="):
                    hi, hi_c = right, op == "<="
                else:
                    lo, lo_c = right, op == ">="
        return [(lo, hi, lo_c, hi_c)]
    return None


_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}


def _solve_linear(ops: tuple, operands: tuple, v: int) -> tuple[tuple, tuple] | None:
    """``-x > -1`` as ``x < 1``: when the one varying side is ``a x + b`` in a single symbol
    (checked at four points), every bound ``c`` becomes ``(c - b) / a`` and a negative ``a``
    flips the inequalities. None when the side is not linear."""
    names = free_symbols(operands[v])
    if len(names) != 1:
        return None
    name = next(iter(names))
    side = operands[v]
    try:
        at = {x: evaluate(side, {name: Fraction(x)}) for x in (0, 1, 2, -3)}
        b, a = at[0], at[1] - at[0]
        if a == 0 or any(not close(at[x], a * x + b, 1e-9, 1e-12) for x in (2, -3)):
            return None
        bounds = [evaluate(o) for i, o in enumerate(operands) if i != v]
    except EvalError:
        return None
    if as_complex(a).imag:
        return None
    new_bounds = iter([("num", (c - b) / a) for c in bounds])
    new_operands = tuple(("sym", name) if i == v else next(new_bounds) for i in range(len(operands)))
    new_ops = tuple(_FLIP[o] for o in ops) if as_complex(a).real < 0 else ops
    return new_ops, new_operands


def _interval_key(iv: tuple[Node, Node, bool, bool]) -> float:
    try:
        return as_complex(evaluate(iv[0])).real
    except EvalError:
        return 0.0


def _same_intervals(a: list, b: list, tol: Tolerance) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(sorted(a, key=_interval_key), sorted(b, key=_interval_key)):
        if x[2] != y[2] or x[3] != y[3]:
            return False
        if not (_scalar_equal(x[0], y[0], tol) and _scalar_equal(x[1], y[1], tol)):
            return False
    return True


def _scalar_equal(resp: Node, key: Node, tol: Tolerance) -> bool:
    if free_symbols(resp) or free_symbols(key):
        return identical(resp, key)
    return compare_numbers(resp, key, tol)


def _unordered(resp: tuple[Node, ...], key: tuple[Node, ...], tol: Tolerance) -> bool:
    """Set equality: every response item is some key item and every key item is answered.
    A repeated solution (``(3, 17), (3, 17)``) is the same set; an extra candidate is not."""
    if len(key) > MAX_ITEMS or len(resp) > MAX_ITEMS:
        return False
    return all(any(equivalent(r, k, tol) for r in resp) for k in key) and all(any(equivalent(r, k, tol) for k in key) for r in resp)


def _ordered(resp: tuple[Node, ...], key: tuple[Node, ...], tol: Tolerance) -> bool:
    return len(resp) == len(key) <= MAX_ITEMS and all(equivalent(r, k, tol) for r, k in zip(resp, key))


def _equations(resp: Node, key: Node, tol: Tolerance) -> bool:
    (rops, rside), (kops, ksides) = resp[1:], key[1:]
    if set(rops) != {"="} or set(kops) != {"="}:
        if rops == kops and len(rside) == len(ksides):  # same inequality chain, same sides
            return all(_scalar_equal(r, k, tol) for r, k in zip(rside, ksides))
        return False
    if rside[0][0] == "sym" and ksides[0][0] == "sym" and rside[0][1] == ksides[0][1]:
        return equivalent(rside[-1], ksides[-1], tol)
    if solved_value(key):  # x = 2 asks for the value: 2x = 4 (the problem restated) is not it
        if len(rside) == 2 and rside[1] == ksides[0] and not free_symbols(rside[0]):  # 2 = x
            return equivalent(rside[0], ksides[1], tol)
        return False
    if len(rside) != 2 or len(ksides) != 2:
        return False
    diff_r = ("add", (rside[0], ("neg", rside[1])))
    diff_k = ("add", (ksides[0], ("neg", ksides[1])))
    return proportional(diff_r, diff_k)


def solved_value(node: Node) -> bool:
    """``x = 2``: an equation solved for one symbol, with a value (no symbol) on the right. Such a
    key asks for that value, so an equation with the same solutions but not solved (``2x = 4``,
    or the question's own ``3x + 7 = 13``) does not answer it; a curve ``y = 2x + 3`` is no
    solved value, and its rearrangements do answer it."""
    return node[0] == "rel" and node[1] == ("=",) and node[2][0][0] == "sym" and not free_symbols(node[2][1])


def _member_set(node: Node) -> Node:
    """``x \\in \\{2, 3\\}`` answers with the set."""
    if node[0] == "rel" and node[1] == ("in",) and node[2][0][0] == "sym" and node[2][1][0] == "set":
        return node[2][1]
    return node


def _exact_part(node: Node) -> Node:
    """``x = 1/3 \\approx 0.33`` compares as ``x = 1/3``: what follows ``\\approx`` is a rounding."""
    if node[0] == "rel" and "~" in node[1]:
        k = node[1].index("~")
        if k >= 1:
            return ("rel", node[1][:k], node[2][: k + 1])
        if not is_name(node[2][0]):
            return node[2][0]  # "\\frac{\\sqrt3}{3} \\approx 0.577": the exact value is the answer
        return ("rel", ("=",) * len(node[1]), node[2])  # "x \\approx 0.33" is all there is
    return node


def _assignment(node: Node) -> tuple[str, Node] | None:
    if node[0] == "rel" and node[1] == ("=",) and node[2][0][0] == "sym":
        return node[2][0][1], node[2][1]
    return None


def _named_tuple(node: Node) -> tuple[tuple[str, ...], Node] | None:
    """``(p, q) = (5, 2)`` or ``(p, q) \\in \\{...\\}`` as (names, right side)."""
    if node[0] == "rel" and node[1] in (("=",), ("in",)) and node[2][0][0] == "tuple":
        names = node[2][0][1]
        if all(n[0] == "sym" for n in names):
            return tuple(n[1] for n in names), node[2][1]
    return None


def _rows(names: tuple[str, ...], tuples: list[Node]) -> tuple[tuple[str, ...], list[tuple[Node, ...]]] | None:
    if not tuples or any(t[0] != "tuple" or len(t[1]) != len(names) for t in tuples):
        return None
    return names, [t[1] for t in tuples]


def _solutions(node: Node) -> tuple[tuple[str, ...] | None, list[tuple[Node, ...]]] | None:
    """The node as a set of solutions: (variable names in written order, or None when unnamed;
    the solution tuples). ``p=5, q=2; p=7, q=2`` starts a new solution where a name repeats."""
    named = _named_tuple(node)
    if named is not None:
        names, rhs = named
        return _rows(names, [rhs] if rhs[0] == "tuple" else list(rhs[1]) if rhs[0] == "set" else [])
    items = list(node[1]) if node[0] in ("list", "set") else [node]
    if not items:  # the empty set
        return None
    if _named_tuple(items[0]) is not None:  # (p, q) = (5, 2), (7, 2)
        names, first = _named_tuple(items[0])  # type: ignore[misc]
        return _rows(names, [first, *items[1:]])
    if all(_assignment(i) is not None for i in items):
        groups: list[dict[str, Node]] = [{}]
        order: list[str] = []
        for item in items:
            name, value = _assignment(item)  # type: ignore[misc]
            if name in groups[-1]:
                groups.append({})
            groups[-1][name] = value
            if name not in order:
                order.append(name)
        if any(set(g) != set(order) for g in groups):
            return None
        return tuple(order), [tuple(g[n] for n in order) for g in groups]
    if all(i[0] == "tuple" for i in items):
        return None, [i[1] for i in items]
    if not any(i[0] in _STRUCTURES for i in items):
        return None, [(i,) for i in items]  # bare values: 1-tuples (see same_solutions)
    return None


def same_solutions(resp: Node, key: Node, tol: Tolerance) -> bool | None:
    """A key naming its variables (``x = 1, y = 2``; ``p=5,q=2;p=7,q=2``; ``(p, q) = (5, 2)``)
    is a set of solutions: their order is free, the variables are matched by name. An unnamed
    response (``(5, 2), (7, 2)``, or the bare list ``1, 2`` for one solution) is read in the key's
    variable order (the order the question named them in). Keys without names: None (the other
    rules decide)."""
    k = _solutions(key)
    if k is None or k[0] is None:
        return None
    r = _solutions(resp)
    if r is None:
        return None
    key_names, key_rows = k
    resp_names, resp_rows = r
    if len(resp_rows) > MAX_ITEMS or len(key_rows) > MAX_ITEMS:
        return False
    if resp_names is not None:
        if sorted(resp_names) != sorted(key_names):
            return None
        index = [resp_names.index(n) for n in key_names]
        return _unordered_rows([tuple(row[i] for i in index) for row in resp_rows], key_rows, tol)
    if len(key_names) > 1 and all(len(row) == 1 for row in resp_rows):
        if resp[0] != "list" or len(resp_rows) != len(key_names) or len(key_rows) != 1:
            return False  # a set {2, 3}, or values of several solutions run together: no reading
        resp_rows = [tuple(row[0] for row in resp_rows)]  # "1, 2" for x = 1, y = 2
    if any(len(row) != len(key_names) for row in resp_rows):
        return None
    return _unordered_rows(resp_rows, key_rows, tol)


def _unordered_rows(resp_rows: list[tuple[Node, ...]], key_rows: list[tuple[Node, ...]], tol: Tolerance) -> bool:
    def same(a: tuple[Node, ...], b: tuple[Node, ...]) -> bool:
        return all(equivalent(x, y, tol) for x, y in zip(a, b))

    return all(any(same(a, b) for b in key_rows) for a in resp_rows) and all(any(same(a, b) for a in resp_rows) for b in key_rows)


def equivalent(resp: Node, key: Node, tol: Tolerance) -> bool:
    """Whether the response node answers the key node (see the module docstring for the rules)."""
    if _pm_count(resp) + _pm_count(key) > MAX_PM:
        return False  # \\pm 1 \\pm 1 \\pm ... : 2^n readings, none of which a key needs
    for node, is_key in ((key, True), (resp, False)):
        expanded = _expand_pm(node)
        if expanded is not None:
            as_list: Node = expanded[0] if len(expanded) == 1 else ("list", tuple(expanded))
            return equivalent(resp, as_list, tol) if is_key else equivalent(as_list, key, tol)
    resp, key = _exact_part(_member_set(resp)), _exact_part(_member_set(key))
    systems = same_solutions(resp, key, tol)
    if systems is not None:
        return systems
    rk, kk = resp[0], key[0]
    if rk == "rel" and kk == "rel":
        resp_iv, key_iv = _intervals(resp, labels=False), _intervals(key, labels=False)
        if resp_iv is not None and key_iv is not None:
            return _same_intervals(resp_iv, key_iv, tol)
        return _equations(resp, key, tol)
    if kk == "rel" or rk == "rel":
        r, k = equation_value(resp), equation_value(key)
        if r is not resp or k is not key:
            return equivalent(r, k, tol)
    key_iv, resp_iv = _intervals(key), _intervals(resp)
    if key_iv is not None or resp_iv is not None:
        if key_iv is None and kk == "tuple" and len(key[1]) == 2:
            key_iv = [(key[1][0], key[1][1], False, False)]
        if resp_iv is None and rk == "tuple" and len(resp[1]) == 2:
            resp_iv = [(resp[1][0], resp[1][1], False, False)]
        return key_iv is not None and resp_iv is not None and _same_intervals(resp_iv, key_iv, tol)
    if kk in ("list", "set"):
        if rk not in ("list", "set", "tuple"):
            return len(key[1]) == 1 and equivalent(resp, key[1][0], tol)
        return _unordered(resp[1], key[1], tol)
    if kk == "tuple":
        return rk in ("tuple", "list") and _ordered(resp[1], key[1], tol)
    if kk == "matrix":
        if rk != "matrix" or len(resp[1]) != len(key[1]):
            return False
        return all(_ordered(r, k, tol) for r, k in zip(resp[1], key[1]))
    if rk in ("list", "set", "tuple", "matrix"):
        return rk == "set" and len(resp[1]) == 1 and equivalent(resp[1][0], key, tol)
    try:
        return _scalar_equal(resp, key, tol)
    except NotNumeric:
        return False


class SymbolicType(AnswerType):
    def quick(self, extracted: str, req: VerifyRequest) -> Verdict | None:
        if compact(extracted) == compact(req.answer):
            return Verdict(True, extracted, R.EQUAL)
        return None

    def check(self, extracted: str, req: VerifyRequest) -> Verdict:
        extracted, answer = decimal_commas(extracted, req.answer)
        req = replace(req, answer=answer)
        try:
            key = parse_answer(req.answer)
        except ParseError:
            return Verdict(False, extracted, R.BAD_KEY)
        try:
            resp = parse_answer(extracted)
        except ParseError:
            return Verdict(False, extracted, R.UNPARSABLE)
        try:
            ok = equivalent(resp, key, tolerance_for(req.answer, req))
            if not ok and not free_symbols(key) and key[0] not in _STRUCTURES:
                tol = tolerance_for(req.answer, req)
                figures = significant_figures(extracted)[0]
                if figures and not free_symbols(resp):  # 6.02 \times 10^{23} for 6.022e23
                    ok = compare_numbers(resp, key, tol, figures)
                if not ok:  # "1/2 cup" against 1/2
                    from rlvr.verifiers.quantity import bare_number_of

                    value = bare_number_of(extracted)
                    ok = value is not None and tol.match(value, evaluate(key))
        except TooLarge:
            return Verdict(False, extracted, R.TOO_LARGE)
        except EvalError:
            ok = False
        if not ok and _second_tier_applies(resp, key, (extracted, req.answer)):
            # Imported here, in the worker, on first need: sympy never loads in the caller.
            from rlvr.verifiers import sympy_tier

            second = sympy_tier.decide(extracted, req.answer)
            if second is not None:
                return Verdict(second, extracted, sympy_tier.reason(second))
        return Verdict(ok, extracted, R.EQUAL if ok else R.MISMATCH)


DEGREE_MARKS = ("°", "\\circ", "\\degree")


def _second_tier_applies(resp: Node, key: Node, texts: tuple[str, ...]) -> bool:
    """Whether the fast path's mismatch is one the sympy tier can revisit: relations, interval
    forms or matrices on either side, expressions with symbols on both sides, or an angle in
    degrees. Plain numbers (GSM8K, MATH) never go there, and neither does a number against an
    expression (``144`` for ``3R^2``): the fast path's comparison is the last word on those."""
    kinds = {n[0] for node in (resp, key) for n in iter_nodes(node)}
    return (
        bool(kinds & {"rel", "interval", "union", "matrix"})
        or bool(free_symbols(resp))
        and bool(free_symbols(key))
        or any(mark in text for text in texts for mark in DEGREE_MARKS)
    )


ANSWER_TYPES.register("symbolic", SymbolicType())
