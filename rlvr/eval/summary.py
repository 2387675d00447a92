"""From verified samples to the figures an eval reports, each with its 95% interval.

Pipeline: samples are grouped by (model, dataset) and by problem; each problem becomes one row
of per-problem statistics (:class:`ProblemScores`: pass@k and maj@k for every requested k,
avg@n, no-answer rate, mean length); a figure is the mean of a column over problems and its
interval a bootstrap over problems (:mod:`rlvr.eval.bootstrap`). Per-subject and per-level
breakdowns repeat this on the subset of problems with that subject or level.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rlvr.errors import RlvrError
from rlvr.eval.bootstrap import N_RESAMPLES, PairedDiff, bootstrap_ci
from rlvr.eval.passk import avg_at_n, maj_at_k, pass_at_k
from rlvr.eval.samples import EvalSample

BREAKDOWN_FIELDS = ("subject", "level")
_DIGITS = 6  # results.json precision: well below any bootstrap interval's width


@dataclass(frozen=True)
class Figure:
    """A mean over problems and its percentile-bootstrap 95% interval."""

    value: float
    ci95: tuple[float, float]


@dataclass(frozen=True)
class LengthStats:
    """Completion length in tokens over all samples of a group (not per problem)."""

    mean: float
    median: float
    p95: float
    max: int
    mean_correct: float | None  # None when no sample was correct
    mean_incorrect: float | None


@dataclass(frozen=True)
class ProblemScores:
    """Per-problem statistics of one (model, dataset): ``values[i, j]`` is column ``j`` of problem ``i``.

    Kept separately from the means because paired comparisons (before/after training) need the
    per-problem values, matched by problem id.
    """

    problem_ids: list[str]
    columns: list[str]
    values: np.ndarray

    def column(self, name: str) -> np.ndarray:
        return self.values[:, self.columns.index(name)]

    def select(self, problem_ids: Sequence[str]) -> ProblemScores:
        row = {pid: i for i, pid in enumerate(self.problem_ids)}
        return ProblemScores(list(problem_ids), self.columns, self.values[[row[pid] for pid in problem_ids]])


@dataclass(frozen=True)
class GroupResult:
    """Everything reported for one dataset (or one subject/level of it) and one model."""

    n: int
    problems: int
    pass_at_k: dict[int, Figure]
    maj_at_k: dict[int, Figure]
    avg_at_n: Figure
    no_answer_rate: Figure
    length_mean: Figure
    length: LengthStats
    greedy: Figure | None
    scores: ProblemScores = field(repr=False, compare=False)  # the per-problem rows, for compare()
    breakdowns: dict[str, dict[str, GroupResult]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The ``results.json`` entry of this group (keys of k-indexed figures are strings)."""

        def r(x: float | None) -> float | None:
            return None if x is None else round(float(x), _DIGITS)

        def ci(f: Figure) -> list[float | None]:
            return [r(f.ci95[0]), r(f.ci95[1])]

        out: dict[str, Any] = {"pass@k": {str(k): r(f.value) for k, f in self.pass_at_k.items()}}
        ci95: dict[str, Any] = {"pass@k": {str(k): ci(f) for k, f in self.pass_at_k.items()}}
        if self.maj_at_k:  # absent when the eval ran without majority voting
            out["maj@k"] = {str(k): r(f.value) for k, f in self.maj_at_k.items()}
            ci95["maj@k"] = {str(k): ci(f) for k, f in self.maj_at_k.items()}
        out["avg@n"], ci95["avg@n"] = r(self.avg_at_n.value), ci(self.avg_at_n)
        if self.greedy is not None:
            out["greedy"] = r(self.greedy.value)
            ci95["greedy"] = ci(self.greedy)
        out["no_answer_rate"] = r(self.no_answer_rate.value)
        ci95["no_answer_rate"] = ci(self.no_answer_rate)
        ci95["length_mean"] = ci(self.length_mean)
        out["length"] = {
            "mean": r(self.length.mean),
            "median": r(self.length.median),
            "p95": r(self.length.p95),
            "max": self.length.max,
            "mean_correct": r(self.length.mean_correct),
            "mean_incorrect": r(self.length.mean_incorrect),
        }
        out["ci95"] = ci95
        out["n"] = self.n
        out["problems"] = self.problems
        for name, groups in self.breakdowns.items():
            out[f"by_{name}"] = {value: group.to_json() for value, group in groups.items()}
        return out


Results = dict[str, dict[str, GroupResult]]
"""model -> dataset -> result, in order of first appearance in the samples."""


def _where(model: str, dataset: str) -> str:
    return f"dataset {dataset}" + (f", model {model}" if model else "")


