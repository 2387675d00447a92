"""Per-problem estimators: pass@k, maj@k and avg@n from ``n`` verified samples of one problem.

Every estimator here answers "what would a user drawing ``k`` samples see?" *without* drawing
again: it is the exact expectation over all ``C(n, k)`` subsets of the ``n`` samples already
verified, so it is unbiased for the model's true pass@k / maj@k and has far less variance than
evaluating one random ``k``-subset. Aggregating over problems (a mean) and confidence intervals
live in :mod:`rlvr.eval.bootstrap`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import ArrayLike

Vote = tuple[int | None, bool]
"""One sample's (answer equivalence class, correct); class None means no answer was extracted."""


def pass_at_k(n: ArrayLike, c: ArrayLike, k: int) -> np.ndarray:
    """Unbiased pass@k per problem: ``1 - C(n - c, k) / C(n, k)`` (Chen et al. 2021, Codex paper).

    ``n`` (samples) and ``c`` (correct samples) broadcast against each other, one entry per
    problem. The binomials are never formed: their ratio is the probability that ``k`` samples
    drawn without replacement are all wrong, ``prod_{j<k} (n - c - j) / (n - j)``, a product of
    factors in [0, 1] that cannot overflow (C(1024, 512) would) and only underflows towards an
    honest 0. Once ``j`` reaches ``n - c`` a factor is 0: with fewer than ``k`` wrong samples
    every ``k``-subset contains a correct one, so pass@k is exactly 1.

    Raises ValueError for ``k < 1``, ``c`` outside ``[0, n]``, or ``k > n`` (pass@k cannot be
    estimated from fewer than ``k`` samples; extrapolating it would be a guess, not a measurement).
    """
    n_arr, c_arr = np.broadcast_arrays(np.asarray(n, dtype=np.int64), np.asarray(c, dtype=np.int64))
    if k < 1:
        raise ValueError(f"pass@k needs k >= 1, got k={k}")
    if n_arr.size and ((c_arr < 0).any() or (c_arr > n_arr).any()):
        raise ValueError("pass@k needs 0 <= c <= n for every problem")
    if n_arr.size and (k > n_arr).any():
        raise ValueError(f"pass@{k} needs at least {k} samples per problem, got n={int(n_arr.min())}")
    j = np.arange(k)
    wrong_left = np.clip((n_arr - c_arr)[..., None] - j, 0, None)
    all_wrong = np.prod(wrong_left / (n_arr[..., None] - j), axis=-1)
    return 1.0 - all_wrong


def avg_at_n(n: ArrayLike, c: ArrayLike) -> np.ndarray:
    """Mean accuracy over the ``n`` samples of each problem, ``c / n`` (equal to pass@1)."""
    n_arr = np.asarray(n, dtype=np.float64)
    if (n_arr <= 0).any():
        raise ValueError("avg@n needs n >= 1 for every problem")
    return np.asarray(c, dtype=np.float64) / n_arr


Match = Callable[[str, Sequence[str]], "int | None"]
"""``match(answer, representatives)``: index of the first representative ``answer`` is equivalent
to, or None. It sees all candidates at once so that a verifier-backed one can compare them in
one parallel batch rather than one round trip each."""


def pairwise(same: Callable[[str, str], bool]) -> Match:
    """A :data:`Match` from a two-answer predicate (tests, cheap predicates)."""
    return lambda answer, reps: next((i for i, rep in enumerate(reps) if same(answer, rep)), None)


