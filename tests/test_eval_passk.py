"""pass@k, maj@k and answer clustering against brute-force enumeration of k-subsets."""

from __future__ import annotations

import itertools
import math
import random

import numpy as np
import pytest

from rlvr.eval.passk import avg_at_n, cluster_answers, maj_at_k, pairwise, pass_at_k


def brute_pass(n: int, c: int, k: int) -> float:
    """Fraction of k-subsets of n samples (the first c correct) containing a correct one."""
    subsets = list(itertools.combinations(range(n), k))
    return sum(any(i < c for i in s) for s in subsets) / len(subsets)


def brute_maj(votes: list[tuple[int | None, bool]], k: int) -> float:
    """Mean over all k-subsets of the majority class's correctness, ties averaged."""
    accuracy = {}
    for cls in {c for c, _ in votes if c is not None}:
        oks = [ok for c, ok in votes if c == cls]
        accuracy[cls] = sum(oks) / len(oks)
    total, count = 0.0, 0
    for subset in itertools.combinations(range(len(votes)), k):
        count += 1
        tally: dict[int, int] = {}
        for i in subset:
            if votes[i][0] is not None:
                tally[votes[i][0]] = tally.get(votes[i][0], 0) + 1
        if tally:
            top = max(tally.values())
            tied = [c for c, t in tally.items() if t == top]
            total += sum(accuracy[c] for c in tied) / len(tied)
    return total / count


def test_pass_at_k_matches_enumeration_for_all_small_cases():
    for n in range(1, 9):
        for k in range(1, n + 1):
            c = np.arange(n + 1)
            got = pass_at_k(np.full(n + 1, n), c, k)
            want = [brute_pass(n, ci, k) for ci in c]
            np.testing.assert_allclose(got, want, atol=1e-12, err_msg=f"n={n} k={k}")


def test_pass_at_k_matches_exact_binomials_for_large_n():
    n, k = 1024, 512  # C(1024, 512) ~ 4e306: the direct ratio of floats would overflow nearby
    for c in (0, 1, 3, 100, 511, 512, 513, 1024):
        want = 1 - math.comb(n - c, k) / math.comb(n, k) if n - c >= k else 1.0
        assert pass_at_k(n, c, k) == pytest.approx(want, abs=1e-12)


def test_pass_at_k_edge_cases():
    assert pass_at_k(5, 0, 3) == 0.0
    assert pass_at_k(5, 5, 3) == 1.0
    assert pass_at_k(5, 3, 3) == 1.0  # only 2 wrong samples: every 3-subset holds a correct one
    assert pass_at_k(5, 2, 1) == pytest.approx(0.4)
    np.testing.assert_allclose(avg_at_n([4, 4], [1, 4]), [0.25, 1.0])
    with pytest.raises(ValueError, match="at least 6"):
        pass_at_k(5, 2, 6)
    with pytest.raises(ValueError, match="at least 6"):
        pass_at_k([8, 5], [2, 2], 6)  # one short problem is enough to refuse
    with pytest.raises(ValueError):
        pass_at_k(5, 6, 1)
    with pytest.raises(ValueError):
        pass_at_k(5, 1, 0)


def test_maj_at_k_matches_enumeration():
    rng = random.Random(0)
    for _ in range(150):
        n = rng.randint(1, 8)
        n_classes = rng.randint(1, 4)
        class_ok = {c: rng.random() < 0.4 for c in range(n_classes)}
        classes = [rng.choice([None, *range(n_classes)]) for _ in range(n)]
        votes = [(c, class_ok[c] if c is not None else False) for c in classes]
        ks = list(range(1, n + 1))
        want = [brute_maj(votes, k) for k in ks]
        np.testing.assert_allclose(maj_at_k(votes, ks), want, atol=1e-12, err_msg=str(votes))


def test_maj_at_k_mixed_correctness_within_a_class_matches_enumeration():
    votes = [(0, True), (0, False), (1, True), (1, True), (2, False), (None, False), (0, True)]
    ks = list(range(1, 8))
    np.testing.assert_allclose(maj_at_k(votes, ks), [brute_maj(votes, k) for k in ks], atol=1e-12)


def test_maj_at_k_ties_average_over_tied_classes():
    votes = [(0, True), (0, True), (1, False), (1, False)]
    assert maj_at_k(votes, [4])[0] == pytest.approx(0.5)  # 2-2 tie: a coin flip between right and wrong
    three_way = [(0, True), (1, False), (2, False)]
    assert maj_at_k(three_way, [3])[0] == pytest.approx(1 / 3)
    # A clear majority wins outright; no-answer samples never vote, however many.
    assert maj_at_k([(0, True), (0, True), (1, False), (None, False), (None, False), (None, False)], [6])[0] == 1.0
    assert maj_at_k([(None, False)] * 3, [1, 3]).tolist() == [0.0, 0.0]
    # k = 1 is plain accuracy over samples (a no-answer sample scores 0).
    assert maj_at_k([(0, True), (1, False), (None, False), (0, True)], [1])[0] == pytest.approx(0.5)


