"""Finding the final answer in a model response.

Each marker style a prompt template can declare is a :class:`Marker` in :data:`MARKERS`:

* ``boxed``: the last ``\\boxed{}`` / ``\\fbox{}`` (braces matched, so nested ``\\frac{}{}`` survive);
* ``answer_tag``: the last ``<answer>...</answer>`` (a ``\\boxed{}`` inside it wins);
* ``gsm8k``: the rest of the line after the last ``####``;
* ``answer_colon``: the rest of the line after the last ``Answer:`` (``**Final Answer:**``,
  ``答案：``, ``Ответ:`` ... too);
* ``final_answer``: what follows the last "The final answer is" / "the answer is" (``答案是``,
  ``La réponse est``, ``Die Antwort ist``, ``答えは`` ...).

The phrases of both, in seven languages, are :data:`ANSWER_PHRASES`. A declared marker is strict:
nothing under it is no answer. With no declared marker they are tried in :data:`DEFAULT_ORDER`,
most explicit first; a short response with no marker is taken whole (the caller passed a bare
answer); otherwise the last number is used unless the fallback is switched off or the response
says it has none (:data:`NO_ANSWER_CUES`). An answer followed by a retraction
(:data:`RETRACTION_CUES`) is taken back. docs/verifier_policy.md states the whole policy.

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
from dataclasses import dataclass

from rlvr.registry import Registry
from rlvr.verifiers.evaluator import EvalError
from rlvr.verifiers.normalization import MAX_ANSWER_CHARS, compact
from rlvr.verifiers.parser import ParseError

Find = Callable[[str], "str | None"]


@dataclass(frozen=True)
class Marker:
    """One way a response marks its final answer: the one place that knows how to find it, where
    in a response it is stated (-1: nowhere; a retraction cue after that point takes the answer
    back) and how to write one (prompt templates write few-shot turns and SFT targets with it)."""

    find: Find
    stated_at: Callable[[str], int]
    form: str  # a format string with one ``{}`` for the answer

    def write(self, answer: str) -> str:
        return self.form.format(answer)


MARKERS: Registry[Marker] = Registry("answer marker")

DEFAULT_ORDER = ("answer_tag", "boxed", "gsm8k", "final_answer", "answer_colon")
BARE_MAX_CHARS = 200  # a response this short, on one or two lines, may be a bare answer
HEDGE_WINDOW = 300  # two different boxes closer than this at the end are hedging
CJK_WORD_CHARS = 3  # a longer run of CJK characters is a phrase, not a unit or a word like 不是
CUE_TAIL_CHARS = 5000  # retraction and no-answer cues are looked for in this closing stretch


def _marker(name: str, form: str, stated_at: Callable[[str], int]) -> Callable[[Find], Find]:
    """Register the decorated finder as marker ``name`` (see :class:`Marker`)."""

    def register(find: Find) -> Find:
        MARKERS.register(name, Marker(find, stated_at, form))
        return find

    return register


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
                return text[start + 1 : i], i + 1
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
                word = re.match(r"[^\s$]+", text[j : j + 100])
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


@_marker("boxed", "\\boxed{{{}}}", stated_at=lambda text: max(text.rfind("\\boxed"), text.rfind("\\fbox")))
def boxed(text: str) -> str | None:
    final = _final_boxes(text)
    if not final:
        return None
    last = final[-1]
    if any(compact(b) != compact(last) for b in final[:-1]):
        raise Ambiguous(final)
    return last


@_marker("answer_tag", "<answer>{}</answer>", stated_at=lambda text: text.rfind("<answer>"))
def answer_tag(text: str) -> str | None:
    start = text.rfind("<answer>")
    if start < 0:
        return None
    body = text[start + len("<answer>") :]
    end = body.find("</answer>")
    body = body[:end] if end >= 0 else body
    inner = boxed(body)
    return inner if inner is not None else body.strip()


def _line_after(text: str, pos: int) -> str:
    rest = text[pos : pos + MAX_ANSWER_CHARS]
    rest = rest.lstrip(" \t*:：")
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

# Words that negate what follows: "not 12", "can't be A", "不是 A", "\neg A". A value written
# after one is denied, not given. One list for every language (the choice type adds reasons).
NEGATION_CUES: dict[str, tuple[str, ...]] = {
    "en": (r"\bnot\b", r"\b\w+n['\u2019]t\b", r"\b(?:cant|isnt|arent|dont|doesnt|wont)\b", r"\bcannot\b", r"\bnever\b", r"\bno longer\b"),
    "zh": (r"不是", r"不"),
    "fr": (r"\bpas\b", r"\bnon\b"),
    "es": (r"\bno\b",),
    "de": (r"\bnicht\b", r"\bkein"),
    "ru": (r"\bне\b",),
    "ja": (r"ではない", r"ではなく"),
    "symbols": (r"\\neg(?![A-Za-z])", r"\\lnot(?![A-Za-z])", r"¬"),
}
NEGATION_RE = re.compile("|".join(c for forms in NEGATION_CUES.values() for c in forms), re.IGNORECASE)


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
    rest = answer[last_is.end() :] if last_is else answer
    span = last_math_span(rest)
    if span is not None:
        return span
    numbers = list(_NUMBER_RE.finditer(rest))
    if not numbers:
        return answer
    value = numbers[0] if last_is else numbers[-1]
    since = numbers[-2].end() if len(numbers) > 1 and not last_is else 0  # "not 10, it's 1,000" denies 10 only
    if NEGATION_RE.search(rest, since, value.start()):
        return answer  # "definitely not 12" denies 12: left whole, it reads as no value
    return _number_text(value.group(0))


def _tidy(answer: str) -> str:
    """Strip the prose that follows an inline final answer."""
    inner = boxed(answer)
    if inner is not None:
        return inner
    answer = answer.strip().strip("*").strip()
    if answer.startswith("$") and answer.count("$") >= 2:
        close = answer.find("$", 1) if not answer.startswith("$$") else answer.find("$$", 2)
        return answer[: close + 1].strip("$ ")
    answer = re.split(r"\.\s+(?=[A-Z<])|\.\s*$|\s+I hope it is correct|<\||[。！？；]", answer, maxsplit=1)[0]
    return distill(cjk_value(answer.strip().strip("*").strip()))


# CJK text: ideographs and kana. A run of them is prose (or a unit glued on a number: 4000千克).
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RUN_RE = re.compile(f"[{_CJK}]+")
# What a Japanese or Chinese sentence puts after its answer: a copula or a final particle.
_CJK_COPULA_RE = re.compile(r"(?:です|である|だ|となります|になります|となる|了|吧|啊)\s*$")
_CJK_GLUED_RE = re.compile(f"(?<=[0-9}}])(?=[{_CJK}])")


def cjk_value(answer: str) -> str:
    """An answer written inside CJK text: the copula dropped (``42です`` gives ``42``) and a unit
    glued on the number set apart (``4000千克`` gives ``4000 千克``), so the number parses and the
    unit is a word after it, which the numeric type drops and the quantity type reads with its
    unit table. Text without CJK characters is returned unchanged."""
    if _CJK_RUN_RE.search(answer) is None:
        return answer
    answer = _CJK_COPULA_RE.sub("", answer.strip())
    return _CJK_GLUED_RE.sub(" ", answer)


@_marker("gsm8k", "#### {}", stated_at=lambda text: text.rfind("####"))
def gsm8k(text: str) -> str | None:
    pos = text.rfind("####")
    return _tidy(_line_after(text, pos + 4)) if pos >= 0 else None


# The phrases that introduce a final answer, by marker and language: the one list the markers,
# the default order and the documentation are built from. A prompt template declaring
# ``answer_colon`` accepts its localised forms too, since models answer in the question's language.
# Each phrase is a lowercase regex that starts with a literal, so that the regex engine finds it
# with a fast literal scan ("answer is" also covers "the final answer is").
ANSWER_PHRASES: dict[str, dict[str, tuple[str, ...]]] = {
    "final_answer": {
        "en": (r"answer\s+is\s*:?",),
        "zh": (r"答案\s*(?:应该|应)?\s*(?:是|为|為)\s*[:：]?", r"故选\s*[:：]?", r"应选\s*[:：]?", r"所以选\s*[:：]?", r"因此选\s*[:：]?"),
        "fr": (r"r[ée]ponse(?:\s+finale)?\s+est\s*:?",),
        "es": (r"respuesta(?:\s+final|\s+correcta)?\s+es\s*:?",),
        "de": (r"antwort\s+(?:ist|lautet)\s*:?",),
        "ru": (r"ответ\s+(?:будет|равен|—|-)\s*:?",),
        "ja": (r"答えは\s*[:：]?", r"正解は\s*[:：]?"),
    },
    "answer_colon": {
        "en": (r"answer\s*\**\s*:",),
        "zh": (r"答案\s*[:：]", r"答\s*[:：]"),
        "fr": (r"r[ée]ponse(?:\s+finale)?\s*\**\s*:",),
        "es": (r"respuesta(?:\s+final)?\s*\**\s*:",),
        "de": (r"antwort\s*\**\s*:", r"ergebnis\s*\**\s*:"),
        "ru": (r"ответ\s*\**\s*:",),
        "ja": (r"答え\s*[:：]", r"解答\s*[:：]"),
    },
}
# Compiled twice: case-sensitive for the lowercased text (fast), and ignoring case for the rare
# text whose lowercase form has another length (positions would shift).
_PHRASE_RES = {
    marker: tuple((re.compile(p), re.compile(p, re.IGNORECASE)) for forms in langs.values() for p in forms)
    for marker, langs in ANSWER_PHRASES.items()
}


def _last_match(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    tail_start = max(0, len(text) - 20_000)  # the final answer is near the end
    last = None
    for last in pattern.finditer(text, tail_start):  # noqa: B007 - we want the last one
        pass
    return last


def _last_phrase(marker: str, text: str) -> re.Match[str] | None:
    """The last phrase of ``marker``'s kind in ``text`` (any language), or None."""
    lowered = text.lower()
    same = len(lowered) == len(text)
    best = None
    for fast, folded in _PHRASE_RES[marker]:
        m = _last_match(fast, lowered) if same else _last_match(folded, text)
        if m is not None and (best is None or m.start() > best.start()):
            best = m
    return best


