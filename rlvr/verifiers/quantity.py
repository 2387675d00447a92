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

Spellings: every pint prefix on every pint unit (``dam``, ``mΩ``, ``µs``, ``GPa``), LaTeX forms
(``\\mathrm{m/s^2}``, ``\\text{ m s}^{-1}``, ``\\frac{kg}{s}``), siunitx (``\\SI{2}{\\kilo\\gram}``),
dioptres (``D``, ``dpt``), imperial units (``lb``, ``ft``, ``mph``, ``°F`` as an offset scale) and
Chinese unit names glued to the number (``4000千克``, ``10米每秒``, ``2平方米``).

Matching rules (precision first: a wrong acceptance is a reward the policy learns to hack):

* With units on both sides, dimensions must agree (else ``unit-mismatch``), and so must the power
  of angle, which pint leaves out of the dimension because it counts the radian as dimensionless:
  ``45 rad`` against ``45 electrons`` or ``5 Hz`` against ``5 rad/s`` is a mismatch, while
  ``\\frac{\\pi}{4} rad`` against ``45°`` is converted and equal. The response converted to the
  key's unit must be within 1% (or the request's tolerance) or round to the key at the key's
  significant figures; with the request's ``sig_figs`` set, only rounding both to that many
  figures decides.
* A number followed by a word that is no unit (``9.8 foo``, ``36 apples``) is ``unknown-unit``:
  the word is never dropped to leave a bare number. The one exception is the row's own ``unit``
  written back when pint cannot read it either (``4.8 d`` for a row whose unit is ``d``).
* A bare number is compared with the key's number in the key's unit (the question named the
  unit), and, when the row's ``unit`` carries a power of ten like ``10^3 m/s``, with the fully
  scaled value too. A unit on the response with none on the key compares numbers.

The registry is built once per process and only when a unit must be resolved; plain keys never
build it, so the caller's stage 1 stays free of it (tests/test_verify_units.py checks this).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from rlvr.verifiers import verdict as R
from rlvr.verifiers.answer_types import ANSWER_TYPES, AnswerType
from rlvr.verifiers.evaluator import EvalError, TooLarge, Value, as_complex, close, evaluate
from rlvr.verifiers.extraction import extract
from rlvr.verifiers.normalization import MAX_ANSWER_CHARS, clean_latex, compact
from rlvr.verifiers.numeric import EXACT_REL_TOL, equation_value, significant_figures, tolerance_for
from rlvr.verifiers.parser import ParseError, parse
from rlvr.verifiers.verdict import Verdict, VerifyRequest

