"""Final-answer extraction and the answer policy (issue 11, items 2 and 7).

Each row is (response, key, options, expected). The negatives are near misses a policy finds by
itself (retractions, hedges, negations, exponents read as answers, a fallback number when the
response gives no answer, non-integers for integer keys, a one-sided percent sign); the
positives are the same answers written correctly, so that the policy is not bought by rejecting
everything. The policy itself is docs/verifier_policy.md.
"""

from __future__ import annotations

import pytest

from rlvr.verifiers import VerifyRequest, verify_inline
from rlvr.verifiers.choice import CONTRAST_CUES
from rlvr.verifiers.extraction import (
    ANSWER_PHRASES,
    NEGATION_CUES,
    NO_ANSWER_CUES,
    RETRACTION_CUES,
    REVISION_CUES,
    cjk_value,
    extract,
)

Row = tuple[str, str, dict, bool]

LANGUAGES = {"en", "zh", "fr", "es", "de", "ru", "ja"}

PHRASES: list[Row] = [
    ("答案是 42。", "42", {}, True),
    ("因此，最终答案是 42", "42", {}, True),
    ("最终答案：42", "42", {}, True),
    ("答案为 $\\frac{1}{2}$。", "\\frac12", {}, True),
    ("La réponse est 42.", "42", {}, True),
    ("Réponse : 42", "42", {"marker": "answer_colon"}, True),
    ("La respuesta es 42.", "42", {}, True),
    ("Respuesta final: 42", "42", {"marker": "answer_colon"}, True),
    ("Die Antwort ist 42.", "42", {}, True),
    ("Die Antwort lautet 42.", "42", {"marker": "final_answer"}, True),
    ("Ответ: 42", "42", {}, True),
    ("Ответ: 42", "42", {"marker": "answer_colon"}, True),
    ("答えは42です。", "42", {}, True),
    ("よって、答えは 42 である。", "42", {}, True),
    ("答案是 41。", "42", {}, False),
    ("La réponse est 41.", "42", {}, False),
    ("Ответ: 41", "42", {}, False),
    ("答えは41です。", "42", {}, False),
    ("故选C。", "C", {}, True),
    ("所以选 C", "C", {}, True),
    ("故选C。", "B", {}, False),
    ("La respuesta correcta es B.", "B", {}, True),
    ("正解は B です。", "B", {}, True),
    ("Правильный ответ: B", "B", {}, True),
    ("Правильный ответ: B", "C", {}, False),
    # numbers inside CJK text, units glued on
    ("所以总质量为4000千克。", "4000", {}, True),
    ("答案是4000千克。", "4000", {}, True),
    ("所以总质量为4001千克。", "4000", {}, False),
    ("Ответ: 42 кг", "42", {}, True),
    ("中华人民共和国", "中华人民共和国", {"answer_type": "text"}, True),
    ("答案是北京。", "北京", {"answer_type": "text"}, True),
]