@_marker("answer_colon", "Answer: {}", stated_at=lambda text: _phrase_start("answer_colon", text))
def answer_colon(text: str) -> str | None:
    m = _last_phrase("answer_colon", text)
    return _tidy(_line_after(text, m.end())) if m else None


@_marker("final_answer", "The final answer is {}", stated_at=lambda text: _phrase_start("final_answer", text))
def final_answer(text: str) -> str | None:
    m = _last_phrase("final_answer", text)
    return _tidy(_line_after(text, m.end())) if m else None


# A number as prose writes it: 1,234.5, 0.4, 3/4, 2.9e-11, 2.9 \times 10^{-11}, 3.0 x 10^8. Digits
# in an exponent or a subscript (the 2 of m/s^2, of 2^{10}, of x_2) or glued to a Latin word (H2O)
# are not numbers the response answers with.
_NUMBER_RE = re.compile(
    r"(?<![\^_A-Za-z\d.])(?<!\^\{)(?<!_\{)(?<!\^-)(?<!\^\{-)"
    r"-?(?:\d[\d,]*(?:\.\d+)?|\.\d+)"
    r"(?:\s*(?:\\times|\\cdot|\u00d7|x|\*)\s*10\s*\^\s*(?:\{\s*[-+]?\d+\s*\}|[-+]?\d+)|[eE][-+]?\d+|/\d+)?"
)
# Words joining two answers, in the languages of ANSWER_PHRASES: "12 or 17" is a hedge between
# them, "A and B" a multi-select answer (the choice type reads both).
OR_WORDS = ("or", "ou", "o", "oder", "или", "或者", "或", "还是", "または", "か")
AND_WORDS = ("and", "et", "y", "und", "и", "和", "と")
_OR_RE = re.compile(r"\s*,?\s*(?:" + "|".join(OR_WORDS) + r")\s*", re.IGNORECASE)
_TIMES_TEN_RE = re.compile(r"(?<=\d)\s*(?:x|\*)\s*(?=10\s*\^)")
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
        raw = fixed + raw[len(digits) :]
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
    cjk_runs = _CJK_RUN_RE.findall(stripped)
    if any(len(run) > CJK_WORD_CHARS for run in cjk_runs) and any(c.isdigit() for c in stripped):
        return False  # a CJK sentence about a number ("所以总质量为4000千克"), not an answer with its unit
    words = prose_words(stripped) + [run for run in cjk_runs if len(run) <= CJK_WORD_CHARS]
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
    for name in ANSWER_PHRASES:
        m = _last_phrase(name, text)
        if m is not None and m.start() > last_box and "\\boxed" not in text[m.start() :]:
            return (name, *[n for n in DEFAULT_ORDER if n != name])
    return DEFAULT_ORDER