def _by_problem(samples: Iterable[EvalSample]) -> dict[tuple[str, str], dict[str, list[EvalSample]]]:
    grouped: dict[tuple[str, str], dict[str, list[EvalSample]]] = {}
    for s in samples:
        grouped.setdefault((s.model, s.dataset), {}).setdefault(s.problem_id, []).append(s)
    return grouped


def _samples_per_problem(problems: dict[str, list[EvalSample]], where: str) -> int:
    """The common ``n``; differing counts mean an unfinished eval, whose pass@k would mix estimators."""
    counts = {pid: len(ss) for pid, ss in problems.items()}
    n = max(counts.values())
    short = [pid for pid, c in counts.items() if c != n]
    if short:
        raise RlvrError(
            f"{where}: problem {short[0]} has {counts[short[0]]} samples, others {n} "
            f"({len(short)} problem(s) incomplete); resume the eval to finish them"
        )
    return n


def score_problems(problems: dict[str, list[EvalSample]], ks: Sequence[int], where: str, majority: bool = True) -> ProblemScores:
    """Per-problem pass@k, maj@k (each k, when ``majority``: the samples carry answer clusters), avg@n,
    no-answer rate and mean length."""
    n = _samples_per_problem(problems, where)
    too_big = [k for k in ks if k > n]
    if too_big:
        raise RlvrError(f"{where}: k={too_big[0]} exceeds the {n} samples per problem; lower --k or raise --n")
    ids = list(problems)
    correct = np.array([sum(s.correct for s in problems[pid]) for pid in ids])
    sizes = np.full(len(ids), n)
    columns: list[np.ndarray] = [pass_at_k(sizes, correct, k) for k in ks]
    names = [f"pass@{k}" for k in ks]
    if majority:
        maj = [maj_at_k([(s.cluster, s.correct) for s in problems[pid]], ks) for pid in ids]
        columns.extend(np.array(maj).reshape(len(ids), len(ks)).T)
        names += [f"maj@{k}" for k in ks]
    columns.append(avg_at_n(sizes, correct))
    columns.append(np.array([np.mean([s.extracted is None for s in problems[pid]]) for pid in ids]))
    columns.append(np.array([np.mean([s.length for s in problems[pid]]) for pid in ids]))
    names += ["avg@n", "no_answer_rate", "length_mean"]
    return ProblemScores(ids, names, np.stack(columns, axis=1))


def _length_stats(samples: list[EvalSample]) -> LengthStats:
    lengths = np.array([s.length for s in samples], dtype=np.float64)
    ok = np.array([s.correct for s in samples])

    def mean_or_none(x: np.ndarray) -> float | None:
        return float(x.mean()) if x.size else None

    return LengthStats(
        mean=float(lengths.mean()),
        median=float(np.median(lengths)),
        p95=float(np.percentile(lengths, 95)),
        max=int(lengths.max()),
        mean_correct=mean_or_none(lengths[ok]),
        mean_incorrect=mean_or_none(lengths[~ok]),
    )


def summarise_group(
    problems: dict[str, list[EvalSample]],
    scores: ProblemScores,
    greedy: dict[str, bool],
    ks: Sequence[int],
    *,
    n_resamples: int = N_RESAMPLES,
    seed: int = 0,
    breakdown: bool = True,
) -> GroupResult:
    """All figures for the problems of ``scores`` (from :func:`score_problems` on ``problems``);
    ``greedy`` maps problem id -> greedy correctness.

    Greedy accuracy is averaged over the problems that have a greedy record (all of them in a
    finished eval) and is omitted when none has. Breakdowns reuse the per-problem rows: maj@k,
    the costly column, is computed once per problem.
    """
    intervals = bootstrap_ci(scores.values, n_resamples=n_resamples, seed=seed)
    means = scores.values.mean(axis=0)
    fig = {name: Figure(float(means[j]), (float(intervals[j, 0]), float(intervals[j, 1]))) for j, name in enumerate(scores.columns)}
    greedy_values = [float(greedy[pid]) for pid in scores.problem_ids if pid in greedy]
    greedy_fig = None
    if greedy_values:
        lo, hi = bootstrap_ci(greedy_values, n_resamples=n_resamples, seed=seed)
        greedy_fig = Figure(float(np.mean(greedy_values)), (float(lo), float(hi)))
    all_samples = [s for pid in scores.problem_ids for s in problems[pid]]
    breakdowns: dict[str, dict[str, GroupResult]] = {}
    for name in BREAKDOWN_FIELDS if breakdown else ():
        values = sorted({getattr(problems[pid][0], name) for pid in scores.problem_ids} - {None})
        if not values:
            continue
        breakdowns[name] = {}
        for value in values:
            subset = scores.select([pid for pid in scores.problem_ids if getattr(problems[pid][0], name) == value])
            breakdowns[name][value] = summarise_group(problems, subset, greedy, ks, n_resamples=n_resamples, seed=seed, breakdown=False)
    return GroupResult(
        n=len(problems[scores.problem_ids[0]]),
        problems=len(scores.problem_ids),
        pass_at_k={k: fig[f"pass@{k}"] for k in ks},
        maj_at_k={k: fig[f"maj@{k}"] for k in ks if f"maj@{k}" in fig},
        avg_at_n=fig["avg@n"],
        no_answer_rate=fig["no_answer_rate"],
        length_mean=fig["length_mean"],
        length=_length_stats(all_samples),
        greedy=greedy_fig,
        scores=scores,
        breakdowns=breakdowns,
    )


