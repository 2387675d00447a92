"""Finding the final answer in a model response.

Each marker style a prompt template can declare is a function in :data:`MARKERS`:

* ``boxed``: the last ``\\boxed{}`` / ``\\fbox{}`` (braces matched, so nested ``\\frac{}{}`` survive);
* ``answer_tag``: the last ``<answer>...</answer>`` (a ``\\boxed{}`` inside it wins);
* ``gsm8k``: the rest of the line after the last ``####``;
* ``answer_colon``: the rest of the line after the last ``Answer:`` (``**Final Answer:**`` too);
* ``final_answer``: what follows the last "The final answer is" / "the answer is".

With no declared marker they are tried in :data:`DEFAULT_ORDER`, most explicit first. A short
response with no marker is taken whole (the caller passed a bare answer); otherwise the last
number is used unless the fallback is switched off.

Only the final answer counts. When the last two boxes are in the same closing stretch of text
and differ in text, :class:`Ambiguous` is raised; the caller decides whether they differ in value
(:func:`same_value`) where a timeout bounds it, since evaluating arbitrary expressions can take
exponential time. A box stuffed with candidates is left to the comparison, which never equates a
list with a scalar.
All scanning is ``rfind``/linear regex on bounded slices, so a 200,000-character response costs
milliseconds.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from rlvr.registry import Registry
from rlvr.verifiers.evaluator import EvalError
from rlvr.verifiers.normalization import MAX_ANSWER_CHARS, compact
from rlvr.verifiers.parser import ParseError

Marker = Callable[[str], "str | None"]
MARKERS: Registry[Marker] = Registry("answer marker")

DEFAULT_ORDER = ("answer_tag", "boxed", "gsm8k", "final_answer", "answer_colon")
BARE_MAX_CHARS = 200  # a response this short, on one or two lines, may be a bare answer
HEDGE_WINDOW = 300  # two different boxes closer than this at the end are hedging


class Ambiguous(ValueError):
    """The response ends with several different final answers (``candidates``, in text order).

    A caller whose key is itself a list may join them: ``\\boxed{1}, \\boxed{2}`` answers ``1, 2``.
    """

    def __init__(self, candidates: list[str]):
        super().__init__("several final answers")
        self.candidates = candidates


def _braced(text: str, start: int) -> tuple[str, int] | None:
    """Content of the ``{...}`` group opening at ``text[start]`` and the index after it."""
    depth = 0
    limit = min(len(text), start + MAX_ANSWER_CHARS * 4)
    for i in range(start, limit):
        c = text[i]
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return text[start + 1:i], i + 1
    return None


_BOX_RE = re.compile(r"\\(?:boxed|fbox)\s*")


def _boxes(text: str, limit: int = 8) -> list[tuple[int, str]]:
    """Up to ``limit`` last boxes as (start, content), last first."""
    out: list[tuple[int, str]] = []
    end = len(text)
    for _ in range(2 * limit):  # bounded attempts: 20,000 unclosed boxes must not cost 20,000 scans
        start = max(text.rfind("\\boxed", 0, end), text.rfind("\\fbox", 0, end))
        if start < 0:
            break
        m = _BOX_RE.match(text, start)
        if m is not None:
            j = m.end()
            if j < len(text) and text[j] == "{":
                group = _braced(text, j)
                if group is not None:
                    out.append((start, group[0]))
            else:  # \boxed 5
                word = re.match(r"[^\s$]+", text[j:j + 100])
                if word:
                    out.append((start, word.group(0)))
        if len(out) == limit:
            break
        end = start
    return out


def same_value(a: str, b: str) -> bool:
    """Two boxes say the same thing: equal text, or equal value (``15\\frac{39}{40}`` and
    ``\\frac{639}{40}``, ``2\\sqrt2`` and ``\\sqrt8``, ``(x+1)^2`` and ``x^2+2x+1``), compared with a
    tolerance of float noise only. Its cost is unbounded (``1 \\pm 1 \\pm ...`` doubles with each
    term), so it runs only in a verifier worker, under the pool's timeout. Imported lazily: the
    comparison modules import this one."""
    if compact(a) == compact(b):
        return True
    from rlvr.verifiers.numeric import Tolerance, parse_answer
    from rlvr.verifiers.symbolic import equivalent

    try:
        return equivalent(parse_answer(a), parse_answer(b), Tolerance(rel=1e-9, exact_integers=False))
    except (ParseError, EvalError, RecursionError):
        return False


def _final_boxes(text: str) -> list[str]:
    """The boxes of the closing stretch of ``text`` (each within :data:`HEDGE_WINDOW` of the
    next), in text order."""
    boxes = _boxes(text)
    if not boxes:
        return []
    stretch = [boxes[0]]
    for start, body in boxes[1:]:
        if stretch[-1][0] - start >= HEDGE_WINDOW:
            break
        stretch.append((start, body))
    return [body for _, body in reversed(stretch)]


@MARKERS.register("boxed")
def boxed(text: str) -> str | None:
    final = _final_boxes(text)
    if not final:
        return None
    last = final[-1]
    if any(compact(b) != compact(last) for b in final[:-1]):
        raise Ambiguous(final)
    return last


@MARKERS.register("answer_tag")
def answer_tag(text: str) -> str | None:
    start = text.rfind("<answer>")
    if start < 0:
        return None
    body = text[start + len("<answer>"):]
    end = body.find("</answer>")
    body = body[:end] if end >= 0 else body
    inner = boxed(body)
    return inner if inner is not None else body.strip()


def _line_after(text: str, pos: int) -> str:
    rest = text[pos:pos + MAX_ANSWER_CHARS]
    rest = rest.lstrip(" \t*:")
    if rest.startswith("\n"):  # "Answer:\n\n42"
        rest = rest.lstrip()
    return rest.split("\n", 1)[0]


# Inline math: $$..$$, $..$, \(..\), \[..\]. Lengths are capped so that a response with thousands of
# unmatched delimiters costs a bounded scan of the tail, not a quadratic one.
_MATH_SPAN_RE = re.compile(
    r"(?<!\\)\$\$(?P<dd>(?:\\\$|[^$]){1,2000}?)\$\$|(?<!\\)\$(?P<d>(?:\\\$|[^$\n]){1,2000}?)(?<!\\)\$"
    r"|\\\((?P<p>.{1,2000}?)\\\)|\\\[(?P<b>.{1,2000}?)\\\]",
    re.DOTALL,
)
SPAN_TAIL_CHARS = 5000


def math_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, content) of the inline-math spans in the last :data:`SPAN_TAIL_CHARS`
    characters, in text order; empty spans are skipped."""
    offset = max(0, len(text) - SPAN_TAIL_CHARS)
    out = []
    for m in _MATH_SPAN_RE.finditer(text, offset):
        body = next(g for g in m.groups() if g is not None).strip()
        if body:
            out.append((m.start(), m.end(), body))
    return out