CHOICE: list[Row] = [
    ("D, it can't be A or B", "D", {}, True),
    ("D, it can't be A or B because the charge is conserved.", "D", {}, True),
    ("D, it can't be A or B because the charge is conserved.", "A", {}, False),
    ("Answer: b", "B", {}, True),
    ("Answer: b", "C", {}, False),
    ("D, it can't be A or B", "A", {}, False),
    ("B。不是 A", "B", {}, True),
    ("B。不是 A", "A", {}, False),
    ("The answer is (C); options A and B fail because they are too small.", "C", {}, True),
    ("The answer is (C); options A and B fail because they are too small.", "A", {}, False),
    ("The answer is B, not C.", "B", {}, True),
    ("答案是 B。", "B", {}, True),
    ("答えは B です。", "B", {}, True),
    ("\\boxed{not A}", "A", {}, False),
    ("The answer is not A", "A", {}, False),
    ("\\boxed{A or C}", "A", {}, False),
    ("\\boxed{A or C}", "C", {}, False),
    ("The answer is A or B", "A", {}, False),
    ("\\boxed{A and B}", "A", {}, False),
    ("\\boxed{A and B}", "B", {}, False),
    # multi-select keys keep working
    ("\\boxed{A and B}", "AB", {}, True),
    ("The answer is A, B", "A, B", {}, True),
    ("\\boxed{AB}", "A, B", {}, True),
    ("\\boxed{ABC}", "A, B", {}, False),
    # keys carrying the option text
    ("The answer is (C)", "C Cecile", {}, True),
    ("Cecile", "C Cecile", {}, True),
    ("\\boxed{C}", "(C) Cecile", {}, True),
    ("C. Cecile", "(C) Cecile", {}, True),
    ("The answer is Cecile.", "C. Cecile", {}, True),
    ("C Cecile", "C. Cecile", {}, True),
    ("The answer is B", "C Cecile", {}, False),
    ("Bob", "C Cecile", {}, False),
    ("C. Bob", "C. Cecile", {}, False),
    ("A. Cecile", "C. Cecile", {}, False),
    ("\\boxed{not C}", "(C) Cecile", {}, False),
    ("The answer is (C) Cecile.", "C Cecile", {}, True),
    ("Not enough information", "(C) Not enough information", {}, True),
    ("(C) Not enough information", "(C) Not enough information", {}, True),
    ("(B) Not enough information", "(C) Not enough information", {}, False),
    # hedges written in prose: every letter a response commits to counts
    ("A or maybe B", "B", {}, False),
    ("either A or B", "A", {}, False),
    ("The answer is A, but B is also possible", "A", {}, False),
    ("A (or possibly B)", "A", {}, False),
    ("A/B", "A", {}, False),
    ("I think A, though B is possible", "A", {}, False),
    ("Options A and C are both correct", "A", {}, False),
    ("The answer is A. B is wrong because it is small.", "A", {}, True),
    ("The answer is D, but it can't be A", "D", {}, True),
    ("Answer: (B) and not (C)", "B", {}, True),
    ("\\boxed{2}", "B", {"choices": ["1", "2", "3"]}, True),
    ("\\boxed{not 2}", "B", {"choices": ["1", "2", "3"]}, False),
]

RETRACTION: list[Row] = [
    ("The answer is 3. Wait, no, that's wrong.", "3", {}, False),
    ("The answer is \\boxed{3}. Wait, no, that's wrong.", "3", {"marker": "boxed"}, False),
    ("The answer is B. Actually, C.", "C", {}, True),
    ("The answer is B. Actually, C.", "B", {}, False),
    ("The answer is 5. Wait, no, it is 6.", "6", {}, True),
    ("The answer is 5. Wait, no, it is 6.", "5", {}, False),
    ("La respuesta es B. En realidad, C.", "C", {}, True),
    ("答案是 B。等等，不对，是 C。", "C", {}, True),
    ("答案是 B。等等，不对，是 C。", "B", {}, False),
    # a cue before the final answer is reasoning, not a retraction
    ("Wait, let me think. 2+3=5. The answer is \\boxed{5}.", "5", {"marker": "boxed"}, True),
    ("\\boxed{4}. Actually, I made an error: the answer is \\boxed{5}.", "5", {}, True),
    ("\\boxed{4}. Actually, I made an error: the answer is \\boxed{5}.", "4", {}, False),
    ("Answer: C. Hmm, actually, that's wrong.", "C", {}, False),
    # a revision cue that re-checks and keeps the answer takes nothing back
    ("\\boxed{5}. Wait, let me double-check... yes.", "5", {"marker": "boxed"}, True),
    ("\\boxed{5}. Wait, 2+3 = 5. Yes.", "5", {"marker": "boxed"}, True),
    ("The answer is 5. Actually, let me verify: 2+3 = 5.", "5", {}, True),
    # ... and one that arrives at another value replaces it
    ("\\boxed{5}. Wait, 2+4 = 6.", "5", {"marker": "boxed"}, False),
    ("\\boxed{5}. Wait, 2+4 = 6.", "6", {"marker": "boxed"}, False),
    ("\\boxed{5}. Wait, no.", "5", {"marker": "boxed"}, False),
]

HEDGES_AND_NEGATIONS: list[Row] = [
    ("\\boxed{3} or \\boxed{4}", "3", {}, False),
    ("The answer is 3 or 4", "3", {}, False),
    ("\\boxed{not 5}", "5", {}, False),
    ("The answer is not 5", "5", {}, False),
    ("The answer is definitely not 12.", "12", {}, False),
    ("\\boxed{\\neg A}", "A", {}, False),
    ("the number is not 10 which is 12", "12", {}, True),
]