# Spellings pint lacks or reads differently from physics answers (pint's "h" is Planck's constant).
_ALIASES = {
    "h": "hour",
    "hr": "hour",
    "hrs": "hour",
    "sec": "second",
    "secs": "second",
    "mins": "minute",
    "l": "liter",
    "G": "gauss_si",
    "AU": "astronomical_unit",
    "Å": "angstrom",
    "°": "degree",
    "°C": "degC",
    "°F": "degF",
    "℃": "degC",
    "deg": "degree",
    "Ω": "ohm",
    "μ": "micro",
    "µ": "micro",
    "amu": "dalton",
    "cc": "cubic_centimeter",
    "percent": "percent",
    # pint reads "dpt" as deci-pint and "D" as debye; in physics answers both are dioptres
    "dpt": "dioptre",
    "D": "dioptre",
    "lb": "pound",
    "lbs": "pound",
    "rev": "revolution",
    "revs": "revolution",
}
# Chinese unit names (answers write them glued to the number: 4000千克). 每 ("per") and the
# 平方/立方 ("square"/"cubic") prefixes are rewritten in _unit_prepare.
_CJK_UNITS = {
    "千克": "kilogram",
    "公斤": "kilogram",
    "克": "gram",
    "毫克": "milligram",
    "吨": "metric_ton",
    "米": "meter",
    "千米": "kilometer",
    "公里": "kilometer",
    "厘米": "centimeter",
    "毫米": "millimeter",
    "微米": "micrometer",
    "纳米": "nanometer",
    "秒": "second",
    "毫秒": "millisecond",
    "分钟": "minute",
    "小时": "hour",
    "时": "hour",
    "天": "day",
    "牛": "newton",
    "牛顿": "newton",
    "千牛": "kilonewton",
    "焦": "joule",
    "焦耳": "joule",
    "千焦": "kilojoule",
    "瓦": "watt",
    "瓦特": "watt",
    "千瓦": "kilowatt",
    "帕": "pascal",
    "帕斯卡": "pascal",
    "千帕": "kilopascal",
    "伏": "volt",
    "伏特": "volt",
    "安": "ampere",
    "安培": "ampere",
    "毫安": "milliampere",
    "欧": "ohm",
    "欧姆": "ohm",
    "库": "coulomb",
    "库仑": "coulomb",
    "赫": "hertz",
    "赫兹": "hertz",
    "特斯拉": "tesla",
    "开": "kelvin",
    "开尔文": "kelvin",
    "摄氏度": "degC",
    "度": "degree",
    "弧度": "radian",
    "升": "liter",
    "毫升": "milliliter",
    "摩尔": "mole",
    "电子伏特": "electron_volt",
    "千瓦时": "kilowatt_hour",
}
_CJK = "\u3400-\u9fff"
# Things counted are numbers, not dimensions: "2.00 \\times 10^{10} electrons" is 2.00e10.
_COUNT_WORDS = {
    "electron",
    "atom",
    "photon",
    "molecule",
    "particle",
    "nucleus",
    "nuclei",
    "ion",
    "proton",
    "neutron",
    "event",
    "decay",
    "cycle",
    "oscillation",
    "turn",
    "fringe",
    "count",
    "item",
    "object",
}
# Words that are prose, not units, although pint would accept some of them (e = elementary charge).
_NOT_UNITS = {"e", "i", "a", "at", "are", "is", "or", "and", "of", "to", "for", "by", "the", "as", "it", "x"}
# Single letters are variables (2B, 3k) unless they are the usual SI symbols.
_SINGLE_LETTER_UNITS = set("msgKANJWVCFTHSLlhcGMΩ°Å℃Dt")
# Letters that are units only when written apart from their number: "4 t" is four tonnes, while
# "4t" is a math key in t (and "2D" a dimension count).
_SPACED_ONLY_UNITS = {"t", "D"}
_IDENT_RE = re.compile(rf"^(?:[A-Za-z\u00b5\u03bc\u03a9\u00c5\u00b0\u2103]+|[{_CJK}]+)$")
_UNIT_TOKEN_RE = re.compile(rf"\s*(?:(?P<id>°[CF]?|[A-Za-z\u00b5\u03bc\u03a9\u00c5\u2103]+|[{_CJK}]+)|(?P<num>\d+(?:\.\d+)?)|(?P<ch>[-+*/^()]))")
_LATEX_UNITS = (
    (re.compile(r"\\(?:mu|upmu|textmu|micro)(?![a-zA-Z])"), "µ"),
    (re.compile(r"\\Omega(?![a-zA-Z])"), "Ω"),
    (re.compile(r"\\AA(?![a-zA-Z])|\\mathring\s*\{?\s*A\s*\}?"), "Å"),
    (re.compile(r"\\(?:cdot|times)(?![a-zA-Z])"), "*"),
    (re.compile(r"\\prime(?![a-zA-Z])|\u2032"), "arcminute"),
    (re.compile(r"\bper\b"), "/"),
    (re.compile(r"\bsquared\b"), "^2"),
    (re.compile(r"\bcubed\b"), "^3"),
)


class UnitError(ValueError):
    """Text that is not a unit this module understands."""


@functools.lru_cache(maxsize=1)
def ureg() -> Any:
    import pint

    reg = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)
    reg.define("gauss_si = 1e-4 * tesla")
    reg.define("dioptre = 1 / meter = _ = diopter")
    return reg