# A response taking back what it said: an answer before the last of these does not count, and
# what follows it (if anything) is the final answer. Self-corrections only: "wrong" alone would
# also match "options A and B are wrong", which commits to an answer rather than retracting one.
# Cues are lowercase literals, found with str.rfind: a regex alternation of forty phrases costs a
# millisecond per response, ten times the rest of extraction.
RETRACTION_CUES: dict[str, tuple[str, ...]] = {
    "en": (
        "scratch that",
        "correction:",
        "oops",
        "i made a mistake",
        "i made an error",
        "my mistake",
        "i was wrong",
        "that's wrong",
        "that is wrong",
        "that's incorrect",
        "that is incorrect",
        "that's not right",
        "that is not right",
        "this is wrong",
        "this is incorrect",
    ),
    "zh": ("不对", "错了", "更正", "我算错了"),
    "fr": ("c'est faux", "je me suis trompé"),
    "es": ("eso está mal", "eso es incorrecto", "me equivoqué"),
    "de": ("das ist falsch", "ich habe mich geirrt"),
    "ru": ("это неверно", "я ошибся"),
    "ja": ("いや、", "間違えました", "間違いです"),
}
# A response revisiting its answer ("Wait", "Actually", "Let me recheck"): that takes nothing back
# by itself, since reasoning models re-check answers they keep ("\boxed{5}. Wait, 2+3=5, yes").
# It counts as a retraction when what follows it states another answer ("B. Actually, C.") or
# opens with a denial ("Wait, no").
REVISION_CUES: dict[str, tuple[str, ...]] = {
    "en": (
        "wait",
        "actually",
        "on second thought",
        "let me recheck",
        "let me re-check",
        "let me reconsider",
        "let me redo",
        "let me recompute",
        "let me recalculate",
    ),
    "zh": ("等等", "等一下", "其实"),
    "fr": ("attendez", "en fait"),
    "es": ("espera", "en realidad"),
    "de": ("warte", "eigentlich"),
    "ru": ("подождите", "подожди", "на самом деле"),
    "ja": ("待って", "実は"),
}
# A response declaring that it has no answer: no number in it is one.
NO_ANSWER_CUES: dict[str, tuple[str, ...]] = {
    "en": (
        "i don't know",
        "i do not know",
        "i'm not sure",
        "i am not sure",
        "cannot be determined",
        "can't be determined",
        "cannot determine",
        "can't determine",
        "unable to determine",
        "unable to solve",
        "unable to answer",
        "cannot answer",
        "no answer",
        "not enough information",
    ),
    "zh": ("不知道", "无法确定", "无法回答", "不确定"),
    "fr": ("je ne sais pas", "impossible de déterminer", "impossible de répondre"),
    "es": ("no lo sé", "no sé", "no se puede determinar"),
    "de": ("weiß nicht", "weiß es nicht", "nicht bestimmbar"),
    "ru": ("не знаю", "невозможно определить"),
    "ja": ("わかりません", "分かりません", "不明です"),
}
_RETRACTIONS = tuple(c for forms in RETRACTION_CUES.values() for c in forms)
_REVISIONS = tuple(c for forms in REVISION_CUES.values() for c in forms)
_NO_ANSWERS = tuple(c for forms in NO_ANSWER_CUES.values() for c in forms)
_CUE_FINDS_MAX = 64  # occurrences inside longer words ("waiter") skipped per cue before giving up