EXPONENTS: list[Row] = [
    ("The acceleration is 5 m/s^2", "2", {}, False),
    ("The acceleration is 5 m/s^2", "5", {}, True),
    ("The acceleration is 9.8 m/s^2", "9.8", {}, True),
    ("2^{10}", "10", {}, False),
    ("The answer is 2^{10}", "10", {}, False),
    ("The answer is 2^{10}", "1024", {}, True),
    ("3.0 x 10^8 m/s", "8", {}, False),
    ("3.0 x 10^8 m/s", "3e8", {}, True),
    ("So the speed comes to 3.0 x 10^8 m/s in the end", "3e8", {}, True),
    ("So we need x_2 here and it gives 5", "2", {}, False),
    ("The molar mass of H2O is 18", "2", {}, False),
]

FALLBACK_AND_MARKERS: list[Row] = [
    ("I don't know. The numbers given were 12, 5 and 17.", "17", {}, False),
    ("I'm not sure, maybe 17", "17", {}, False),
    ("Je ne sais pas. Les nombres étaient 12 et 17.", "17", {}, False),
    ("我不知道。题目给的数是 12 和 17。", "17", {}, False),
    ("Adding them up, the total comes to 17 in all.", "17", {}, True),
    ("The answer could be 12 or 17", "17", {}, False),
    ("It could be 12 or 17.", "12", {}, False),
    ("Adding 12 and 5 gives 17.", "17", {}, True),
    # the fallback number must be stated as a result, not listed among the problem's data
    ("I cannot solve this problem. The question mentions 3 apples and 4 oranges.", "4", {}, False),
    ("This problem seems underspecified; there are 20 students and 5 groups.", "5", {}, False),
    ("The problem gives 8 and 15; I could not finish the computation.", "15", {}, False),
    ("Sorry, I can't help with that (problem 7).", "7", {}, False),
    ("She has 3 apples and buys 4 more, so she has 7 apples.", "7", {}, True),
    ("So she has 7 apples left.", "7", {}, True),
    # a key in two equal forms (CHAMP writes them) is its last form
    ("The answer is $\\binom{10}{5}$.", "C(10, 5), or equivalently 252", {}, True),
    ("\\boxed{1176470588235294}", "(20*10^15-2)/17, or equivalently 1176470588235294", {}, True),
    ("\\boxed{251}", "C(10, 5), or equivalently 252", {}, False),
    # a declared marker is strict: no answer under it is no answer
    ("The answer is 42", "42", {"marker": "boxed"}, False),
    ("The answer is 17", "17", {"marker": "answer_colon"}, False),
    ("Adding them up gives 17.", "17", {"marker": "gsm8k"}, False),
    ("Adding them up gives 17.\n#### 17", "17", {"marker": "gsm8k"}, True),
    ("Answer: 17", "17", {"marker": "answer_colon"}, True),
    ("I'm not sure at first, but the answer is \\boxed{17}.", "17", {"marker": "boxed"}, True),
]

APPROX: list[Row] = [
    ("x = \\frac{\\sqrt3}{3} \\approx 0.577", "\\frac{\\sqrt{3}}{3}", {}, True),
    ("\\boxed{x = \\frac{\\sqrt3}{3} \\approx 0.6}", "\\frac{\\sqrt{3}}{3}", {}, True),
    ("So $x = \\frac{\\sqrt3}{3} \\approx 0.577$.", "\\frac{\\sqrt{3}}{3}", {}, True),
    ("x = \\frac{1}{2} \\approx 0.577", "\\frac{\\sqrt{3}}{3}", {}, False),
    ("\\boxed{x = \\frac{1}{2} \\approx 0.577}", "0.577", {}, False),
    ("\\boxed{\\frac{\\sqrt3}{3} \\approx 0.577}", "\\frac{\\sqrt3}{3}", {}, True),
    ("\\boxed{\\frac{1}{2} \\approx 0.577}", "0.577", {}, False),
    ("\\boxed{x \\approx 0.577}", "0.577", {}, True),
]