def last_math_span(text: str) -> str | None:
    spans = math_spans(text)
    return spans[-1][2] if spans else None


def prose_words(text: str) -> list[str]:
    """Plain words of three letters or more outside math spans and LaTeX commands."""
    outside = _MATH_SPAN_RE.sub(" ", text[-SPAN_TAIL_CHARS:])
    return [w.lower() for w in _PROSE_WORD_RE.findall(outside)]


_IS_RE = re.compile(r"\s(?:is|are|equals|was|be|=)\s", re.IGNORECASE)


def distill(answer: str) -> str:
    """The value inside an answer sentence: ``"The largest $n$ is 34"`` gives ``34``, ``"Jane
    started 3 hours ago"`` gives ``3``. Applied only when the answer has two or more prose words, so
    ``"x = 2"`` or ``"18 dollars"`` pass unchanged; when no value is found the answer is returned
    as it is (a plain-text answer such as "red and blue")."""
    if len(prose_words(answer)) < 2:
        return answer
    last_is = None
    for last_is in _IS_RE.finditer(answer):  # noqa: B007 - the last "is" introduces the value
        pass
    rest = answer[last_is.end():] if last_is else answer
    span = last_math_span(rest)
    if span is not None:
        return span
    numbers = list(_NUMBER_RE.finditer(rest))
    if not numbers:
        return answer
    return _number_text((numbers[0] if last_is else numbers[-1]).group(0))


def _tidy(answer: str) -> str:
    """Strip the prose that follows an inline final answer."""
    inner = boxed(answer)
    if inner is not None:
        return inner
    answer = answer.strip().strip("*").strip()
    if answer.startswith("$") and answer.count("$") >= 2:
        close = answer.find("$", 1) if not answer.startswith("$$") else answer.find("$$", 2)
        return answer[:close + 1].strip("$ ")
    answer = re.split(r"\.\s+(?=[A-Z<])|\.\s*$|\s+I hope it is correct|<\|", answer, maxsplit=1)[0]
    return distill(answer.strip().strip("*").strip())


@MARKERS.register("gsm8k")
def gsm8k(text: str) -> str | None:
    pos = text.rfind("####")
    return _tidy(_line_after(text, pos + 4)) if pos >= 0 else None


_COLON_RE = re.compile(r"answer\s*\**\s*:", re.IGNORECASE)
_FINAL_RE = re.compile(r"(?:final answer|the answer|my answer|answer)\s+is\s*:?", re.IGNORECASE)