def test_maj_at_k_is_exact_beyond_float_binomials():
    """n = 1203 (beyond C(1030, 515), where the old binomial table overflowed float64): 700 right,
    500 wrong, 3 without an answer, against exact integers."""
    right, wrong = 700, 500
    n = right + wrong
    votes = [(0, True)] * right + [(1, False)] * wrong + [(None, False)] * 3
    ks = [1, 2, 3, 40, 41]

    def exact(k: int) -> float:
        from fractions import Fraction

        total = Fraction(0)
        for x in range(k + 1):  # x right, y wrong, z no-answer
            for z in range(min(3, k - x) + 1):
                y = k - x - z
                ways = math.comb(right, x) * math.comb(wrong, y) * math.comb(3, z)
                if ways and (x or y):
                    total += ways * (1 if x > y else Fraction(1, 2) if x == y else 0)
        return float(total / math.comb(n + 3, k))

    np.testing.assert_allclose(maj_at_k(votes, ks), [exact(k) for k in ks], rtol=1e-9, atol=1e-12)


def test_maj_at_k_rejects_bad_k():
    with pytest.raises(ValueError):
        maj_at_k([(0, True)] * 3, [4])
    with pytest.raises(ValueError):
        maj_at_k([(0, True)] * 3, [0])


def test_maj_at_k_endpoints_on_a_realistic_problem():
    rng = np.random.default_rng(0)
    votes = [(int(c) if c < 12 else None, bool(c == 0)) for c in rng.integers(0, 14, 64)]
    got = maj_at_k(votes, [1, 8, 64])
    # k = 1: one random sample decides, so maj@1 is the sample accuracy.
    assert got[0] == pytest.approx(np.mean([ok for _, ok in votes]))
    # k = n: the single full vote; class 0 is correct, so the score is its share of the winners.
    tally = {c: sum(1 for v, _ in votes if v == c) for c in {v for v, _ in votes if v is not None}}
    winners = [c for c, t in tally.items() if t == max(tally.values())]
    assert got[2] == pytest.approx((0 in winners) / len(winners))
    assert 0.0 <= got[1] <= 1.0


def test_cluster_answers_uses_equivalence_not_string_equality():
    def same(a: str, b: str) -> bool:
        return abs(float(a) - float(b)) < 1e-9

    calls = []

    def counting_same(a: str, b: str) -> bool:
        calls.append((a, b))
        return same(a, b)

    extracted = ["0.5", "1", None, ".50", "0.5", "2", "1.0"]
    assert cluster_answers(extracted, pairwise(counting_same)) == [0, 1, None, 0, 0, 2, 1]
    # The repeated literal "0.5" is matched by string, without calling the verifier.
    assert ("0.5", "0.5") not in calls
    # Through clustering, "0.5" and ".50" vote together: maj@7 picks class 0 (3 votes).
    classes = cluster_answers(extracted, pairwise(same))
    votes = [(c, c == 0) for c in classes]
    assert maj_at_k(votes, [7])[0] == 1.0


def test_cluster_ids_are_prefix_stable_for_resume():
    def same(a: str, b: str) -> bool:
        return a.strip("0.") == b.strip("0.")

    extracted = ["3", None, "0.5", "3.0", ".5", "7", "3", None, "7.0"]
    correct = [a is not None and a.startswith("3") for a in extracted]
    for flags in (None, correct):
        full = cluster_answers(extracted, pairwise(same), flags)
        for j in range(len(extracted)):
            assert cluster_answers(extracted[:j], pairwise(same), None if flags is None else flags[:j]) == full[:j]


def test_clustering_many_samples_compares_only_distinct_meanings():
    """4096 samples with 3 meanings in many spellings: the comparisons grow with the meanings, not the samples."""
    rng = random.Random(0)
    spellings = {"0.5": ["0.5", " 0.5", "0.5.", "\\dfrac{1}{2}", "\\frac{1}{2}", "1/2"], "3": ["3", "3.", " 3 "], "7": ["7", "7 "]}
    meaning = {s: m for m, forms in spellings.items() for s in forms}
    extracted = [rng.choice([None, *meaning]) for _ in range(4096)]
    correct = [a is not None and meaning[a] == "3" for a in extracted]
    compared = []

    def match(answer, reps):
        compared.append((answer, tuple(reps)))
        return next((i for i, rep in enumerate(reps) if meaning[rep] == meaning[answer]), None)

    classes = cluster_answers(extracted, match, correct)
    for a, b in itertools.combinations(range(200), 2):
        if extracted[a] is not None and extracted[b] is not None:
            assert (classes[a] == classes[b]) == (meaning[extracted[a]] == meaning[extracted[b]])
    # Bucketed by the verifier's exact-match form: "0.5" / " 0.5" / "0.5." and \dfrac / \frac are one bucket
    # each, and accepted answers ("3", "3.", " 3 ") need no comparison at all.
    assert len(compared) <= 4, compared
