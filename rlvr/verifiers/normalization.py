"""Input sanitising and text normalisation shared by every answer type.

Two jobs, kept apart on purpose:

* :func:`sanitize` decides whether an input is usable at all. Model responses and dataset keys
  arrive as ``str`` or ``bytes``; bytes that are not UTF-8, strings carrying lone surrogates
  (what ``surrogateescape`` leaves from invalid UTF-8) or NUL bytes are rejected rather than
  repaired, because a reward computed from a repaired garbage string is a reward for garbage.
* :func:`clean_latex` maps the many spellings of one LaTeX answer onto one spelling (``\\dfrac``
  to ``\\frac``, ``\\left(`` to ``(``, unicode minus to ``-``, spacing macros away, ``\\text{}``
  unwrapped) so that the parser and the exact-string fast path see fewer variants. It only
  rewrites text; it never evaluates anything.
"""

from __future__ import annotations

import re

#: Longest extracted answer the parsers accept; a final answer longer than this is not an answer.
MAX_ANSWER_CHARS = 2000
#: Longest response or key verified at all (several times any generation budget), so that every
#: scan in the caller's process has a size bound even where a scan is not limited to a tail.
MAX_INPUT_CHARS = 1_000_000


class InvalidInput(ValueError):
    """The input cannot be verified (bad encoding, NUL bytes, wrong type)."""


def sanitize(value: object, what: str) -> str:
    """Return ``value`` as clean text or raise :class:`InvalidInput` naming ``what`` and the defect."""
    if isinstance(value, (bytes, bytearray)):
        try:
            value = bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput(f"{what} is not valid UTF-8") from None
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be str, got {type(value).__name__}")
    if len(value) > MAX_INPUT_CHARS:
        raise InvalidInput(f"{what} is longer than {MAX_INPUT_CHARS} characters")
    if "\x00" in value:
        raise InvalidInput(f"{what} contains NUL bytes")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(f"{what} contains lone surrogates (invalid UTF-8)") from None
    return value


_UNICODE = {
    "\u2212": "-",
    "\u2013": "-",
    "\u2014": "-",
    "\u00d7": r"\times ",
    "\u22c5": r"\cdot ",
    "\u00b7": r"\cdot ",
    "\u00f7": "/",
    "\u221a": r"\sqrt",
    "\u03c0": r"\pi ",
    "\u221e": r"\infty ",
    "\u2264": r"\le ",
    "\u2265": r"\ge ",
    "\u2260": r"\ne ",
    "\u2009": " ",
    "\u00a0": " ",
    "\u202f": " ",
    "\uff0c": ",",
    "\u222a": r"\cup ",
    "\u2229": r"\cap ",
    "\u2208": r"\in ",
    "\u00b1": r"\pm ",
    "\u2248": r"\approx ",
    "\u2103": r"^\circ C",
}
_SUPERSCRIPTS = str.maketrans("\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079\u207b\u207a", "0123456789-+")
_SUPERSCRIPT_RE = re.compile("[\u207b\u207a]?[\u2070\u00b9\u00b2\u00b3\u2074-\u2079]+")
_UNICODE_RE = re.compile("|".join(map(re.escape, _UNICODE)))

# Wrappers whose content is the answer: \text{5} is 5. \textbf etc. are formatting only.
_WRAPPERS = (
    "text",
    "textbf",
    "textit",
    "textrm",
    "textnormal",
    "mathrm",
    "mathbf",
    "mathit",
    "mbox",
    "operatorname",
    "boldsymbol",
    "mathsf",
    "mathtt",
    "hbox",
    "textup",
    "emph",
    "bm",
)
_WRAPPER_RE = re.compile(r"\\(?:" + "|".join(_WRAPPERS) + r")\s*\{")
_DROP_RE = re.compile(
    r"\\(?:left|right|bigl|bigr|Bigl|Bigr|biggl|biggr|big|Big|bigg|Bigg|displaystyle|textstyle|"
    r"scriptstyle|limits|nolimits|mathstrut|strut)(?![a-zA-Z])"
)
_SPACE_RE = re.compile(r"(?<!\\)\\(?:[,;:! ]|(?:quad|qquad|thinspace|enspace|medspace|thickspace|hfill)(?![a-zA-Z]))|~")
_FRAC_RE = re.compile(r"\\[dtc]frac(?![a-zA-Z])")
_BINOM_RE = re.compile(r"\\[dt]binom(?![a-zA-Z])")
_DEGREE_RE = re.compile(r"\^\s*\{\s*\\circ\s*\}|\^\s*\\circ(?![a-zA-Z])|\\degree(?![a-zA-Z])|\\circ(?![a-zA-Z])|°")
_DOLLAR_RE = re.compile(r"\\\$|\$|\\[()\[\]]")
_THOUSANDS_RE = re.compile(r"(?<![\d.])([1-9]\d{0,2})((?:,\d{3})+)(?![\d,])")
_BRACE_COMMA_RE = re.compile(r"\{,\}")
_THIN_COMMA_RE = re.compile(r"(?<=\d),\\!\s*(?=\d{3})")
_WS_RE = re.compile(r"\s+")
_DOUBLE_ESCAPE_RE = re.compile(r"(?<!\\)\\\\(?=[a-zA-Z])|\\q?quad(?=[a-zA-Z])")  # \\frac from a key escaped twice