def _last_match(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    tail_start = max(0, len(text) - 20_000)  # the final answer is near the end
    last = None
    for last in pattern.finditer(text, tail_start):  # noqa: B007 - we want the last one
        pass
    return last


@MARKERS.register("answer_colon")
def answer_colon(text: str) -> str | None:
    m = _last_match(_COLON_RE, text)
    return _tidy(_line_after(text, m.end())) if m else None


@MARKERS.register("final_answer")
def final_answer(text: str) -> str | None:
    m = _last_match(_FINAL_RE, text)
    return _tidy(_line_after(text, m.end())) if m else None


# A number as prose writes it: 1,234.5, 0.4, 3/4, 2.9e-11, 2.9 \times 10^{-11}.
_NUMBER_RE = re.compile(
    r"-?(?:\d[\d,]*(?:\.\d+)?|\.\d+)"
    r"(?:\s*(?:\\times|\\cdot|\u00d7)\s*10\s*\^\s*(?:\{\s*[-+]?\d+\s*\}|[-+]?\d+)|[eE][-+]?\d+|/\d+)?"
)
_THOUSANDS_ONLY_RE = re.compile(r"^-?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")


def _number_text(raw: str) -> str:
    """A matched number with its commas resolved: thousands separators (1,234,567) are dropped;
    a single other comma (2,74 or 0,111) is a decimal comma."""
    raw = raw.rstrip(",")
    head = re.match(r"-?[\d,.]+", raw)
    digits = head.group(0) if head else raw
    if "," in digits:
        if _THOUSANDS_ONLY_RE.match(digits) and not digits.lstrip("-").startswith("0"):
            fixed = digits.replace(",", "")
        elif digits.count(",") == 1 and "." not in digits:
            fixed = digits.replace(",", ".")
        else:
            fixed = digits.replace(",", "")
        raw = fixed + raw[len(digits):]
    return raw


_SENTENCE_WORDS = {"the", "are", "was", "were", "total", "answer", "thus", "therefore", "get", "has", "have", "equals"}
_PROSE_WORD_RE = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{3,}")


def is_bare(text: str) -> bool:
    """Whether a marker-less response is the answer itself: short, at most two lines and not
    prose (at most three plain words of three letters or more, none of them sentence words such
    as "the" or "total"; LaTeX commands do not count; with inline math, no words outside it).
    "is" is too short to count, so the regex misses it: "The speed is 2 m/s" is caught by "the"."""
    stripped = text.strip()
    if not 0 < len(stripped) <= BARE_MAX_CHARS or stripped.count("\n") > 1:
        return False
    words = prose_words(stripped)
    spans = math_spans(stripped)
    if spans and words and not (len(spans) == 1 and spans[0][0] == 0 and spans[0][1] == len(stripped)):
        return False
    return len(words) <= 3 and not _SENTENCE_WORDS.intersection(words)


def _default_order(text: str) -> tuple[str, ...]:
    """:data:`DEFAULT_ORDER`, except that a "final answer is" / "Answer:" statement written after
    the last box wins over the boxes (the response revised its boxed work)."""
    last_box = max(text.rfind("\\boxed"), text.rfind("\\fbox"))
    if last_box < 0:
        return DEFAULT_ORDER
    for name, pattern in (("final_answer", _FINAL_RE), ("answer_colon", _COLON_RE)):
        m = _last_match(pattern, text)
        if m is not None and m.start() > last_box and "\\boxed" not in text[m.start():]:
            return (name, *[n for n in DEFAULT_ORDER if n != name])
    return DEFAULT_ORDER


def extract(text: str, marker: str | None = None, fallback: bool = True) -> str | None:
    """The final answer of ``text`` (None when there is none); may raise :class:`Ambiguous`.

    With no marker found: a bare answer is taken whole; otherwise the last inline-math span
    (``... so $x \\ge 5$ is the solution.``), then the last number, unless ``fallback`` is off.
    Every step scans a bounded tail, so a long marker-less essay fails fast."""
    order = (marker,) if marker else _default_order(text)
    for name in order:
        found = MARKERS.get(name)(text)
        if found is not None and found.strip():
            return found.strip()
    if marker is None and is_bare(text):
        return text.strip()
    if not fallback:
        return None
    spans = math_spans(text)
    found = None
    for found in _NUMBER_RE.finditer(text, max(0, len(text) - 5000)):  # noqa: B007 - the last one
        pass
    if spans and (found is None or found.start() < spans[-1][1]):
        return spans[-1][2]  # the last thing said is a formula, not a bare number after it
    return _number_text(found.group(0)) if found else None


def key_answer(answer: str) -> str:
    """The answer a dataset key states: keys copied with their ``\\\\boxed{}`` or a whole solution
    are reduced to the boxed answer (several final boxes joined as a list)."""
    if "\\boxed" in answer or "\\fbox" in answer:
        final = _final_boxes(answer)
        if final:
            return ", ".join(dict.fromkeys(b.strip() for b in final))
    if len(answer) > BARE_MAX_CHARS and not is_bare(answer):
        try:
            found = extract(answer, fallback=False)
        except Ambiguous as exc:
            return ", ".join(exc.candidates)
        if found:
            return found
    return answer