@functools.lru_cache(maxsize=4096)
def _unit(name: str) -> Any:
    if _CJK_CHAR_RE.match(name):  # pint has no CJK names: only the table's are units
        if name not in _CJK_UNITS:
            raise UnitError(name)
        return ureg().Unit(_CJK_UNITS[name])
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
    for _ in range(3):  # \frac{kg}{s} is kg/s; innermost first, so \frac{\frac{J}{kg}}{K} takes two passes
        text = _UNIT_FRAC_RE.sub(r"((\1)/(\2))", text)
    text = _CJK_POWER_RE.sub(lambda m: f"{m.group(2)}^{_CJK_POWERS[m.group(1)]}", text).replace("每", "/")
    return text.replace("{", "(").replace("}", ")").replace("·", "*")


_UNIT_FRAC_RE = re.compile(r"\\frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
_CJK_POWERS = {"平方": 2, "立方": 3}
_CJK_POWER_RE = re.compile(rf"(平方|立方)([{_CJK}]+?)(?=每|$|[^{_CJK}])")


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


_SIGN_OUTSIDE_EXPONENT_RE = re.compile(r"(?<![\^(])[-+]")


@functools.lru_cache(maxsize=4096)
def parse_unit(text: str) -> Unit:
    """Parse a unit string (LaTeX or plain) into a :class:`Unit`; raise :class:`UnitError`."""
    prepared = _unit_prepare(text).strip()
    if not prepared or len(prepared) > MAX_PART_CHARS or _SIGN_OUTSIDE_EXPONENT_RE.search(prepared.replace(" ", "")):
        raise UnitError(text)  # a sum (17t - 10) is no unit: rejected before any name reaches pint
    parser = _UnitParser(prepared)
    scale, units = parser.product()
    if parser.peek()[0] != "eof":
        raise UnitError(text)
    offset_ok = len(parser.idents) == 1 and parser.idents[0][1] == 1.0
    if units is not None and not offset_ok and _has_offset(units):
        # °C inside a compound unit (J/(kg °C)) is a temperature difference
        units = ureg().Unit(str(units).replace("degree_Celsius", "delta_degree_Celsius").replace("degree_Fahrenheit", "delta_degree_Fahrenheit"))
    return Unit(scale, units, offset_ok)


def _has_offset(units: Any) -> bool:
    return "degree_Celsius" in str(units) or "degree_Fahrenheit" in str(units)


_SPLIT_START_RE = re.compile(
    r"(?<=[\d}).\s])\s*(?=[\s{]*(?:[A-Za-z\u00b5\u03bc\u03a9\u00c5\u00b0\u2103\u2032(" + _CJK + r"]"
    r"|\\(?:mu|upmu|textmu|micro|Omega|AA|prime|frac)(?![a-zA-Z])))"
)
# Unit vectors and siunitx: (0.829 N) \hat{i} is 0.829 N; \SI{3}{\micro C} is 3 \micro C.
_HAT_RE = re.compile(r"\\(?:hat|vec|mathbf)\s*(?:\{\s*(?:\\math(?:rm|bf)\s*)?\{?\s*[ijkxyzn]\s*\}?\s*\}|[ijk](?![A-Za-z]))")
_SI_RE = re.compile(r"\\(?:SI|qty)\s*\{([^{}]*)\}\s*\{((?:[^{}]|\{[^{}]*\})*)\}")
_SI_UNIT_RE = re.compile(r"\\(?:si|unit)\s*\{((?:[^{}]|\{[^{}]*\})*)\}")
# siunitx macros: \kilo\gram is kilogram, \per divides, \squared squares what precedes it.
_SI_PREFIX_RE = re.compile(
    r"\\(quecto|ronto|yocto|zepto|atto|femto|pico|nano|micro|milli|centi|deci|deca|deka|hecto|kilo|mega|giga|tera|"
    r"peta|exa|zetta|yotta|ronna|quetta)\s*\\(?=[a-zA-Z])"
)
_SI_POWER_RE = re.compile(r"\\(square|cubic)\s*\\([a-zA-Z]+)")
_SI_MACROS = {"per": "/", "squared": "^2", "cubed": "^3", "degreeCelsius": "degC", "celsius": "degC"}  # others: pint's names
_SI_MACRO_RE = re.compile(r"\\([a-zA-Z]+)")


def _siunitx(unit: str) -> str:
    """A siunitx unit argument (``\\kilo\\meter\\per\\second\\squared``) as plain unit text."""
    unit = _SI_PREFIX_RE.sub(r"\1", unit)
    unit = _SI_POWER_RE.sub(lambda m: f"\\{m.group(2)}^{2 if m.group(1) == 'square' else 3}", unit)
    return _SI_MACRO_RE.sub(lambda m: f" {_SI_MACROS.get(m.group(1), m.group(1))} ", unit)


@dataclass(frozen=True)
class Quantity:
    value: Value
    unit: Unit | None
    value_text: str


def _number(text: str) -> Value:
    return evaluate(equation_value(parse(text, cleaned=True)))


MAX_PART_CHARS = 200  # the number, and the unit, of a quantity are each shorter than this


def _number_splits(text: str) -> Iterator[tuple[str, str, bool]]:
    """(number text, what follows, written apart) for each place where a real number is followed
    by something that starts like a unit, leftmost first; both parts at most
    :data:`MAX_PART_CHARS` long, so the cost is bounded whatever the answer's length."""
    text = _HAT_RE.sub(" ", text)
    text = _SI_RE.sub(lambda m: f"{m.group(1)} {_siunitx(m.group(2))}", text)
    text = _SI_UNIT_RE.sub(lambda m: f" {_siunitx(m.group(1))}", text)
    cleaned = clean_latex(text, keep_degrees=True)
    for _ in range(3):
        cleaned = re.sub(r"\\(?:mathrm|text|rm)(?![a-zA-Z])", "", cleaned)
    cleaned = re.sub(r"(?<=\d)\s*\*\s*(?=[A-Za-z(])", " ", cleaned.strip().rstrip(";,.。").strip())  # 12.3*m/s
    if cleaned.startswith("(") and cleaned.endswith(")") and cleaned.count("(") == 1:
        cleaned = cleaned[1:-1].strip()  # (0.829 N)
    for m in _SPLIT_START_RE.finditer(cleaned):
        if m.start() > MAX_PART_CHARS:
            break  # heads only grow; without this every split of a 2,000-character answer is parsed
        head, tail = cleaned[: m.start()].strip(), cleaned[m.end() :].strip()
        if not head or not tail or len(tail) > MAX_PART_CHARS:
            continue
        try:
            value = _real(_number(head))
        except (ParseError, EvalError):
            continue
        if math.isfinite(value):
            yield head, tail, m.end() > m.start() or cleaned[m.start() - 1].isspace()


@functools.lru_cache(maxsize=4096)
def split_quantity(text: str) -> tuple[str, str] | None:
    """Split ``"2.9 \\times 10^{-11} C"`` into (number text, unit text); None when not a quantity."""
    if len(text) > MAX_ANSWER_CHARS:
        return None
    for head, tail, apart in _number_splits(text):
        if tail in _SPACED_ONLY_UNITS and not apart:
            continue
        try:
            parse_unit(tail)
        except UnitError:
            continue
        return head, tail
    return None


@functools.lru_cache(maxsize=4096)
def unread_unit(text: str) -> tuple[str, str] | None:
    """(number text, what follows) of ``number + words`` text when no reading of the words is a
    unit (``9.8 foo``, ``12 apples``): a unit the parser cannot read must fail the comparison
    rather than vanish and leave a bare number. None when ``text`` is a quantity or has no such
    tail."""
    if len(text) > MAX_ANSWER_CHARS or split_quantity(text) is not None:
        return None
    for head, tail, _ in _number_splits(text):
        if unit_after(" " + tail) is None and not _PROSE_TAIL_RE.match(tail):
            return head, tail
    return None


# Words after a number that continue the sentence rather than name a unit ("36 and rising").
_PROSE_TAIL_RE = re.compile(r"(?:and|or|so|which|because|since|if|when|then|is|are|was|as|for|the)\b", re.IGNORECASE)


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
    try:
        c = as_complex(v)
    except OverflowError:  # 10^{400} is exact as a Fraction but has no float
        raise TooLarge("beyond a float") from None
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
    if _angle_power(source.units) != _angle_power(target.units):
        return None  # pint counts radians as dimensionless: 45 rad would otherwise equal 45 (a count)
    return float(q.to(target.units).magnitude) / target.scale


@functools.lru_cache(maxsize=1024)
def _angle_power(units: Any) -> float:
    """The power of angle in ``units`` (1 for °, rad/s and rpm; 2 for sr), which pint's
    dimensionality leaves out because it treats the radian as dimensionless."""
    power = 0.0
    for name, exponent in units._units.items():
        try:
            base = ureg().get_base_units(name)[1]
        except Exception:  # noqa: BLE001 - logarithmic units (Np, dB) have no plain base
            continue
        power += exponent * base._units.get("radian", 0)
    return power


_UNIT_END_RE = re.compile(r"(?=[\s,;.，。；、]|$)")
_NUMBER_TAIL_RE = re.compile(  # not an exponent or an index: the 2 of m/s^2 or the 0 of v_0 is no answer
    r"(?<![\^_])(?<![\^_]\{)(?<![\d.])-?(?:\d+(?:\.\d+)?|\.\d+)(?:\s*(?:\\times|\\cdot|\u00d7)\s*10\s*\^\s*(?:\{\s*[-+]?\d+\s*\}|[-+]?\d+)|[eE][-+]?\d+)?"
)
MAX_UNIT_CHARS = 60


def unit_after(text: str) -> str | None:
    """The unit that opens ``text`` (what follows a number in prose): the longest prefix ending
    at a word boundary that parses as a unit, or None. ``" km/h, so"`` gives ``km/h``; ``" apples"``
    gives None. Bounded: at most :data:`MAX_UNIT_CHARS` characters and a dozen parse attempts."""
    head = text[:MAX_UNIT_CHARS].split("\n", 1)[0].lstrip(" $~)}").replace("\\)", " ")
    head = head.split("$", 1)[0]
    ends = {m.start() for m in _UNIT_END_RE.finditer(head)}
    ends.update(i + 1 for i, c in enumerate(head[:8]) if _CJK_CHAR_RE.match(c))  # 4000千克的物体: no spaces
    for end in sorted(ends, reverse=True)[:12]:
        candidate = head[:end].strip()
        if not candidate or not (candidate[0].isalpha() or candidate[0] in "\\{°µμΩÅ"):
            continue
        if candidate in _SPACED_ONLY_UNITS and not text[:1].isspace():
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
    return found + _unit_or_word(text[pos + len(found) :])


_CJK_CHAR_RE = re.compile(f"[{_CJK}]")
# A word written right after a number, where a unit would stand (\mathrm{} and \text{} included).
_WORD_AFTER_RE = re.compile(rf"^(?:[ \t~]|\\[,;:! ])*(?:\\(?:mathrm|text|rm|mbox|operatorname)\s*\{{\s*)?([A-Za-z\u00b5\u03bc\u03a9]+|[{_CJK}]+)")


def _unit_or_word(text: str) -> str:
    """What to keep of ``text`` (what follows a number): the unit that opens it (with a space
    before it), else the word standing where a unit would, as written (`` foo`` in ``9.8 foo``,
    ``t`` in ``4t``), so that a unit the parser cannot read reaches the comparison and fails it
    instead of vanishing. Empty when neither follows; words that continue the sentence
    (``36 and``) do not count."""
    unit = unit_after(text)
    if unit is not None:
        return f" {unit}"
    m = _WORD_AFTER_RE.match(text[:MAX_UNIT_CHARS])
    if m is None or _PROSE_TAIL_RE.fullmatch(m.group(1)):
        return ""
    return m.group(0)


def last_quantity(text: str) -> str | None:
    """The last number of ``text`` with the unit that follows it (``... so v = 36 km/h.`` gives
    ``36 km/h``); None when ``text`` has no number."""
    found = None
    for found in _NUMBER_TAIL_RE.finditer(text, max(0, len(text) - 5000)):  # noqa: B007 - the last one
        pass
    if found is None:
        return None
    return found.group(0) + _unit_or_word(text[found.end() :])


_LIST_SEPARATOR_RE = re.compile(r"[,;]|\b(?:and|or)\b")


def _ends_with_list(text: str) -> bool:
    """Whether the last two numbers of ``text`` are items of a list or a hedge (``45°, 90°``,
    ``3 m or 4 m``) rather than steps of a derivation (``= 2.68 \\times 10^{12} m (1 - 0.967) =
    8.8 \\times 10^{10} m``), whose last value is its answer."""
    numbers = list(_NUMBER_TAIL_RE.finditer(text, max(0, len(text) - 5000)))
    if len(numbers) < 2:
        return False
    between = text[numbers[-2].end() : numbers[-1].start()]
    return _LIST_SEPARATOR_RE.search(between) is not None


def _has_unit(text: str) -> bool | None:
    """True: a quantity with a unit; False: a bare number; None: neither parses."""
    try:
        return parse_quantity(text).unit is not None
    except (ParseError, EvalError, UnitError, RecursionError):
        return None


_KEY_RE = re.compile(r"^\s*[-+]?\s*(?:\d|\.\d)")  # a quantity key starts with its number


class QuantityType(AnswerType):
    """Physical quantities. Extraction keeps the unit that follows the number in prose, so the
    last-number fallback and "the answer is 36 km/h" compare 36 km/h with the key, not 36."""

    def key_problem(self, answer: str) -> str | None:
        return None if _KEY_RE.match(answer) else "does not start with a number"

    def extract(self, req: VerifyRequest) -> str | None:
        found = extract(req.response, req.marker, req.fallback)
        if found is None:
            return None
        state = _has_unit(found)
        if state is True:
            return found
        if state is False:
            return with_unit(req.response, found)
        if _ends_with_list(found):
            return found  # compared whole: the last item of 45°, 90° is not the answer
        return last_quantity(found) or found

    def quick(self, extracted: str, req: VerifyRequest) -> Verdict | None:
        # Equal text decides only when the key carries its own unit: with the unit in a separate
        # field, the key 45 (rad) and the response 45^\circ compact alike (degree signs drop).
        if not req.unit and compact(extracted) == compact(req.answer):
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
            unread = unread_unit(extracted)
            if unread is None:
                return Verdict(False, extracted, R.UNPARSABLE)
            if key.unit is not None or compact(unread[1]) != compact(req.unit or ""):
                return Verdict(False, extracted, R.UNKNOWN_UNIT)
            # the key's own unit, which pint does not know either (4.8 d for a row whose unit is d)
            resp, value = Quantity(_number(unread[0]), None, unread[0]), _real(_number(unread[0]))
        tol = tolerance_for(key.value_text, req, quantity=True)
        if _integer_key(key.value, req) and (resp.unit is None or key.unit is None or resp.unit == key.unit):
            ok = _exact(resp.value, key.value)
            return Verdict(ok, extracted, R.EQUAL if ok else R.MISMATCH)
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


def _integer_key(key: Value, req: VerifyRequest) -> bool:
    """An integer key with no tolerance requested: the integer-key policy applies to a response in
    the key's own unit (89.99° is not 90°, nor 5.04 m/s 5 m/s), while a converted response keeps
    the 1% (22.05 lb is 10 kg: the conversion of a rounded value is never an integer)."""
    return isinstance(key, Fraction) and key.denominator == 1 and req.rel_tol is None and req.abs_tol is None and req.sig_figs is None


def _exact(value: Value, key: Value) -> bool:
    """Equal for a rational response (2.0 is 2, 2.0000019 is not); float noise only otherwise."""
    return value == key if isinstance(value, Fraction) else close(value, key, EXACT_REL_TOL)


ANSWER_TYPES.register("quantity", QuantityType())