def summarise(
    samples: Iterable[EvalSample],
    greedy: Iterable[EvalSample] = (),
    ks: Sequence[int] = (1,),
    *,
    n_resamples: int = N_RESAMPLES,
    seed: int = 0,
    majority: bool = True,
) -> Results:
    """model -> dataset -> :class:`GroupResult` for all samples (see the module docstring); maj@k
    only with ``majority`` (the samples were clustered)."""
    ks = sorted(set(int(k) for k in ks))
    greedy_by: dict[tuple[str, str], dict[str, bool]] = {}
    for g in greedy:
        greedy_by.setdefault((g.model, g.dataset), {})[g.problem_id] = g.correct
    results: Results = {}
    for (model, dataset), problems in _by_problem(samples).items():
        scores = score_problems(problems, ks, _where(model, dataset), majority)
        results.setdefault(model, {})[dataset] = summarise_group(
            problems, scores, greedy_by.get((model, dataset), {}), ks, n_resamples=n_resamples, seed=seed
        )
    return results


def compare(before: ProblemScores, after: ProblemScores, *, n_resamples: int = N_RESAMPLES, seed: int = 0) -> dict[str, PairedDiff]:
    """Paired ``after - before`` difference of every column both share, over their common problems.

    Used for the before/after-training report (pass ``results[model][dataset].scores`` of the
    two models): the same problems under two models, so differences are bootstrapped per
    problem. Each column's result equals :func:`rlvr.eval.bootstrap.paired_bootstrap_diff` on
    it; all columns are resampled in one go because they share the resamples anyway.
    """
    index_a = {pid: i for i, pid in enumerate(after.problem_ids)}
    pairs = [(i, index_a[pid]) for i, pid in enumerate(before.problem_ids) if pid in index_a]
    if not pairs:
        raise RlvrError("cannot compare two evals that share no problem")
    rows_b, rows_a = (list(rows) for rows in zip(*pairs))
    names = [name for name in before.columns if name in after.columns]
    diff = np.stack([after.column(name)[rows_a] - before.column(name)[rows_b] for name in names], axis=1)
    intervals = bootstrap_ci(diff, n_resamples=n_resamples, seed=seed)
    means = diff.mean(axis=0)
    return {name: PairedDiff(float(means[j]), float(intervals[j, 0]), float(intervals[j, 1])) for j, name in enumerate(names)}


def results_json(results: Results) -> dict[str, Any]:
    """The ``results.json`` object: ``{dataset: ...}`` for one model, ``{model: {dataset: ...}}`` for several."""
    as_json = {model: {ds: r.to_json() for ds, r in datasets.items()} for model, datasets in results.items()}
    return next(iter(as_json.values())) if len(as_json) == 1 else as_json


def flat_metrics(results: Results, prefix: str = "eval") -> dict[str, float]:
    """Scalar figures keyed ``prefix/[model/]dataset/metric`` for a training logger."""
    out: dict[str, float] = {}
    for model, datasets in results.items():
        for dataset, r in datasets.items():
            base = "/".join(p for p in (prefix, model if len(results) > 1 else "", dataset) if p)
            for k, f in r.pass_at_k.items():
                out[f"{base}/pass@{k}"] = f.value
            for k, f in r.maj_at_k.items():
                out[f"{base}/maj@{k}"] = f.value
            out[f"{base}/avg@n"] = r.avg_at_n.value
            if r.greedy is not None:
                out[f"{base}/greedy"] = r.greedy.value
            out[f"{base}/no_answer_rate"] = r.no_answer_rate.value
            out[f"{base}/length_mean"] = r.length_mean.value
    return out