def unwrap_command(text: str, pattern: re.Pattern[str]) -> str:
    """Replace every ``\\cmd{content}`` matched by ``pattern`` (which ends at the ``{``) by
    `` content `` using brace matching, so nested braces inside the content survive."""
    out: list[str] = []
    pos = 0
    while True:
        m = pattern.search(text, pos)
        if m is None:
            out.append(text[pos:])
            return "".join(out)
        out.append(text[pos : m.start()])
        depth, i = 1, m.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        inner_end = i - 1 if depth == 0 else i
        out.append(" " + text[m.end() : inner_end] + " ")
        pos = i


def clean_latex(text: str, *, keep_degrees: bool = False) -> str:
    """Canonical spelling of a LaTeX or plain-text answer (see module docstring).

    ``keep_degrees`` turns every degree sign into ``°`` instead of dropping it: the quantity type
    needs it as a unit, while for math answers ``76^\\circ`` and ``76`` are the same answer.
    """
    text = _UNICODE_RE.sub(lambda m: _UNICODE[m.group(0)], text)
    text = _DOUBLE_ESCAPE_RE.sub(lambda m: "\\" if m.group(0) == "\\\\" else " ", text)
    text = _SUPERSCRIPT_RE.sub(lambda m: "^{" + m.group(0).translate(_SUPERSCRIPTS) + "}", text)
    text = _THIN_COMMA_RE.sub(",", text)  # 10,\!080: a thousands comma with a negative space
    text = _DOLLAR_RE.sub(" ", text)
    text = text.replace("\\%", "%")
    for _ in range(8):  # nested wrappers (\text{\textbf{5}}) unwrap one level per pass
        if _WRAPPER_RE.search(text) is None:
            break
        text = unwrap_command(text, _WRAPPER_RE)
    text = _DROP_RE.sub("", text)
    text = _SPACE_RE.sub(" ", text)
    text = _FRAC_RE.sub(r"\\frac", text)
    text = _BINOM_RE.sub(r"\\binom", text)
    text = _DEGREE_RE.sub("°" if keep_degrees else " ", text)
    text = _BRACE_COMMA_RE.sub("", text)
    if not any(c in text for c in "([{"):
        # 1,000,000 is a number only where no bracket makes "1,000" read as a pair or interval.
        text = _THOUSANDS_RE.sub(lambda m: m.group(1) + m.group(2).replace(",", ""), text)
    text = _WS_RE.sub(" ", text).strip()
    return text.rstrip(".").strip()


_ARTICLES_RE = re.compile(r"\b(?:a|an|the)\b")
_NON_WORD_RE = re.compile(r"[^\w\s.+\-/^=<>]")


def normalize_text(text: str) -> str:
    """Canonical form of a plain-text answer: LaTeX unwrapped, lowercase, articles and
    punctuation removed, whitespace collapsed. ``"The \\text{Evelyn}."`` becomes ``"evelyn"``."""
    text = clean_latex(text).replace("\\", " ").lower()
    text = _NON_WORD_RE.sub(" ", text)
    text = _ARTICLES_RE.sub(" ", text)
    return _WS_RE.sub(" ", text).strip(" .")


def compact(text: str) -> str:
    """Whitespace-free form of :func:`clean_latex` output, used for the exact-match fast path."""
    return _WS_RE.sub("", clean_latex(text))