INTEGER_AND_PERCENT: list[Row] = [
    ("\\boxed{1234567.5}", "1234567", {}, False),
    ("\\boxed{2.0000019}", "2", {}, False),
    ("\\boxed{\\sqrt{4000001}}", "2000", {}, False),
    ("\\boxed{2.0}", "2", {}, True),
    ("\\boxed{\\frac{6}{3}}", "2", {}, True),
    ("\\boxed{\\sqrt{4}}", "2", {}, True),
    ("\\boxed{1,234,567}", "1234567", {}, True),
    ("\\boxed{0.5\\%}", "0.5", {}, False),
    ("\\boxed{0.5}", "0.5\\%", {}, False),
    ("\\boxed{1\\%}", "1", {}, False),
    ("\\boxed{50\\%}", "0.5", {}, True),
    ("\\boxed{50\\%}", "50", {}, True),
    ("\\boxed{50}", "50\\%", {}, True),
    ("\\boxed{0.5}", "50\\%", {}, True),
    ("\\boxed{100\\%}", "1", {}, True),
    ("\\boxed{5\\%}", "50", {}, False),
]

ROWS = {
    "phrases": PHRASES,
    "choice": CHOICE,
    "retraction": RETRACTION,
    "hedge": HEDGES_AND_NEGATIONS,
    "exponent": EXPONENTS,
    "fallback": FALLBACK_AND_MARKERS,
    "approx": APPROX,
    "integer-percent": INTEGER_AND_PERCENT,
}
_CASES = [(kind, row) for kind, rows in ROWS.items() for row in rows]


@pytest.mark.parametrize("row", [r for _, r in _CASES], ids=[f"{k}-{i}" for i, (k, _) in enumerate(_CASES)])
def test_extraction_policy(row: Row) -> None:
    response, key, options, expected = row
    verdict = verify_inline(VerifyRequest(response, key, **options))
    assert verdict.correct is expected, verdict


def test_no_false_positives_and_positives_kept() -> None:
    """Precision first: not one wrong answer accepted, while every right one still passes."""
    wrong = [(r, verify_inline(VerifyRequest(r[0], r[1], **r[2]))) for _, r in _CASES]
    accepted_wrong = [r for r, v in wrong if v.correct and not r[3]]
    rejected_right = [r for r, v in wrong if not v.correct and r[3]]
    assert accepted_wrong == [] and rejected_right == []


def test_every_cue_list_covers_the_languages() -> None:
    for marker, forms in ANSWER_PHRASES.items():
        assert set(forms) >= LANGUAGES, marker
    for cues in (RETRACTION_CUES, REVISION_CUES, NO_ANSWER_CUES, CONTRAST_CUES, NEGATION_CUES):
        assert set(cues) >= LANGUAGES


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The acceleration is 9.8 m/s^2", "9.8"),
        ("The energy is 2.0 x 10^{3} J", "2.0 \\times 10^{3}"),
        ("所以总质量为4000千克。", "4000"),
        ("答案是4000千克。", "4000 千克"),
        ("The answer is 3. Wait, no, that's wrong.", None),
        ("The answer is B. Actually, C.", "C."),
        ("I don't know. The numbers given were 12, 5 and 17.", None),
    ],
)
def test_extract(text: str, expected: str | None) -> None:
    assert extract(text) == expected


def test_cjk_value_sets_a_glued_unit_apart() -> None:
    assert cjk_value("4000千克") == "4000 千克"
    assert cjk_value("42です") == "42"
    assert cjk_value("4000 kg") == "4000 kg"  # no CJK: unchanged


def test_declared_marker_is_strict() -> None:
    assert extract("The answer is 42", marker="boxed") is None
    assert extract("so 42", marker="boxed") is None
    assert extract("The answer is \\boxed{42}", marker="boxed") == "42"


def test_cue_scans_are_bounded() -> None:
    """Every cue and phrase scan covers a bounded tail: 200,000 characters dense with cues,
    phrases and numbers extract in well under a second."""
    import time

    for text in ("wait answer is 5 " * 12000, "答案是4000千克。等等，" * 10000, "1 or " * 40000, "awaited " * 25000):
        start = time.perf_counter()
        extract(text)
        assert time.perf_counter() - start < 1.0
