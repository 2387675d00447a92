"""Plain-text units from the LaTeX unit strings of physics datasets.

SciBench and ABench state a row's unit separately from its number, in LaTeX
(``$\\mathrm{~m} / \\mathrm{s}^2$``, ``\\mathrm{\\;{cm}}``, ``{ \\circ}``). Rows carry the unit as
plain text (``m/s^2``, ``cm``, ``°``) that a unit parser and a prompt can both use. SciBench's unit
may also start with a power of ten (``$10^3 \\mathrm{~kg} / \\mathrm{m}^3$`` means the answer 2.0 is
2.0e3 kg/m^3): :func:`split_power_of_ten` returns that power so the loader folds it into the key
(``2.0 \\times 10^{3}``) and the unit keeps only physical units. Then the key plus the unit is the
quantity itself, and a model that answers ``2000 kg/m^3`` or ``2.0 \\times 10^3 kg/m^3`` is right.
"""

from __future__ import annotations

import re

_POWER_RE = re.compile(r"^\s*10\s*\^\s*\{?\s*([-+]?\s*\d+)\s*\}?")
_SIMPLE = [
    (re.compile(r"\\(?:mathrm|text|operatorname|mathbf|rm)\s*\{([^{}]*)\}"), r"\1"),  # innermost wrappers first
    (re.compile(r"\\hat\s*\{[^{}]*\}"), ""),  # unit vectors (N \hat{i}): direction, not unit
    (re.compile(r"\{\s*\}"), ""),
]
_REPLACEMENTS = [
    ("℃", "°C"),
    ("\\AA", "Å"),
    ("\\Omega", "Ω"),
    ("\\mu", "μ"),
    ("\\cdot", "*"),
    ("\\times", "*"),
    ("\\prime", "'"),
    ("\\%", "%"),
]


def latex_unit_to_text(unit: str) -> str:
    """``$\\mathrm{~m} / \\mathrm{s}^2$`` -> ``m/s^2``; ``{ \\circ}\\mathrm{C}`` -> ``°C``; ``\\mu \\mathrm{C}`` -> ``μC``."""
    s = unit.replace("$", "")
    for _ in range(6):  # nested groups (\mathrm{\;{cm}}, {\mathrm{m}}^{2}): peel one level per pass
        before = s
        s = re.sub(r"\^\s*\{?\s*\\circ\s*\}?|\\circ", "°", s)
        s = re.sub(r"\^\s*\{\s*([-+]?\s*\d+)\s*\}", lambda m: "^" + m.group(1).replace(" ", ""), s)
        for pattern, repl in _SIMPLE:
            s = pattern.sub(repl, s)
        s = re.sub(r"(?<![A-Za-z])\{([^{}]*)\}", r"\1", s)  # grouping braces (not a command's argument)
        if s == before:
            break
    for old, new in _REPLACEMENTS:
        s = s.replace(old, new)
    s = re.sub(r"\\[;,:!]|~|\\ ", " ", s)
    s = re.sub(r"\s*([/*^])\s*", r"\1", s)
    s = re.sub(r"\s+", " ", s).strip(" ;,.")
    s = re.sub(r"(?<=[°μ]) (?=\w)", "", s).replace("^'", "'")
    if s.count("}") > s.count("{"):  # ABench rows with a stray closing brace: "m/s}"
        s = s.rstrip("}")
    return s


_SINGLE_LETTER_UNITS = set("msgKNJWVACTLhd°")
_COUNT_NOUNS = {"electrons", "times", "particles"}


def plain_unit(unit: str | None) -> str | None:
    """The row's unit as plain text, or None when there is none or it is not a unit.

    ABench's unit column was parsed from the question text and sometimes holds a variable name
    (``B``, ``n``, ``\\alpha``), broken LaTeX, or a stray prime (``{\\prime``, on efficiencies and
    times alike); SciBench writes counts as units ("electrons").
    Such a "unit" would make a correct answer with the right unit look like a unit mismatch, so it
    is dropped and the key is judged as a bare number.
    """
    if not unit or not unit.strip():
        return None
    text = latex_unit_to_text(unit)
    if not text or any(c in text for c in "\\|{}") or text in _COUNT_NOUNS:
        return None
    if len(text) == 1 and text not in _SINGLE_LETTER_UNITS:
        return None
    return text


def split_power_of_ten(unit: str) -> tuple[int, str]:
    """``$10^{-6} \\mathrm{C}$`` -> ``(-6, "$\\mathrm{C}$")``; a unit without a leading power -> ``(0, unit)``."""
    s = unit.replace("$", " ").strip()
    m = _POWER_RE.match(s)
    if not m:
        return 0, unit
    return int(m.group(1).replace(" ", "")), s[m.end() :]


def fold_power(answer: str, power: int) -> str:
    """``("4.16", 42)`` -> ``"4.16 \\times 10^{42}"``: the key in the same notation the datasets use."""
    return answer if power == 0 else f"{answer} \\times 10^{{{power}}}"
