"""Confidence intervals by bootstrapping over problems.

Every figure an eval reports is a mean over problems of a per-problem statistic (pass@k,
maj@k, accuracy, no-answer rate, length). The uncertainty that matters is which problems the
benchmark happened to contain: on AIME's 30 problems a 10-point swing is noise. So the
bootstrap resamples *problems* with replacement, keeping each problem's samples together, and
reads the percentile interval of the resampled means. Resampling is seeded so that the same
samples always give the same interval.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

N_RESAMPLES = 2000
CONFIDENCE = 0.95


def _resample_weights(m: int, n_resamples: int, seed: int) -> np.ndarray:
    """How often each of ``m`` problems is drawn in each resample, shape (n_resamples, m).

    Counts instead of index arrays: one matrix product then averages any number of statistics
    over the same resamples, and memory stays ``n_resamples * m`` whatever their number.
    """
    draws = np.random.default_rng(seed).integers(0, m, size=(n_resamples, m))
    offsets = (np.arange(n_resamples) * m)[:, None]
    return np.bincount((draws + offsets).ravel(), minlength=n_resamples * m).reshape(n_resamples, m)


def bootstrap_ci(values: ArrayLike, *, n_resamples: int = N_RESAMPLES, confidence: float = CONFIDENCE, seed: int = 0) -> np.ndarray:
    """Percentile bootstrap interval for the mean over problems of per-problem values.

    ``values`` has shape ``(m,)`` or ``(m, d)``: ``m`` problems, optionally ``d`` statistics
    per problem. All columns share the same resamples, so the intervals of, say, pass@1 ... pass@64
    of one dataset are mutually consistent. Returns ``[lo, hi]`` with shape ``(2,)`` or ``(d, 2)``.
    A single problem gives a zero-width interval: there is nothing to resample.
    """
    data = np.asarray(values, dtype=np.float64)
    if data.ndim not in (1, 2) or data.shape[0] == 0:
        raise ValueError(f"bootstrap_ci needs values of shape (m,) or (m, d) with m >= 1, got {data.shape}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    m = data.shape[0]
    means = _resample_weights(m, n_resamples, seed) @ data / m
    tail = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(means, [tail, 1.0 - tail], axis=0)
    return np.stack([lo, hi], axis=-1)


class PairedDiff(NamedTuple):
    """Mean of ``after - before`` over problems with its bootstrap interval."""

    mean_diff: float
    lo: float
    hi: float


def paired_bootstrap_diff(
    before: ArrayLike,
    after: ArrayLike,
    *,
    n_resamples: int = N_RESAMPLES,
    confidence: float = CONFIDENCE,
    seed: int = 0,
) -> PairedDiff:
    """Improvement ``after - before`` of a per-problem statistic measured on the same problems.

    Pairing bootstraps the per-problem differences rather than the two means independently:
    problem difficulty, the largest source of variance, cancels, so a real improvement of a few
    points is resolved where two unpaired intervals would overlap. An interval excluding 0 means
    the change is unlikely to be an artefact of which problems the benchmark contains.
    """
    b = np.asarray(before, dtype=np.float64)
    a = np.asarray(after, dtype=np.float64)
    if b.shape != a.shape or b.ndim != 1:
        raise ValueError(f"paired_bootstrap_diff needs two 1-D arrays over the same problems, got {b.shape} and {a.shape}")
    diff = a - b
    lo, hi = bootstrap_ci(diff, n_resamples=n_resamples, confidence=confidence, seed=seed)
    return PairedDiff(float(diff.mean()), float(lo), float(hi))