def cluster_answers(extracted: Sequence[str | None], match: Match, correct: Sequence[bool] | None = None) -> list[int | None]:
    """Group extracted answers into equivalence classes, numbered 0, 1, ... in order of first use.

    ``match`` decides equivalence (the caller passes a verifier-based one, so ``1/2`` and ``0.5``
    vote together: majority vote over strings would split them and let a wrong answer win).
    ``None`` (nothing extracted) stays ``None``: it never votes.

    The verifier is asked as little as possible, so that thousands of samples per problem
    cluster in near-linear time: answers are first bucketed by the verifier's own exact-match
    form (:func:`rlvr.verifiers.normalization.compact`: spelling variants such as ``\\dfrac`` and
    spaces fall together without a comparison); answers the verifier accepted (``correct``) all
    equal the key, so they share one class without a comparison either; only the first answer of
    each new bucket is compared, with one representative of every class so far. Equivalence is
    assumed transitive. The comparisons grow with the number of distinct *meanings* per problem,
    not with the number of samples.

    Ids are prefix-stable: the ids of the first ``j`` answers depend only on those answers. An
    eval resumed after a crash therefore clusters ``written + new`` answers (in sample order)
    and gets the ids already in ``samples.jsonl`` back for the written ones.
    """
    from rlvr.verifiers.normalization import compact

    representatives: list[str] = []
    by_form: dict[str, int] = {}
    key_class: int | None = None
    classes: list[int | None] = []
    for i, answer in enumerate(extracted):
        if answer is None:
            classes.append(None)
            continue
        form = compact(answer)
        accepted = correct is not None and correct[i]
        cls = by_form.get(form)
        if cls is None and accepted:
            cls = key_class
        if cls is None:
            cls = match(answer, representatives) if representatives else None
            if cls is None:
                cls = len(representatives)
                representatives.append(answer)
            by_form[form] = cls
        if accepted and key_class is None:
            key_class = cls
        classes.append(cls)
    return classes


@functools.lru_cache(maxsize=4)
def _log_factorials(n: int) -> np.ndarray:
    """``log(a!)`` for ``0 <= a <= n``."""
    table = np.array([math.lgamma(a + 1) for a in range(n + 1)])
    table.setflags(write=False)
    return table


def _hypergeometric(log_fact: np.ndarray, part: int, whole: int, x: ArrayLike, drawn: ArrayLike) -> np.ndarray:
    """``C(part, x) C(whole - part, drawn - x) / C(whole, drawn)``: the chance that ``x`` of ``drawn``
    samples taken uniformly from ``whole`` fall in a block of ``part`` (0 where impossible).

    Computed from log-factorials, so it stays a probability in [0, 1] for any ``whole``, where
    the binomials themselves leave float64 range (C(1030, 515) ~ 1e309)."""
    x, drawn = np.broadcast_arrays(np.asarray(x), np.asarray(drawn))
    rest = drawn - x
    ok = (x >= 0) & (x <= part) & (rest >= 0) & (rest <= whole - part)
    x, rest, drawn = (np.where(ok, a, 0) for a in (x, rest, drawn))
    lf, other = log_fact, whole - part
    log_p = (lf[part] - lf[x] - lf[part - x]) + (lf[other] - lf[rest] - lf[other - rest]) - (lf[whole] - lf[drawn] - lf[whole - drawn])
    return np.where(ok, np.exp(log_p), 0.0)