def _whole_word(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` is not part of a longer word ("wait" in "await"): an edge that
    is a Latin or Cyrillic letter must not touch another letter or digit. CJK writes no spaces,
    so its edges need nothing."""
    for edge, outside in ((text[start], start - 1), (text[end - 1], end)):
        if edge.isalnum() and not _is_cjk(edge) and 0 <= outside < len(text) and text[outside].isalnum():
            return False
    return True


def _last_cue(text: str, cues: tuple[str, ...]) -> tuple[int, int] | None:
    """(start, end) of the last whole-word occurrence of any cue in the closing stretch of
    ``text`` (case and apostrophe style ignored), or None."""
    offset = max(0, len(text) - CUE_TAIL_CHARS)
    tail = text[offset:].replace("\u2019", "'")
    lowered = tail.lower()
    tail = lowered if len(lowered) == len(tail) else tail  # lower() may lengthen rare letters (İ)
    best: tuple[int, int] | None = None
    for cue in [c for c in cues if c in tail]:  # one C-speed pass; most responses have no cue
        end = len(tail)
        for _ in range(_CUE_FINDS_MAX):
            i = tail.rfind(cue, best[0] + 1 if best else 0, end)
            if i < 0:
                break
            j = i + len(cue)
            if _whole_word(tail, i, j):
                best = (i, j)
                break
            end = j - 1
    return (offset + best[0], offset + best[1]) if best else None


def _is_cjk(char: str) -> bool:
    return _CJK_RUN_RE.match(char) is not None


def _phrase_start(marker: str, text: str) -> int:
    m = _last_phrase(marker, text)
    return m.start() if m else -1


def _statement_start(text: str, name: str) -> int:
    """Where marker ``name`` states its answer; a plug-in marker that does not say is taken to
    state it nowhere, so any retraction cue counts against it (precision first)."""
    return MARKERS.get(name).stated_at(text)


def extract(text: str, marker: str | None = None, fallback: bool = True) -> str | None:
    """The final answer of ``text`` (None when there is none); may raise :class:`Ambiguous`.

    With a declared ``marker`` extraction is strict: the answer under that marker or None. With
    none, the markers are tried in :func:`_default_order`; with none found, a bare answer is taken
    whole, else the last inline-math span (``... so $x \\ge 5$ is the solution.``) or the last
    number, unless ``fallback`` is off or the response says it has no answer ("I don't know").

    An answer stated before a retraction cue (:data:`RETRACTION_CUES`) is taken back: what
    follows the cue is extracted by the same rules, and if it states nothing there is no answer.
    Every step scans a bounded tail, so a long marker-less essay fails fast.

    ``3.0 x 10^8`` is written back as ``3.0 \\times 10^8``: the letter x is a variable to the
    parser, and the answer's exponent must not become the answer."""
    found = _extract(after_retraction(text, marker), marker, fallback)
    return _TIMES_TEN_RE.sub(r" \\times ", found) if found is not None else None


def _extract(text: str, marker: str | None, fallback: bool) -> str | None:
    tail_start = max(0, len(text) - CUE_TAIL_CHARS)
    order = (marker,) if marker else _default_order(text)
    for name in order:
        found = MARKERS.get(name).find(text)
        if found is not None and found.strip():
            return found.strip()
    if marker is not None:
        return None
    no_answer = _last_cue(text, _NO_ANSWERS) is not None
    if no_answer and any(c.isdigit() for c in text[tail_start:]):
        return None  # "I don't know. The numbers were 12, 5 and 17": its numbers are not answers
    if is_bare(text):
        return text.strip()  # a text answer may itself be "not enough information"
    if not fallback or no_answer:
        return None
    spans = math_spans(text)
    found = previous = None
    for number in _NUMBER_RE.finditer(text, tail_start):  # the last one, and the one before it
        previous, found = found, number
    if spans and (found is None or found.start() < spans[-1][1]):
        return spans[-1][2]  # the last thing said is a formula, not a bare number after it
    if found is None:
        return None
    if previous is not None and _OR_RE.fullmatch(text, previous.end(), found.start()):
        return None  # "it could be 12 or 17": two answers, neither of them final
    return _number_text(found.group(0)) if _concludes(text, found, previous) else None


_SENTENCE_END_RE = re.compile(r"[.!?](?=\s)|[\n。！？；;]")
_CONCLUDING_RE = re.compile(
    r"=|:|['\u2019]s\b|\b(?:is|are|was|be|equals|gives?|gets?|to|makes?|so|thus|therefore|hence|total|result|finally"
    r"|equivalently|namely)\b",
    re.IGNORECASE,
)


def _concludes(text: str, number: re.Match[str], previous: re.Match[str] | None) -> bool:
    """Whether the last number of an unmarked response is stated as its result: not denied in
    its sentence ("I can't help with that (problem 7)"), and either the sentence's only number
    or introduced as a result after the number before it ("12 + 5 = 17", "3 and 4 more, so
    she has 7"). "The question mentions 3 apples and 4 oranges" lists the problem's data; it
    answers nothing."""
    start = 0
    for end in _SENTENCE_END_RE.finditer(text, max(0, number.start() - 2000), number.start()):
        start = end.end()
    if previous is None or previous.start() < start:  # the sentence's only number
        return NEGATION_RE.search(text, start, number.start()) is None
    between = (previous.end(), number.start())  # "not 10 which is 1,000.99" denies 10 only
    return NEGATION_RE.search(text, *between) is None and _CONCLUDING_RE.search(text, *between) is not None


def after_retraction(text: str, marker: str | None) -> str:
    """The part of ``text`` whose answer counts: after its last retraction cue when an answer was
    stated before the cue (it is taken back; one stated after the cue is the final one), then
    likewise after a revision cue that denies or replaces that answer, else ``text`` whole:
    "Wait, let me think... the answer is 5" retracts nothing. A response with no answer statement
    answers at its end, so any cue in it counts."""
    retracted = _cut_at(text, _last_cue(text, _RETRACTIONS), marker)
    text = text if retracted is None else retracted
    cue = _last_cue(text, _REVISIONS)
    revised = _cut_at(text, cue, marker)
    if cue is None or revised is None:
        return text
    if _DENIAL_LEAD_RE.match(text, cue[1]):
        return revised  # "Wait, no, ..."
    try:
        before, after = _extract(text[: cue[0]], marker, True), _extract(revised, None, True)
    except Ambiguous:
        return revised
    if after is None or (before is not None and _restates(after, before)):
        return text  # a re-check that states nothing new keeps the answer
    return revised


def _restates(after: str, before: str) -> bool:
    """Whether what follows a revision cue repeats the answer before it: the same text, or a
    check ending on the same number ("2+3 = 5. Yes." after 5)."""
    if compact(after) == compact(before):
        return True
    numbers = _NUMBER_RE.findall(after)
    return bool(numbers) and compact(_number_text(numbers[-1])) == compact(before)


def _cut_at(text: str, cue: tuple[int, int] | None, marker: str | None) -> str | None:
    """What follows ``cue`` (and the opening of a correction after it) when it comes after an
    answer statement of ``text``; None when there is no cue or no answer before it."""
    if cue is None:
        return None
    cue_at, cue_end = cue
    if cue_at <= _answer_start(text, marker) and _answer_start(text[:cue_at], marker) < 0:
        return None
    rest = text[cue_end:]
    return rest[_CORRECTION_LEAD_RE.match(rest).end() :]  # type: ignore[union-attr] - always matches


# What opens a correction after its cue ("Wait, no, it is 6."): the answer is what comes next.
_CORRECTION_LEAD_RE = re.compile(
    r"[\s,.:;!?，。：；！—-]*(?:(?:no|nope|non|nein|нет|不是|不对|いや)(?![\w])[\s,.:;!?，。：；！—-]*)?"
    r"(?:(?:it|that|this|the answer)(?:'s|\s+is|\s+was|\s+should be|\s+must be)\s+)?",
    re.IGNORECASE,
)
_DENIAL_LEAD_RE = re.compile(r"[\s,.:;!?，。：；！—-]*(?:no|nope|non|nein|нет|不是|不对|いや)(?![\w])", re.IGNORECASE)


def _answer_start(text: str, marker: str | None) -> int:
    """Where the last answer statement of ``text`` begins (-1 when it has none): the latest
    statement of any marker (or of the declared one); a marker-less response answers at its end,
    so any retraction cue in it counts."""
    return max(_statement_start(text, name) for name in ((marker,) if marker else DEFAULT_ORDER))


# "X, or equivalently Y": a key (CHAMP writes them) giving one answer in two forms of equal value.
_EQUIVALENTLY_RE = re.compile(r",?\s*(?:or|i\.e\.)\s*,?\s*equivalently\s*,?\s*", re.IGNORECASE)


def key_answer(answer: str) -> str:
    """The answer a dataset key states: keys copied with their ``\\\\boxed{}`` or a whole solution
    are reduced to the boxed answer (several final boxes joined as a list), and a key giving its
    answer in two equal forms (``C(10, 5), or equivalently 252``) to the last form."""
    forms = _EQUIVALENTLY_RE.split(answer)
    if len(forms) > 1 and forms[-1].strip():
        answer = forms[-1].strip()
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
