"""Physical quantities: a number with a unit, compared after conversion to SI.

Units are resolved with **pint** rather than ``sympy.physics.units``: pint ships a large,
maintained unit database (prefixes, plurals, ``eV``, ``mmHg``, ``L``, ``°C``...), knows offset
temperature scales (25 °C is 298.15 K, while a °C inside J/(kg °C) is a temperature difference),
and reports dimensionality directly, which is exactly the test that must never be fooled: a
dimension mismatch is always wrong. sympy.physics.units has a smaller table, no offset
temperatures and would pull sympy into the hot path.

pint is never given raw text to parse. Unit strings are tokenized here against a whitelist
(identifiers, integers, ``^ * / ( )``), each identifier is checked by regex before
``ureg.Unit(name)`` resolves it, and the unit is assembled by multiplying pint objects. The
number part goes through :mod:`rlvr.verifiers.parser` like any math answer.

Matching rules: with units on both sides, dimensions must agree (else ``unit-mismatch``) and the
response converted to the key's unit must be within 1% (or the request's tolerance) or round to
the key at its significant figures. A bare number is compared with the key's number in the key's
unit (and, when the row's ``unit`` carries a power of ten like ``10^3 m/s``, with the fully
scaled value too). A unit on the response with none on the key compares numbers.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from typing import Any

from rlvr.verifiers import verdict as R
from rlvr.verifiers.answer_types import ANSWER_TYPES, AnswerType
from rlvr.verifiers.extraction import extract
from rlvr.verifiers.evaluator import EvalError, TooLarge, Value, as_complex, evaluate
from rlvr.verifiers.normalization import MAX_ANSWER_CHARS, clean_latex, compact
from rlvr.verifiers.numeric import equation_value, significant_figures, tolerance_for
from rlvr.verifiers.parser import ParseError, parse
from rlvr.verifiers.verdict import Verdict, VerifyRequest

# Spellings pint lacks or reads differently from physics answers (pint's "h" is Planck's constant).
_ALIASES = {
    "h": "hour", "hr": "hour", "hrs": "hour", "sec": "second", "secs": "second", "mins": "minute",
    "l": "liter", "G": "gauss_si", "AU": "astronomical_unit", "Å": "angstrom", "°": "degree",
    "°C": "degC", "°F": "degF", "℃": "degC", "deg": "degree", "Ω": "ohm", "μ": "micro", "µ": "micro",
    "amu": "dalton", "cc": "cubic_centimeter", "percent": "percent",
}
# Things counted are numbers, not dimensions: "2.00 \\times 10^{10} electrons" is 2.00e10.
_COUNT_WORDS = {
    "electron", "atom", "photon", "molecule", "particle", "nucleus", "nuclei", "ion", "proton", "neutron",
    "event", "decay", "cycle", "oscillation", "turn", "fringe", "count", "item", "object",
}
# Words that are prose, not units, although pint would accept some of them (e = elementary charge).
_NOT_UNITS = {"e", "i", "a", "at", "are", "is", "or", "and", "of", "to", "for", "by", "the", "as", "it", "x"}
# Single letters are variables (2B, 3k) unless they are the usual SI symbols.
_SINGLE_LETTER_UNITS = set("msgKANJWVCFTHSLlhcGMΩ°Å℃")
_IDENT_RE = re.compile(r"^[A-Za-z\u00b5\u03bc\u03a9\u00c5\u00b0\u2103]+$")
_UNIT_TOKEN_RE = re.compile(r"\s*(?:(?P<id>°[CF]?|[A-Za-z\u00b5\u03bc\u03a9\u00c5\u2103]+)|(?P<num>\d+(?:\.\d+)?)|(?P<ch>[-+*/^()]))")
_LATEX_UNITS = (
    (re.compile(r"\\(?:mu|upmu|textmu|micro)(?![a-zA-Z])"), "µ"), (re.compile(r"\\Omega(?![a-zA-Z])"), "Ω"),
    (re.compile(r"\\AA(?![a-zA-Z])|\\mathring\s*\{?\s*A\s*\}?"), "Å"), (re.compile(r"\\(?:cdot|times)(?![a-zA-Z])"), "*"),
    (re.compile(r"\\prime(?![a-zA-Z])|\u2032"), "arcminute"), (re.compile(r"\bper\b"), "/"), (re.compile(r"\bsquared\b"), "^2"), (re.compile(r"\bcubed\b"), "^3"),
)


class UnitError(ValueError):
    """Text that is not a unit this module understands."""


@functools.lru_cache(maxsize=1)
def ureg() -> Any:
    import pint

    reg = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)
    reg.define("gauss_si = 1e-4 * tesla")
    return reg


@functools.lru_cache(maxsize=4096)
def _unit(name: str) -> Any:
    if name in _NOT_UNITS or not _IDENT_RE.match(name) or len(name) == 1 and name not in _SINGLE_LETTER_UNITS:
        raise UnitError(name)
    name = _ALIASES.get(name, name)
    if name in _COUNT_WORDS or name.endswith("s") and name[:-1] in _COUNT_WORDS:
        return ureg().Unit("dimensionless")
    try:
        return ureg().Unit(name)
    except Exception as exc:  # noqa: BLE001 - pint raises several types for unknown names
        raise UnitError(name) from exc


@dataclass(frozen=True)
class Unit:
    """A parsed unit: a pint unit times a plain scale factor (``10^3 m/s`` has scale 1000)."""

    scale: float
    units: Any  # pint Unit, or None for a pure number such as 10^3
    offset_ok: bool  # a lone °C/°F: an absolute temperature, not a difference


def _unit_prepare(text: str) -> str:
    text = clean_latex(text, keep_degrees=True)
    for pattern, repl in _LATEX_UNITS:
        text = pattern.sub(repl, text)
    text = re.sub(r"°\s*([CF])(?![A-Za-z])", r"°\1", text)  # 25 ° C is 25 °C
    # \mu C, {\mu}C, \mu{C}, \mathrm{\mu}\mathrm{C} are all µC (U+00B5 and Greek U+03BC alike)
    text = re.sub(r"\{\s*([µμ])\s*\}", r"\1", text)
    text = re.sub(r"([µμ])\s*\{\s*([A-Za-z]+)\s*\}", r"\1\2", text)
    text = re.sub(r"([µμ])\s+(?=[A-Za-z])", r"\1", text)
    return text.replace("{", "(").replace("}", ")").replace("·", "*")


class _UnitParser:
    def __init__(self, text: str):
        self.toks: list[tuple[str, str]] = []
        pos = 0
        while pos < len(text):
            m = _UNIT_TOKEN_RE.match(text, pos)
            if m is None or m.end() == pos:
                if not text[pos:].strip():
                    break
                raise UnitError(text)
            pos = m.end()
            self.toks.append((m.lastgroup or "", m.group(m.lastgroup or 0)))
        self.i = 0
        self.idents: list[tuple[str, float]] = []

    def peek(self) -> tuple[str, str]:
        return self.toks[self.i] if self.i < len(self.toks) else ("eof", "")

    def product(self, depth: int = 0) -> tuple[float, Any]:
        if depth > 5:
            raise UnitError("nesting")
        scale, units = self.factor(depth)
        while self.peek()[0] != "eof" and self.peek() != ("ch", ")"):
            divide = False
            if self.peek() in (("ch", "*"), ("ch", "/")):
                divide = self.toks[self.i][1] == "/"
                self.i += 1
            s, u = self.factor(depth)
            scale = scale / s if divide else scale * s
            if u is not None:
                units = (u if units is None else units * u) if not divide else (1 / u if units is None else units / u)
        return scale, units

    def exponent(self) -> float:
        if self.peek() != ("ch", "^"):
            return 1.0
        self.i += 1
        paren = self.peek() == ("ch", "(")
        self.i += paren
        sign = 1.0
        if self.peek() in (("ch", "-"), ("ch", "+")):
            sign = -1.0 if self.toks[self.i][1] == "-" else 1.0
            self.i += 1
        kind, value = self.peek()
        if kind != "num" or float(value) > 30:
            raise UnitError("exponent")
        self.i += 1
        if paren:
            if self.peek() != ("ch", ")"):
                raise UnitError("exponent")
            self.i += 1
        return sign * float(value)

    def factor(self, depth: int) -> tuple[float, Any]:
        kind, value = self.peek()
        self.i += 1
        if kind == "id":
            unit = _unit(value)
            power = self.exponent()
            self.idents.append((value, power))
            return 1.0, unit**power if power != 1 else unit
        if kind == "num" and value == "10" and self.peek() == ("ch", "^"):
            return 10.0 ** self.exponent(), None
        if (kind, value) == ("ch", "("):
            scale, units = self.product(depth + 1)
            if self.peek() != ("ch", ")"):
                raise UnitError("paren")
            self.i += 1
            power = self.exponent()
            return scale**power, (units**power if units is not None else None)
        raise UnitError(value or kind)


@functools.lru_cache(maxsize=4096)
def parse_unit(text: str) -> Unit:
    """Parse a unit string (LaTeX or plain) into a :class:`Unit`; raise :class:`UnitError`."""
    prepared = _unit_prepare(text).strip()
    if not prepared or len(prepared) > 200:
        raise UnitError(text)
    parser = _UnitParser(prepared)
    scale, units = parser.product()
    if parser.peek()[0] != "eof":
        raise UnitError(text)
    offset_ok = len(parser.idents) == 1 and parser.idents[0][1] == 1.0
    if units is not None and not offset_ok and _has_offset(units):
        # °C inside a compound unit (J/(kg °C)) is a temperature difference
        units = ureg().Unit(str(units).replace("degree_Celsius", "delta_degree_Celsius")
                            .replace("degree_Fahrenheit", "delta_degree_Fahrenheit"))
    return Unit(scale, units, offset_ok)


def _has_offset(units: Any) -> bool:
    return "degree_Celsius" in str(units) or "degree_Fahrenheit" in str(units)


_SPLIT_START_RE = re.compile(
    r"(?<=[\d}).\s])\s*(?=[\s{]*(?:[A-Za-z\u00b5\u03bc\u03a9\u00c5\u00b0\u2103\u2032(]|\\(?:mu|upmu|textmu|micro|Omega|AA|prime)(?![a-zA-Z])))"
)
# Unit vectors and siunitx: (0.829 N) \hat{i} is 0.829 N; \SI{3}{\micro C} is 3 \micro C.
_HAT_RE = re.compile(r"\\(?:hat|vec|mathbf)\s*(?:\{\s*(?:\\math(?:rm|bf)\s*)?\{?\s*[ijkxyzn]\s*\}?\s*\}|[ijk](?![A-Za-z]))")
_SI_RE = re.compile(r"\\(?:SI|qty)\s*\{([^{}]*)\}\s*\{((?:[^{}]|\{[^{}]*\})*)\}")


@dataclass(frozen=True)
class Quantity:
    value: Value
    unit: Unit | None
    value_text: str


def _number(text: str) -> Value:
    return evaluate(equation_value(parse(text, cleaned=True)))


@functools.lru_cache(maxsize=4096)
def split_quantity(text: str) -> tuple[str, str] | None:
    """Split ``"2.9 \\times 10^{-11} C"`` into (number text, unit text); None when not a quantity."""
    if len(text) > MAX_ANSWER_CHARS:
        return None
    text = _SI_RE.sub(r"\1 \2", _HAT_RE.sub(" ", text))
    cleaned = clean_latex(text, keep_degrees=True)
    for _ in range(3):
        cleaned = re.sub(r"\\(?:mathrm|text|rm)(?![a-zA-Z])", "", cleaned)
    cleaned = re.sub(r"(?<=\d)\s*\*\s*(?=[A-Za-z(])", " ", cleaned.strip().rstrip(";,.").strip())  # 12.3*m/s
    if cleaned.startswith("(") and cleaned.endswith(")") and cleaned.count("(") == 1:
        cleaned = cleaned[1:-1].strip()  # (0.829 N)
    for m in _SPLIT_START_RE.finditer(cleaned):
        head, tail = cleaned[:m.start()].strip(), cleaned[m.end():].strip()
        if not head or not tail:
            continue
        try:
            parse_unit(tail)
            value = as_complex(_number(head))
        except (UnitError, ParseError, EvalError):
            continue
        if value.imag == 0 and math.isfinite(value.real):
            return head, tail
    return None


def parse_quantity(text: str) -> Quantity:
    """A quantity with a unit, or a bare number (unit None); raises ParseError/EvalError."""
    split = split_quantity(text)
    if split is not None:
        return Quantity(_number(split[0]), parse_unit(split[1]), split[0])
    cleaned = clean_latex(text)
    return Quantity(_number(cleaned), None, cleaned)


def bare_number_of(text: str) -> Value | None:
    """The number of ``number + unit`` text, for comparing it with a unit-less key."""
    split = split_quantity(text)
    return _number(split[0]) if split is not None else None


def _real(v: Value) -> float:
    c = as_complex(v)
    if c.imag:
        raise EvalError("complex quantity")
    return c.real


def _in_unit(value: float, source: Unit, target: Unit) -> float | None:
    """``value`` in ``source`` expressed in ``target``; None when the dimensions differ."""
    reg = ureg()
    if source.units is None or target.units is None:
        if source.units is None and target.units is None:
            return value * source.scale / target.scale
        return None
    q = reg.Quantity(value * source.scale, source.units)
    if q.dimensionality != reg.Quantity(1, target.units).dimensionality:
        return None
    return float(q.to(target.units).magnitude) / target.scale


_UNIT_END_RE = re.compile(r"(?=[\s,;.]|$)")
_NUMBER_TAIL_RE = re.compile(
    r"-?(?:\d+(?:\.\d+)?|\.\d+)(?:\s*(?:\\times|\\cdot|\u00d7)\s*10\s*\^\s*(?:\{\s*[-+]?\d+\s*\}|[-+]?\d+)|[eE][-+]?\d+)?"
)
MAX_UNIT_CHARS = 60


def unit_after(text: str) -> str | None:
    """The unit that opens ``text`` (what follows a number in prose): the longest prefix ending
    at a word boundary that parses as a unit, or None. ``" km/h, so"`` gives ``km/h``; ``" apples"``
    gives None. Bounded: at most :data:`MAX_UNIT_CHARS` characters and a dozen parse attempts."""
    head = text[:MAX_UNIT_CHARS].split("\n", 1)[0].lstrip(" $~)}").replace("\\)", " ")
    head = head.split("$", 1)[0]
    ends = sorted({m.start() for m in _UNIT_END_RE.finditer(head)}, reverse=True)[:12]
    for end in ends:
        candidate = head[:end].strip()
        if not candidate or not (candidate[0].isalpha() or candidate[0] in "\\{°µμΩÅ"):
            continue
        try:
            if parse_unit(candidate).units is not None:
                return candidate
        except UnitError:
            continue
    return None


def with_unit(text: str, found: str) -> str:
    """``found`` (a number extracted from ``text``) with the unit written after it in ``text``,
    when the last occurrence of ``found`` is followed by one: "The speed is 36 km/h" gives
    ``36 km/h``, not ``36``."""
    pos = text.rfind(found, max(0, len(text) - 20_000))
    if pos < 0:
        return found
    unit = unit_after(text[pos + len(found):])
    return f"{found} {unit}" if unit else found


def last_quantity(text: str) -> str | None:
    """The last number of ``text`` with the unit that follows it (``... so v = 36 km/h.`` gives
    ``36 km/h``); None when ``text`` has no number."""
    found = None
    for found in _NUMBER_TAIL_RE.finditer(text, max(0, len(text) - 5000)):  # noqa: B007 - the last one
        pass
    if found is None:
        return None
    unit = unit_after(text[found.end():])
    return f"{found.group(0)} {unit}" if unit else found.group(0)


def _has_unit(text: str) -> bool | None:
    """True: a quantity with a unit; False: a bare number; None: neither parses."""
    try:
        return parse_quantity(text).unit is not None
    except (ParseError, EvalError, UnitError, RecursionError):
        return None


class QuantityType(AnswerType):
    """Physical quantities. Extraction keeps the unit that follows the number in prose, so the
    last-number fallback and "the answer is 36 km/h" compare 36 km/h with the key, not 36."""

    name = "quantity"

    def extract(self, req: VerifyRequest) -> str | None:
        found = extract(req.response, req.marker, req.fallback)
        if found is None:
            return None
        state = _has_unit(found)
        if state is True:
            return found
        if state is False:
            return with_unit(req.response, found)
        return last_quantity(found) or found

    def quick(self, extracted: str, req: VerifyRequest) -> Verdict | None:
        if compact(extracted) == compact(req.answer):
            return Verdict(True, extracted, R.EQUAL)
        return None

    def _key(self, req: VerifyRequest) -> Quantity:
        key = parse_quantity(req.answer)
        if key.unit is None and req.unit and req.unit.strip():
            try:
                key = Quantity(key.value, parse_unit(req.unit), key.value_text)
            except UnitError:
                pass  # a unit such as "dollars" pint does not know: compare numbers
        return key

    def check(self, extracted: str, req: VerifyRequest) -> Verdict:
        try:
            key = self._key(req)
            key_value = _real(key.value)
        except (ParseError, EvalError, UnitError):
            return Verdict(False, extracted, R.BAD_KEY)
        try:
            resp = parse_quantity(extracted)
            value = _real(resp.value)
        except TooLarge:
            return Verdict(False, extracted, R.TOO_LARGE)
        except (ParseError, EvalError, UnitError):
            return Verdict(False, extracted, R.UNPARSABLE)
        tol = tolerance_for(key.value_text, req, quantity=True)
        if resp.unit is None or key.unit is None:
            candidates = [key_value]
            if key.unit is not None and key.unit.scale != 1.0:
                candidates.append(key_value * key.unit.scale)  # 2160 for "2.16" in "10^3 m/s"
            ok = any(tol.match(value, c) for c in candidates)
            return Verdict(ok, extracted, R.EQUAL if ok else R.MISMATCH)
        converted = _in_unit(value, resp.unit, key.unit)
        if converted is None:
            return Verdict(False, extracted, R.UNIT_MISMATCH)
        ok = tol.match(converted, key_value, significant_figures(resp.value_text)[0] if resp.unit == key.unit else 0)
        return Verdict(ok, extracted, R.EQUAL if ok else R.MISMATCH)


ANSWER_TYPES.register("quantity", QuantityType())
