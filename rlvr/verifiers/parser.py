"""A small recursive-descent parser for final answers written in LaTeX or plain text.

Why not sympy's parsers or math-verify's latex2sympy: ``sympify``/``parse_expr`` run Python
``eval`` on their input, and latex2sympy hands some sub-strings to ``parse_expr``; a verifier fed
with model output must not contain such a path. This parser only tokenizes against a whitelist
and builds plain tuples, so the worst any input can do is fail to parse. Its output is evaluated
by :mod:`rlvr.verifiers.evaluator`, which bounds every operation that can blow up.

The grammar covers what answer keys contain (MATH, GSM8K, CHAMP, physics sets)::

    top      := union (',' union)*                      a bare comma list is an unordered list
    union    := relation ('\\cup' relation)*
    relation := additive (relop additive)*               x = 2, -1 < x <= 3, x \\in [0, 1]
    additive := term (('+' | '-' | '\\pm') term)*
    term     := unary (('*' | '/') unary | implicit power)*   2x, 3\\sqrt{2}, 2(x+1)
    unary    := ('-' | '+') unary | power
    power    := postfix ('^' exponent)?                 right-associative
    postfix  := atom ('!' | '%')*
    atom     := number | symbol | function | \\frac | \\sqrt | \\binom | (..) | [..] | {..}
              | \\{..\\} | |..| | matrix environment

Nodes are tuples ``(kind, *fields)``: ``("num", Fraction)``, ``("sym", name)``, ``("const", name)``
with names ``pi e i oo``, ``("add", terms)``, ``("mul", factors)``, ``("neg", x)``, ``("div", a, b)``,
``("frac", a, b)``, ``("pow", a, b)``, ``("fn", name, arg, base)``, ``("fact", x)``,
``("binom", n, k)``, ``("pct", x)``, ``("pm", a, b)``, ``("list", items)``, ``("tuple", items)``,
``("set", items)``, ``("interval", lo, hi, lo_closed, hi_closed)``, ``("union", items)``,
``("rel", ops, operands)``, ``("matrix", rows)``.

A mixed number such as ``3\\frac{1}{2}`` reads as 3 + 1/2 (integer directly followed by a fraction
of integers), the usual meaning in grade-school answers. Two bare numbers side by side
(``1 2 3``) are an error, not a product, so a box stuffed with candidates cannot multiply out to
the key.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from fractions import Fraction

from rlvr.verifiers.normalization import MAX_ANSWER_CHARS, clean_latex

Node = tuple

MAX_DEPTH = 60  # nesting deeper than any real answer; 5,000 nested braces stop here
MAX_DIGITS = 1000
_EXPONENT_RE = re.compile(r"[eE][-+]?\d{5,}")  # a written exponent beyond 10^9999 is not an answer


class ParseError(ValueError):
    """The text is not a math answer this grammar understands."""


FUNCTIONS = {
    "sin",
    "cos",
    "tan",
    "sec",
    "csc",
    "cot",
    "arcsin",
    "arccos",
    "arctan",
    "asin",
    "acos",
    "atan",
    "sinh",
    "cosh",
    "tanh",
    "ln",
    "log",
    "exp",
    "sqrt",
    "abs",
    "asinh",
    "acosh",
    "atanh",
    "arcsinh",
    "arccosh",
    "arctanh",
    "arsinh",
    "arcosh",
    "artanh",
}
_GREEK = {
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "varepsilon",
    "zeta",
    "eta",
    "theta",
    "vartheta",
    "iota",
    "kappa",
    "lambda",
    "mu",
    "nu",
    "xi",
    "rho",
    "sigma",
    "tau",
    "upsilon",
    "phi",
    "varphi",
    "chi",
    "psi",
    "omega",
    "Gamma",
    "Delta",
    "Theta",
    "Lambda",
    "Xi",
    "Sigma",
    "Phi",
    "Psi",
    "Omega",
}
_COMMANDS: dict[str, tuple[str, str]] = {
    "times": ("op", "*"),
    "cdot": ("op", "*"),
    "ast": ("op", "*"),
    "div": ("op", "/"),
    "pm": ("op", "pm"),
    "mp": ("op", "mp"),
    "le": ("rel", "<="),
    "leq": ("rel", "<="),
    "leqslant": ("rel", "<="),
    "ge": ("rel", ">="),
    "geq": ("rel", ">="),
    "geqslant": ("rel", ">="),
    "lt": ("rel", "<"),
    "gt": ("rel", ">"),
    "ne": ("rel", "!="),
    "neq": ("rel", "!="),
    "approx": ("rel", "~"),
    "simeq": ("rel", "~"),
    "in": ("rel", "in"),
    "cup": ("cup", "cup"),
    "pi": ("const", "pi"),
    "infty": ("const", "oo"),
    "infin": ("const", "oo"),
    "emptyset": ("empty", ""),
    "varnothing": ("empty", ""),
    "frac": ("cmd", "frac"),
    "sqrt": ("cmd", "sqrt"),
    "binom": ("cmd", "binom"),
    "mathbb": ("mathbb", ""),
}
# Plain-text words with a meaning ("or" lists alternatives: "x = 2 or x = 3" is the list 2, 3, and a
# list never equals a single key, so hedging gains nothing); other letter runs of up to three letters are products of
# single-letter symbols (xy, abc) and longer runs are words, which makes the text not math.
_WORDS: dict[str, tuple[str, str]] = {
    "pi": ("const", "pi"),
    "inf": ("const", "oo"),
    "infinity": ("const", "oo"),
    "oo": ("const", "oo"),
    "and": ("comma", ","),
    "or": ("comma", ","),
    "sqrt": ("cmd", "sqrt"),
    "percent": ("op", "%"),
    "pct": ("op", "%"),
    "percentage": ("op", "%"),
}
_MATRIX_ENVS = {"matrix", "pmatrix", "bmatrix", "vmatrix", "Bmatrix", "smallmatrix", "array"}

_TOKEN_RE = re.compile(
    r"\s*(?:"
    r"(?P<num>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|\.\d+)"
    r"|(?P<cmd>\\[a-zA-Z]+)"
    r"|(?P<esc>\\[{}|\\])"
    r"|(?P<word>[a-zA-Z]+)"
    r"|(?P<rel2><=|>=|!=|=<|=>|\*\*)"
    r"|(?P<ch>[-+*/^_!%=<>()\[\]{}|,;&':°])"
    r")"
)
_ENV_RE = re.compile(r"\s*\{\s*([a-zA-Z]+\*?)\s*\}")
_SINGLE = {
    "+": ("op", "+"),
    "-": ("op", "-"),
    "*": ("op", "*"),
    "/": ("op", "/"),
    "^": ("op", "^"),
    "_": ("op", "_"),
    "!": ("op", "!"),
    "%": ("op", "%"),
    "'": ("op", "'"),
    "=": ("rel", "="),
    "<": ("rel", "<"),
    ">": ("rel", ">"),
    "(": ("(", "("),
    ")": (")", ")"),
    "[": ("[", "["),
    "]": ("]", "]"),
    "{": ("{", "{"),
    "}": ("}", "}"),
    "|": ("|", "|"),
    ",": ("comma", ","),
    ";": ("comma", ","),
    "&": ("amp", "&"),
    ":": ("op", "/"),  # a ratio 7:32
    # Only text cleaned with keep_degrees=True still has degree signs (the sympy tier's reading
    # of sin(90° - x)); an angle in degrees is that many pi/180.
    "°": ("op", "deg"),
}
_REL2 = {"<=": "<=", "=<": "<=", ">=": ">=", "=>": ">=", "!=": "!="}
_OP2 = {"**": "^"}  # Python-style power in plain-text answers


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos, n = 0, len(text)
    while pos < n:
        m = _TOKEN_RE.match(text, pos)
        if m is None or m.end() == pos:
            if text[pos:].strip() == "":
                break
            raise ParseError(f"unexpected character {text[pos]!r}")
        pos = m.end()
        kind = m.lastgroup
        value = m.group(kind)  # type: ignore[arg-type]
        if kind == "num":
            if len(value) > MAX_DIGITS or _EXPONENT_RE.search(value):
                raise ParseError("number too long")  # 1e-91234567 would cost 10^91234567 as a Fraction
            tokens.append(("num", value))
        elif kind == "cmd":
            name = value[1:]
            if name in ("begin", "end"):
                env = _ENV_RE.match(text, pos)
                if env is None:
                    raise ParseError(f"\\{name} without environment")
                pos = env.end()
                tokens.append((name, env.group(1)))
            elif name in _COMMANDS:
                tokens.append(_COMMANDS[name])
            elif name in FUNCTIONS:
                tokens.append(("fn", name))
            elif name in _GREEK:
                tokens.append(("sym", name))
            else:
                raise ParseError(f"unsupported command \\{name}")
        elif kind == "esc":
            tokens.append({"\\{": ("{set", ""), "\\}": ("}set", ""), "\\|": ("|", "|"), "\\\\": ("row", "")}[value])
        elif kind == "word":
            low = value.lower()
            if value in _WORDS or low in ("and", "or", "percent"):
                tokens.append(_WORDS.get(value, _WORDS.get(low)))  # type: ignore[arg-type]
            elif value in FUNCTIONS:
                tokens.append(("fn", value) if value != "sqrt" else ("cmd", "sqrt"))
            elif len(value) <= 3:
                tokens.extend(("sym", c) for c in value)
            else:
                raise ParseError(f"word {value!r}")
        elif kind == "rel2":
            tokens.append(("op", _OP2[value]) if value in _OP2 else ("rel", _REL2[value]))
        else:
            tokens.append(_SINGLE[value])
    return tokens


_ATOM_START = {"num", "sym", "const", "fn", "cmd", "(", "{", "{set", "begin", "empty", "mathbb"}


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]):
        self.toks = tokens
        self.i = 0
        self.depth = 0

    # -- helpers -----------------------------------------------------------------------------
    def peek(self, k: int = 0) -> tuple[str, str]:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else ("eof", "")

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        self.i += 1
        return tok

    def expect(self, kind: str) -> None:
        if self.peek()[0] != kind:
            raise ParseError(f"expected {kind}, got {self.peek()[1] or self.peek()[0]}")
        self.i += 1

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ParseError("nesting too deep")

    # -- grammar -----------------------------------------------------------------------------
    def top(self) -> Node:
        items = [self.union()]
        while self.peek()[0] == "comma":
            self.take()
            items.append(self.union())
        if self.peek()[0] != "eof":
            raise ParseError(f"unexpected {self.peek()[1] or self.peek()[0]}")
        return items[0] if len(items) == 1 else ("list", tuple(items))

    def union(self) -> Node:
        items = [self.relation()]
        while self.peek()[0] == "cup":
            self.take()
            items.append(self.relation())
        return items[0] if len(items) == 1 else ("union", tuple(items))

    def relation(self) -> Node:
        operands = [self.additive()]
        ops: list[str] = []
        while self.peek()[0] == "rel":
            ops.append(self.take()[1])
            operands.append(self.additive())
        return operands[0] if not ops else ("rel", tuple(ops), tuple(operands))

    def additive(self) -> Node:
        acc = self.term()
        terms: list[Node] = [acc]
        while self.peek() in (("op", "+"), ("op", "-"), ("op", "pm"), ("op", "mp")):
            op = self.take()[1]
            rhs = self.term()
            if op in ("pm", "mp"):
                left = terms[0] if len(terms) == 1 else ("add", tuple(terms))
                terms = [("pm", left, rhs if op == "pm" else ("neg", rhs))]
            else:
                terms.append(rhs if op == "+" else ("neg", rhs))
        return terms[0] if len(terms) == 1 else ("add", tuple(terms))

    def term(self) -> Node:
        factors: list[Node] = [self.unary()]
        while True:
            kind, value = self.peek()
            if (kind, value) == ("op", "*"):
                self.take()
                factors.append(self.unary())
            elif (kind, value) == ("op", "/"):
                self.take()
                left = factors[0] if len(factors) == 1 else ("mul", tuple(factors))
                factors = [("div", left, self.unary())]
            elif kind in _ATOM_START:
                prev = factors[-1]
                if kind == "num" and _is_number_like(prev):
                    raise ParseError("two numbers side by side")
                nxt = self.power()
                if _is_integer_literal(prev) and nxt[0] == "frac" and all(_is_integer_literal(a) for a in nxt[1:]):
                    factors[-1] = ("add", (prev, nxt))  # mixed number 3\frac{1}{2}
                else:
                    factors.append(nxt)
            else:
                break
        return factors[0] if len(factors) == 1 else ("mul", tuple(factors))

    def unary(self) -> Node:
        tok = self.peek()
        if tok == ("op", "-"):
            self.take()
            self.enter()
            node = ("neg", self.unary())
            self.depth -= 1
            return node
        if tok == ("op", "+"):
            self.take()
            return self.unary()
        if tok in (("op", "pm"), ("op", "mp")):  # \pm 2021 is the pair 2021, -2021
            self.take()
            self.enter()
            node = ("pm", ("num", Fraction(0)), self.unary())
            self.depth -= 1
            return node
        return self.power()

    def power(self) -> Node:
        base = self.postfix()
        if self.peek() == ("op", "^"):
            self.take()
            self.enter()
            exponent = self.exponent()
            self.depth -= 1
            base = ("pow", base, exponent)
            while self.peek() == ("op", "!"):
                self.take()
                base = ("fact", base)
        return base

    def exponent(self) -> Node:
        tok = self.peek()
        if tok[0] == "{":
            return self.group()
        if tok in (("op", "-"), ("op", "+")):
            return self.unary()
        return self.power()

    def postfix(self) -> Node:
        node = self.atom()
        while self.peek() in (("op", "!"), ("op", "%"), ("op", "deg")):
            op = self.take()[1]
            if op == "deg":
                node = ("mul", (node, ("frac", ("const", "pi"), ("num", Fraction(180)))))
            else:
                node = ("fact", node) if op == "!" else ("pct", node)
        return node

    def group(self) -> Node:
        """``{ ... }``: a LaTeX group, or a set when it holds a comma list."""
        self.expect("{")
        self.enter()
        items = [self.union()]
        while self.peek()[0] == "comma":
            self.take()
            items.append(self.union())
        self.expect("}")
        self.depth -= 1
        return items[0] if len(items) == 1 else ("set", tuple(items))

    def argument(self) -> Node:
        """A macro argument: a ``{}`` group or a single token (``\\frac12`` is 1/2)."""
        kind, value = self.peek()
        if kind == "{":
            return self.group()
        if kind == "num" and value.isdigit() and len(value) > 1:
            self.toks[self.i] = ("num", value[1:])
            return ("num", Fraction(int(value[0])))
        return self.atom()

    def atom(self) -> Node:
        self.enter()
        try:
            return self._atom()
        finally:
            self.depth -= 1

    def _atom(self) -> Node:
        kind, value = self.take()
        if kind == "num":
            if self.peek() == ("op", "_"):  # 52_8: a numeral in base 8
                self.take()
                return ("num", Fraction(_in_base(value, self._subscript())))
            return ("num", Fraction(value))
        if kind == "const":
            return ("const", value)
        if kind == "sym":
            name = value
            if self.peek() == ("op", "_"):
                self.take()
                name += "_" + self._subscript()
            if name in ("e", "i"):
                return ("const", name)
            return ("sym", name)
        if kind == "fn":
            return self.function(value)
        if kind == "cmd":
            if value == "frac":
                return ("frac", self.argument(), self.argument())
            if value == "binom":
                return ("binom", self.argument(), self.argument())
            index: Node | None = None
            if self.peek()[0] == "[":
                self.take()
                index = self.additive()
                self.expect("]")
            radicand = self.argument() if self.peek()[0] != "(" else self.atom()
            exponent = ("frac", ("num", Fraction(1)), index) if index is not None else ("num", Fraction(1, 2))
            return ("pow", radicand, exponent)
        if kind in ("(", "["):
            return self.bracketed(kind)
        if kind == "{":
            self.i -= 1
            return self.group()
        if kind == "{set":
            items: list[Node] = []
            if self.peek()[0] != "}set":
                items.append(self.union())
                while self.peek()[0] == "comma":
                    self.take()
                    items.append(self.union())
            self.expect("}set")
            return ("set", tuple(items))
        if kind == "|":
            inner = self.additive()
            self.expect("|")
            return ("fn", "abs", inner, None)
        if kind == "empty":
            return ("set", ())
        if kind == "mathbb":
            self.expect("{")
            letter = self.take()
            self.expect("}")
            if letter != ("sym", "R"):
                raise ParseError("only \\mathbb{R} is supported")
            return ("interval", ("neg", ("const", "oo")), ("const", "oo"), False, False)
        if kind == "begin":
            return self.matrix(value)
        raise ParseError(f"unexpected {value or kind}")

    def _subscript(self) -> str:
        kind, value = self.take()
        if kind == "{":
            parts: list[str] = []
            while self.peek()[0] not in ("}", "eof"):
                parts.append(self.take()[1])
            self.expect("}")
            return "".join(parts)
        if kind in ("num", "sym"):
            return value
        raise ParseError("bad subscript")

    def function(self, name: str) -> Node:
        base: Node | None = None
        power: Node | None = None
        if self.peek() == ("op", "_"):
            self.take()
            base = self.argument()
        if self.peek() == ("op", "^"):
            self.take()
            power = self.exponent()
        if self.peek()[0] in ("(", "{"):
            arg = self.atom()
        else:
            # \sin 2x is sin(2x): the argument runs over an implicit product, not past + or *.
            factors = [self.power()]
            while self.peek()[0] in _ATOM_START and self.peek()[0] != "fn":
                factors.append(self.power())
            arg = factors[0] if len(factors) == 1 else ("mul", tuple(factors))
        node: Node = ("fn", name, arg, base)
        return ("pow", node, power) if power is not None else node

    def bracketed(self, opener: str) -> Node:
        items = [self.union()]
        while self.peek()[0] == "comma":
            self.take()
            items.append(self.union())
        closer = self.take()[0]
        if closer not in (")", "]"):
            raise ParseError("unclosed bracket")
        if len(items) == 1:
            if opener == "(" and closer == ")" or opener == "[" and closer == "]":
                return items[0]
            raise ParseError("half-open bracket around one item")
        if len(items) == 2 and (opener, closer) != ("(", ")"):
            return ("interval", items[0], items[1], opener == "[", closer == "]")
        if opener == "(" and closer == ")" or opener == "[" and closer == "]":
            return ("tuple", tuple(items))
        raise ParseError("mismatched brackets")

    def matrix(self, env: str) -> Node:
        if env not in _MATRIX_ENVS:
            raise ParseError(f"unsupported environment {env}")
        if env == "array" and self.peek()[0] == "{":  # column spec {cc}
            while self.peek()[0] not in ("}", "eof"):
                self.take()
            self.expect("}")
        rows: list[tuple[Node, ...]] = []
        row: list[Node] = []
        while True:
            if self.peek()[0] == "end":
                if self.take()[1] != env:
                    raise ParseError("mismatched environment")
                break
            row.append(self.additive())
            kind = self.take()[0]
            if kind == "amp":
                continue
            if kind == "row":
                rows.append(tuple(row))
                row = []
                continue
            if kind == "end":
                self.i -= 1
                continue
            raise ParseError("bad matrix cell")
        if row:
            rows.append(tuple(row))
        if not rows or len({len(r) for r in rows}) != 1:
            raise ParseError("ragged matrix")
        return ("matrix", tuple(rows))


NODE_KINDS = {
    "num",
    "sym",
    "const",
    "add",
    "mul",
    "neg",
    "div",
    "frac",
    "pow",
    "fn",
    "fact",
    "binom",
    "pct",
    "pm",
    "list",
    "tuple",
    "set",
    "interval",
    "union",
    "rel",
    "matrix",
}


def iter_nodes(node: Node) -> Iterator[Node]:
    """Every node of the tree, depth first (fields may be nodes, tuples of nodes or matrix rows)."""
    yield node
    stack = list(node[1:])
    while stack:
        part = stack.pop()
        if isinstance(part, tuple):
            if part and isinstance(part[0], str) and part[0] in NODE_KINDS:
                yield from iter_nodes(part)
            else:
                stack.extend(part)


def _in_base(digits: str, base: str) -> int:
    try:
        return int(digits, int(base))
    except ValueError:
        raise ParseError(f"{digits} is not a base-{base} numeral") from None


def _is_integer_literal(node: Node) -> bool:
    return node[0] == "num" and node[1].denominator == 1


def _is_number_like(node: Node) -> bool:
    return node[0] == "num" or (node[0] == "pct" and node[1][0] == "num")


_MIXED_PLAIN_RE = re.compile(r"^(-?)(\d+)\s+(\d+)/(\d+)$")


def parse(text: str, *, cleaned: bool = False) -> Node:
    """Parse an answer string into a node tree; raise :class:`ParseError` if it is not math."""
    if len(text) > MAX_ANSWER_CHARS:
        raise ParseError("answer too long")
    if not cleaned:
        text = clean_latex(text)
    if not text:
        raise ParseError("empty")
    m = _MIXED_PLAIN_RE.match(text)
    if m:  # "3 1/2" in plain text is a mixed number
        sign, whole, num, den = m.groups()
        text = f"{sign}({whole}+{num}/{den})"
    node = _Parser(tokenize(text)).top()
    return node
