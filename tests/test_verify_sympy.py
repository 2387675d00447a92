"""The sympy second tier (issue 11, item 1): what it accepts, what it must never accept, and the
cascade around it (fast path first, ``sympy:`` reasons, sympy only in workers, bounded inputs).

Rows are (response, key, expected). Every ``False`` row is a near miss a policy could produce; the
table must stay at zero false positives.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time

import pytest

from rlvr.verifiers import VerifierPool, VerifyRequest, verify_inline

Row = tuple[str, str, bool]

EQUATIONS: list[Row] = [
    (r"\boxed{f(x) = 2x + 3}", "y = 2x + 3", True),
    (r"\boxed{y = 2x + 3}", "f(x) = 2x + 3", True),
    (r"\boxed{g(t) = t^2 - 1}", "y = (t - 1)(t + 1)", True),
    (r"\boxed{y^2 = 1 - x^2}", "x^2 + y^2 = 1", True),
    (r"\boxed{2x - y + 3 = 0}", "y = 2x + 3", True),
    (r"\boxed{y = \frac{1}{x}}", "xy = 1", True),
    (r"\boxed{xy = 1}", r"y = \frac{1}{x}", True),
    (r"\boxed{2 = x}", "x = 2", True),
    # near misses
    (r"\boxed{x^2 = 4}", "x = 2", False),
    (r"\boxed{2x = 4}", "x = 2", False),  # the problem restated is not the value it asks for
    (r"\boxed{3x + 7 = 13}", "x = 2", False),
    (r"\boxed{x = 2}", "x^2 = 4", False),
    (r"\boxed{y = \sqrt{1 - x^2}}", "x^2 + y^2 = 1", False),
    (r"\boxed{x = 2y + 3}", "y = 2x + 3", False),
    (r"\boxed{f(x) = 2x + 4}", "y = 2x + 3", False),
    (r"\boxed{x^2 y = x}", "xy = 1", False),  # adds the line x = 0
]

SYSTEMS: list[Row] = [
    # a list of plus-or-minus items is the list of both signs (it timed out as nested lists)
    (r"\boxed{\pm 1, \pm 2, \pm \frac{1}{2}}", "x=±1, ±2, ±1/2", True),
    (r"\boxed{1, -1, 2, -2}", "±1, ±2", True),
    (r"\boxed{\pm 1, \pm 2}", "±1, ±3", False),
    (r"\boxed{\pm 1, 2}", "±1, ±2", False),
    (r"\boxed{3 \pm \sqrt{2}}", r"3+\sqrt2", False),
    (r"\boxed{(p, q) = (5, 2), (7, 2)}", "p=5,q=2;p=7,q=2", True),
    (r"\boxed{(7, 2), (5, 2)}", "p=5,q=2;p=7,q=2", True),
    (r"\boxed{p=7, q=2; p=5, q=2}", "p=5,q=2;p=7,q=2", True),
    (r"\boxed{(q, p) = (2, 5), (2, 7)}", "p=5,q=2;p=7,q=2", True),
    (r"$(p, q) \in \{(5, 2), (7, 2)\}$", "p=5,q=2;p=7,q=2", True),
    (r"\boxed{(x, y) = (1, 2)}", "x = 1, y = 2", True),
    (r"\boxed{(x, y) = (\frac{1}{2}, \sqrt{4})}", "x = 0.5, y = 2", True),
    # near misses
    (r"\boxed{(5, 2)}", "p=5,q=2;p=7,q=2", False),  # one solution missing
    (r"\boxed{(5, 2), (7, 2), (3, 2)}", "p=5,q=2;p=7,q=2", False),  # one extra
    (r"\boxed{(2, 5), (2, 7)}", "p=5,q=2;p=7,q=2", False),  # variables swapped
    (r"\boxed{(q, p) = (5, 2), (7, 2)}", "p=5,q=2;p=7,q=2", False),
    (r"\boxed{p=5, q=2}", "p=5,q=2;p=7,q=2", False),
    (r"\boxed{(2, 1)}", "y = 1, x = 2", False),  # unnamed: read in the key's written order
    (r"\boxed{2, 1}", "x = 1, y = 2", False),
    (r"\boxed{ab > 0}", "a > 0", False),
    (r"\boxed{(x, y) = (2, 1)}", "x = 1, y = 2", False),
    (r"\boxed{\{1, 2\}}", "x = 1, y = 2", False),  # a set has no order to read names from
    (r"\boxed{5, 2, 7, 2}", "p=5,q=2;p=7,q=2", False),
    (r"\boxed{(3, 2)}", "(x, y) = (2, 3)", False),
]

INEQUALITIES: list[Row] = [
    (r"\boxed{x^2 \le 9}", r"|x| \le 3", True),
    (r"\boxed{x \ne 1}", r"(-\infty, 1) \cup (1, \infty)", True),
    (r"\boxed{[-3, 3]}", r"|x| \le 3", True),
    (r"\boxed{-3 \le x \le 3}", r"x^2 \le 9", True),
    (r"\boxed{|x| \le 3}", "[-3, 3]", True),
    (r"$x \in [-3, 3]$", r"x^2 \le 9", True),
    (r"\boxed{b > a}", "a < b", True),
    (r"\boxed{2x + 3 < y}", "y > 2x + 3", True),
    (r"\boxed{x > 3 \text{ or } x < -3}", "|x| > 3", True),
    (r"\boxed{(-\infty, -3] \cup [3, \infty)}", r"|x| \ge 3", True),
    (r"\boxed{(-\infty, -3) \cup [3, \infty)}", r"|x| \ge 3", False),
    (r"\boxed{y \ge 2x + 3}", "y > 2x + 3", False),
    (r"\boxed{x > \frac{b}{a}}", "ax > b", False),  # the sign of a decides the direction
    (r"\boxed{x < \sqrt{3a}}", "x^2 < 3a", False),
    (r"\boxed{3x^2 < 9a}", "x^2 - 3a < 0", True),
    (r"\boxed{x < -1 \text{ or } x > 1}", "x^2 > 1", True),
    (r"\boxed{(-\infty, -1) \cup (1, \infty)}", "|x| > 1", True),
    (r"\boxed{2 < x < 3}", "x^2 - 5x + 6 < 0", True),
    (r"\boxed{(0, 1)}", r"\frac{1}{x} > 1", True),
    (r"$z \in \left[-\frac{3}{2}, -1\right] \cup \left[1, \frac{3}{2}\right]$", r"1 \le |z| \le \frac{3}{2}", True),
    # near misses
    (r"\boxed{x < 3}", r"x \le 3", False),
    (r"\boxed{x^2 < 9}", r"|x| \le 3", False),
    (r"\boxed{[-3, 3)}", r"|x| \le 3", False),
    (r"\boxed{(-3, 3)}", "[-3, 3]", False),
    (r"\boxed{b < a}", "a < b", False),
    (r"\boxed{a \le b}", "a < b", False),
    (r"\boxed{x^2 - 3a \le 0}", "3x^2 < 9a", False),
    (r"\boxed{3x^2 > 9a}", "x^2 - 3a < 0", False),
    (r"\boxed{x > 2}", r"x \ge 2", False),
    (r"\boxed{x^2 \le 9}", "[-3, 3]", False),  # a solved key is not answered by the problem restated
    (r"\boxed{x > 1}", "x^2 > 1", False),
    (r"\boxed{2 \le x \le 3}", "x^2 - 5x + 6 < 0", False),
]

IDENTITIES: list[Row] = [
    (r"\boxed{\log(a^2 b)}", r"2 \log a + \log b", True),
    (r"\boxed{2 \log a + \log b}", r"\log(a^2 b)", True),
    (r"\boxed{\log a - \log b}", r"\log\frac{a}{b}", True),
    (r"\boxed{\ln \sqrt{x}}", r"\frac{1}{2} \ln x", True),
    (r"\boxed{\cos x}", r"\sin(90^\circ - x)", True),
    (r"\boxed{\sin(90^\circ - x)}", r"\cos x", True),
    (r"\boxed{\sin 30^\circ}", r"\frac{1}{2}", True),
    (r"\boxed{30^\circ}", r"\frac{\pi}{6}", True),
    (r"\boxed{\ln(x + \sqrt{x^2 + 1})}", r"\operatorname{asinh} x", True),
    (r"\boxed{\operatorname{arcsinh} x}", r"\ln(x + \sqrt{x^2 + 1})", True),
    (r"\boxed{\frac{1}{2}\ln\frac{1 + x}{1 - x}}", r"\operatorname{artanh} x", True),
    (r"\boxed{1 + \sqrt{2}}", r"\sqrt{3 + 2\sqrt{2}}", True),
    (r"\boxed{\sqrt{3} - \sqrt{2}}", r"\sqrt{5 - 2\sqrt{6}}", True),
    # near misses
    (r"\boxed{\log a \cdot \log b}", r"\log(ab)", False),
    (r"\boxed{\log(a + b)}", r"\log a + \log b", False),
    (r"\boxed{\sin x \cos x}", r"\sin 2x", False),
    (r"\boxed{45}", r"\frac{\pi}{4}", False),
    (r"\boxed{\sin(90^\circ + x)}", r"\cos x", True),
    (r"\boxed{45^\circ}", r"\frac{\pi}{4}", True),
    (r"\boxed{x}", "|x|", False),
    (r"\boxed{5 - x}", "|x - 5|", False),  # agrees everywhere below 5
    (r"\boxed{5 - x}", r"\sqrt{x^2 - 10x + 25}", False),
    (r"\boxed{x}", r"\arcsin(\sin x)", False),
    (r"\boxed{\sqrt{x - 1}\sqrt{x + 1}}", r"\sqrt{x^2 - 1}", False),
    (r"\boxed{\frac{x\sqrt{x}}{\sqrt{x}}}", "|x|", False),  # a response cannot buy x > 0
    (r"\boxed{\sqrt{x^2}}", "x", False),
    (r"\boxed{\sin(90^\circ - x)}", r"\sin x", False),
    (r"\boxed{\sin 30}", r"\frac{1}{2}", False),  # 30 radians
    (r"\boxed{30^\circ}", r"\frac{\pi}{3}", False),
    (r"\boxed{\ln(x - \sqrt{x^2 + 1})}", r"\operatorname{asinh} x", False),
    (r"\boxed{\sqrt{3} + \sqrt{2}}", r"\sqrt{5 - 2\sqrt{6}}", False),
    (r"\boxed{2 \log a}", r"\log(2a)", False),
    (r"\boxed{10^{1000} x}", "x", False),  # values beyond a float must not "agree" as inf
]

MATRICES: list[Row] = [
    (
        r"The sum is $\begin{pmatrix}1 & 2 \\ 3 & 4\end{pmatrix} + \begin{pmatrix}5 & 6 \\ 7 & 8\end{pmatrix}$",
        r"\begin{pmatrix}6 & 8 \\ 10 & 12\end{pmatrix}",
        True,
    ),
    (r"So $\boxed{2\begin{pmatrix}1 & 2\end{pmatrix}}$.", r"\begin{pmatrix}2 & 4\end{pmatrix}", True),
    (r"$\boxed{\begin{pmatrix}1 & 1 \\ 0 & 1\end{pmatrix}^{3}}$", r"\begin{pmatrix}1 & 3 \\ 0 & 1\end{pmatrix}", True),
    (r"The inverse is $\begin{pmatrix}\log(a^2) & 0 \\ 0 & 1\end{pmatrix}$.", r"\begin{pmatrix}2\log a & 0 \\ 0 & 1\end{pmatrix}", True),
    # near misses
    (
        r"The sum is $\begin{pmatrix}1 & 2 \\ 3 & 4\end{pmatrix} + \begin{pmatrix}5 & 6 \\ 7 & 8\end{pmatrix}$",
        r"\begin{pmatrix}6 & 8 \\ 10 & 13\end{pmatrix}",
        False,
    ),
    (r"$\boxed{\begin{pmatrix}1 & 3 \\ 2 & 4\end{pmatrix}}$", r"\begin{pmatrix}1 & 2 \\ 3 & 4\end{pmatrix}", False),
    (r"$\boxed{\begin{pmatrix}1 & 2\end{pmatrix}}$", r"\begin{pmatrix}1 \\ 2\end{pmatrix}", False),
    (
        r"$\boxed{\begin{pmatrix}0 & 1 \\ 0 & 0\end{pmatrix}\begin{pmatrix}0 & 0 \\ 1 & 0\end{pmatrix}}$",
        r"\begin{pmatrix}0 & 0 \\ 0 & 1\end{pmatrix}",
        False,
    ),  # BA, not AB
]

ROWS = EQUATIONS + SYSTEMS + INEQUALITIES + IDENTITIES + MATRICES


@pytest.mark.parametrize(("response", "key", "expected"), ROWS, ids=[f"{i}" for i in range(len(ROWS))])
def test_row(response: str, key: str, expected: bool) -> None:
    verdict = verify_inline(VerifyRequest(response, key))
    assert verdict.correct is expected, verdict


def test_no_false_positive_on_any_near_miss() -> None:
    accepted = [(r, k) for r, k, e in ROWS if not e and verify_inline(VerifyRequest(r, k)).correct]
    assert accepted == []


@pytest.mark.parametrize(
    ("response", "key", "reason"),
    [
        (r"\boxed{b > a}", "a < b", "sympy:equal"),
        (r"\boxed{x < 3}", r"x \le 3", "sympy:mismatch"),
        (r"\boxed{\log(a^2 b)}", r"2 \log a + \log b", "sympy:equal"),
        (r"\boxed{\frac{6}{4}}", r"\frac{3}{2}", "equal"),  # the fast path decides; sympy never runs
        (r"\boxed{x + 1}", "1 + x", "equal"),
        (r"\boxed{\frac{5}{4}}", r"\frac{3}{2}", "mismatch"),  # plain numbers never reach sympy
        (r"\boxed{(7, 2), (5, 2)}", "p=5,q=2;p=7,q=2", "equal"),  # systems are structure, no sympy
    ],
)
def test_reason_names_the_tier(response: str, key: str, reason: str) -> None:
    assert verify_inline(VerifyRequest(response, key)).reason == reason


def test_large_trees_are_refused_before_sympy() -> None:
    """Huge exponents, factorials and node counts never reach sympy: undecided, and fast."""
    from rlvr.verifiers.sympy_tier import decide

    big_sum = " + ".join(f"x^{i}" for i in range(400))
    for response, key in [
        ("x^{10^{9}}", "x^{10^{9}} + 0 x"),
        ("(x + 1)^{100000}", "(1 + x)^{100000} + x - x"),
        ("(x + y + z)^{200}", "(z + y + x)^{200} + 0 x"),
        ("(10^{5})! \\cdot x", "x"),
        (big_sum, big_sum + " + 0"),
        ("\\begin{pmatrix}1 & 1 \\\\ 1 & 1\\end{pmatrix}^{100000}", "\\begin{pmatrix}1 & 0 \\\\ 0 & 1\\end{pmatrix}"),
    ]:
        start = time.perf_counter()
        assert decide(response, key) is None, response
        assert time.perf_counter() - start < 1.0, response


def test_sympy_is_not_imported_by_the_caller() -> None:
    """``import rlvr.verifiers`` and stage 1 leave sympy out of the caller's process."""
    code = (
        "import sys\n"
        "from rlvr.verifiers import VerifyRequest\n"
        "from rlvr.verifiers.api import prepare\n"
        "prepare(VerifyRequest(r'\\boxed{b > a}', 'a < b'))\n"
        "print('sympy' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_through_the_pool() -> None:
    """The tier runs in pool workers (where its soft budget is armed) and reports its reasons."""
    requests = [
        VerifyRequest(r"\boxed{x^2 \le 9}", r"|x| \le 3"),
        VerifyRequest(r"\boxed{x^2 < 9}", r"|x| \le 3"),
        VerifyRequest(r"\boxed{\cos x}", r"\sin(90^\circ - x)"),
    ]
    with VerifierPool(workers=1, timeout=30) as pool:
        verdicts = pool.verify_many(requests)
    assert [(v.correct, v.reason) for v in verdicts] == [(True, "sympy:equal"), (False, "sympy:mismatch"), (True, "sympy:equal")]


def _random_answer(rng: random.Random, depth: int = 0) -> str:
    atoms = ["x", "y", "a", "2", "0", "1", r"\pi", "10^{100}", "0.5", r"\infty"]
    if depth > 3 or rng.random() < 0.3:
        return rng.choice(atoms)
    a, b = _random_answer(rng, depth + 1), _random_answer(rng, depth + 1)
    return rng.choice(
        [
            f"{a} + {b}",
            f"{a} {b}",
            rf"\frac{{{a}}}{{{b}}}",
            f"{a}^{{{b}}}",
            rf"\sqrt{{{a}}}",
            rf"\log({a})",
            rf"\sin({a}^\circ)",
            f"|{a}|",
            rf"\operatorname{{asinh}}({a})",
            f"({a})!",
            f"{a} = {b}",
            f"{a} < {b}",
            f"[{a}, {b})",
            f"x = {a}, y = {b}; x = {b}, y = {a}",
            rf"\begin{{pmatrix}}{a} & {b}\end{{pmatrix}}",
        ]
    )


def test_random_answers_never_error_and_stay_bounded() -> None:
    """Nested logs, factorials, huge powers, degrees, relations, systems and matrices against each
    other: the tier answers or declines, never raises, and its budget bounds the time."""
    from rlvr.verifiers.sympy_tier import BUDGET_S  # imported (and warm) before the clock runs

    rng = random.Random(11)
    for _ in range(60):
        response, key = _random_answer(rng), _random_answer(rng)
        start = time.perf_counter()
        verdict = verify_inline(VerifyRequest(rf"\boxed{{{response}}}", key, answer_type="symbolic"))
        assert not verdict.reason.startswith("error"), (response, key, verdict)
        assert time.perf_counter() - start < BUDGET_S + 3.0, (response, key)


def test_every_parsed_function_has_a_sympy_twin() -> None:
    """A function the parser accepts but the tier cannot build would make the tier decline
    silently on every answer that uses it."""
    from rlvr.verifiers.parser import FUNCTIONS
    from rlvr.verifiers.sympy_tier import _FUNCS

    assert set(_FUNCS) >= FUNCTIONS