def maj_at_k(votes: Sequence[Vote], ks: Sequence[int]) -> np.ndarray:
    """maj@k of one problem for each ``k`` in ``ks``: exact expectation over uniform ``k``-subsets.

    ``votes`` holds one ``(class, correct)`` per sample, classes from :func:`cluster_answers`.
    Within a subset the class with the most votes wins; samples with class ``None`` never vote,
    and a subset without any vote scores 0 (no answer is a wrong answer).

    Tie rule: when several classes share the top count the score is the mean correctness of the
    tied classes, i.e. the expected score of a uniformly random tie-break. Any fixed rule
    ("first seen", "smallest id") would make maj@k depend on sample order. A class's
    correctness is the fraction of its members marked correct (0 or 1 whenever the verifier is
    consistent with the equivalence used for clustering).

    Algorithm: the vote counts of a random ``k``-subset are multivariate hypergeometric. For
    each possible winning count ``v`` a dynamic programme over the classes that could reach
    ``v`` (those with at least ``v`` members) counts subsets by (samples taken ``s``, classes
    tied at ``v``) with every such class capped at ``v`` votes, accumulating the summed
    correctness of the tied classes alongside. Smaller classes and the no-answer samples
    cannot reach ``v``, so they only fill the remaining ``k - s`` slots. Summing
    ``(tied correctness / tied count)`` weighted by the chance of each ``s`` over ``v`` gives
    the expectation exactly, in ``O(n)`` small matrix products for all ``ks`` at once. The
    programme carries probabilities (counts divided by ``C(samples so far, s)``), never the
    counts themselves, so it holds for any ``n``: the counts overflow float64 near ``n = 1030``.
    """
    n = len(votes)
    ks = [int(k) for k in ks]
    for k in ks:
        if k < 1 or k > n:
            raise ValueError(f"maj@{k} needs 1 <= k <= n, got n={n}")
    members: dict[int, int] = {}
    correct: dict[int, float] = {}
    for cls, ok in votes:
        if cls is not None:
            members[cls] = members.get(cls, 0) + 1
            correct[cls] = correct.get(cls, 0.0) + float(ok)
    if not members or not ks:
        return np.zeros(len(ks))
    # Only the multiset of (size, correctness) matters, and it repeats across problems (all
    # samples agreeing is common), so equal signatures share one computation.
    signature = tuple(sorted((size, correct[cls] / size) for cls, size in members.items()))
    return np.array(_maj_expectation(signature, n, tuple(ks)))


@functools.lru_cache(maxsize=4096)
def _maj_expectation(classes: tuple[tuple[int, float], ...], n: int, ks: tuple[int, ...]) -> tuple[float, ...]:
    """The dynamic programme of :func:`maj_at_k` for classes given as (size, correctness).

    ``ways[s, t]`` is the chance that ``s`` samples drawn uniformly from the contenders added so
    far (``total`` samples) leave ``t`` of their classes tied at ``v`` and the rest below it;
    ``tied_correct`` is the same weighted by the tied classes' summed correctness. Adding a
    class splits a draw of ``s'`` samples into ``x`` from the class and ``s' - x`` from before,
    with hypergeometric weights."""
    sizes = np.array([size for size, _ in classes])
    accuracy = np.array([acc for _, acc in classes])
    result = np.zeros(len(ks))
    log_fact = _log_factorials(n)
    k_max = max(ks)
    rows = np.arange(k_max + 1)
    shift = rows[:, None] - rows[None, :]  # s' - s: samples taken from the class being added
    for v in range(1, min(int(sizes.max()), k_max) + 1):
        max_ties = k_max // v
        ways = np.zeros((k_max + 1, max_ties + 1))  # [samples taken, classes tied at v]
        ways[0, 0] = 1.0
        tied_correct = np.zeros_like(ways)
        total = 0
        contenders = sizes >= v
        for size, acc in zip(sizes[contenders].tolist(), accuracy[contenders].tolist()):
            whole = total + size
            # Taking x < v of this class's samples: a banded lower-triangular convolution in s.
            below = np.where(shift < v, _hypergeometric(log_fact, size, whole, shift, rows[:, None]), 0.0)
            new_ways = below @ ways
            new_correct = below @ tied_correct
            # Taking exactly v: one more tied class.
            take_v = _hypergeometric(log_fact, size, whole, v, rows[v:])[:, None]
            new_ways[v:, 1:] += take_v * ways[: k_max + 1 - v, :-1]
            new_correct[v:, 1:] += take_v * (tied_correct[: k_max + 1 - v, :-1] + acc * ways[: k_max + 1 - v, :-1])
            ways, tied_correct, total = new_ways, new_correct, whole
        score_by_taken = tied_correct[:, 1:] @ (1.0 / np.arange(1, max_ties + 1))
        for i, k in enumerate(ks):
            s = rows[: k + 1]
            result[i] += score_by_taken[s] @ _hypergeometric(log_fact, total, n, s, k)
    return tuple(result)
