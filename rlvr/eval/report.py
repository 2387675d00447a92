"""The eval's output files: ``results.json``, ``report.md`` and ``passk.png``.

All three are rendered from one :data:`rlvr.eval.summary.Results` and written atomically, so
an output directory never holds a report that disagrees with its ``results.json``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display on training nodes; must precede the pyplot import
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import ScalarFormatter  # noqa: E402

from rlvr.errors import RlvrError  # noqa: E402
from rlvr.eval.bootstrap import N_RESAMPLES, PairedDiff  # noqa: E402
from rlvr.eval.samples import EvalSample  # noqa: E402
from rlvr.eval.summary import Figure, GroupResult, Results, compare, results_json, summarise  # noqa: E402
from rlvr.io import atomic_write, atomic_write_json, atomic_write_text  # noqa: E402

RESULTS_FILE = "results.json"
REPORT_FILE = "report.md"
PLOT_FILE = "passk.png"


def _pct(f: Figure) -> str:
    return f"{100 * f.value:.1f} [{100 * f.ci95[0]:.1f}, {100 * f.ci95[1]:.1f}]"


def _diff(d: PairedDiff) -> str:
    return f"{100 * d.mean_diff:+.1f} [{100 * d.lo:+.1f}, {100 * d.hi:+.1f}]"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return lines + [""]


def _model_name(model: str) -> str:
    return model or "model"


def _datasets(results: Results) -> list[str]:
    return list(dict.fromkeys(ds for datasets in results.values() for ds in datasets))


def _dataset_section(dataset: str, results: Results) -> list[str]:
    by_model = {m: datasets[dataset] for m, datasets in results.items() if dataset in datasets}
    lines = [f"## {dataset}", "", "Percent, with 95% bootstrap intervals over problems.", ""]
    lines += _table(
        ["model", "problems", "n", "avg@n", "greedy", "no answer", "mean length (tokens)", "length correct / incorrect"],
        ([_model_name(m), str(r.problems), str(r.n), *_summary_cells(r)] for m, r in by_model.items()),
    )
    ks = sorted({k for r in by_model.values() for k in r.pass_at_k})
    header = ["k"] + [f"{metric} {_model_name(m)}" for m in by_model for metric in ("pass@k", "maj@k")]
    lines += _table(header, ([str(k)] + [cell for r in by_model.values() for cell in _k_cells(r, k)] for k in ks))
    if len(by_model) > 1:
        lines += _comparison(by_model, ks)
    for field in dict.fromkeys(f for r in by_model.values() for f in r.breakdowns):
        values = sorted({v for r in by_model.values() for v in r.breakdowns.get(field, {})})
        k_max = ks[-1]
        rows = [
            [value, _model_name(m), str(g.problems), _pct(g.avg_at_n), *_k_cells(g, k_max)]
            for value in values
            for m, r in by_model.items()
            if (g := r.breakdowns.get(field, {}).get(value)) is not None
        ]
        lines += [f"### {dataset} by {field}", ""]
        lines += _table([field, "model", "problems", "avg@n", f"pass@{k_max}", f"maj@{k_max}"], rows)
    return lines


def _summary_cells(r: GroupResult) -> list[str]:
    length = f"{r.length_mean.value:.0f} [{r.length_mean.ci95[0]:.0f}, {r.length_mean.ci95[1]:.0f}]"
    by_outcome = " / ".join("-" if x is None else f"{x:.0f}" for x in (r.length.mean_correct, r.length.mean_incorrect))
    greedy = _pct(r.greedy) if r.greedy else "-"
    return [_pct(r.avg_at_n), greedy, _pct(r.no_answer_rate), length, by_outcome]


def _k_cells(r: GroupResult, k: int) -> list[str]:
    return [_pct(r.pass_at_k[k]) if k in r.pass_at_k else "-", _pct(r.maj_at_k[k]) if k in r.maj_at_k else "-"]


def _comparison(by_model: dict[str, GroupResult], ks: Sequence[int]) -> list[str]:
    """Paired differences of every later model against the first (e.g. trained vs base)."""
    base, *others = by_model
    diffs = {m: compare(by_model[base].scores, by_model[m].scores) for m in others}
    metrics = ["avg@n"] + [f"{metric}@{k}" for k in ks for metric in ("pass", "maj")]
    rows = ([name] + [_diff(d[name]) if name in d else "-" for d in diffs.values()] for name in metrics)
    intro = f"Paired difference against {_model_name(base)} (percentage points, 95% paired bootstrap):"
    return [intro, ""] + _table(["metric"] + [_model_name(m) for m in diffs], rows)


def render_markdown(results: Results) -> str:
    """``report.md``: per dataset, a summary table, a pass@k/maj@k table, paired differences
    between models when there are several, and per-subject/level tables when the data has them."""
    lines = ["# Evaluation report", ""]
    for dataset in _datasets(results):
        lines += _dataset_section(dataset, results)
    return "\n".join(lines)


def plot_passk(results: Results, path: str | Path) -> None:
    """``passk.png``: pass@k against k (log2 axis), one panel per dataset, one line per model with
    its 95% band. Curves of a base and an RL-trained model crossing at large k is the signature of
    RL sharpening the distribution rather than adding solvable problems."""
    datasets = _datasets(results)
    cols = min(3, len(datasets))
    rows = -(-len(datasets) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 4 * rows), squeeze=False)
    for ax, dataset in zip(axes.flat, datasets):
        for model, by_dataset in results.items():
            r = by_dataset.get(dataset)
            if r is None:
                continue
            ks = list(r.pass_at_k)
            (line,) = ax.plot(ks, [r.pass_at_k[k].value for k in ks], marker="o", label=_model_name(model))
            ax.fill_between(
                ks, [r.pass_at_k[k].ci95[0] for k in ks], [r.pass_at_k[k].ci95[1] for k in ks], color=line.get_color(), alpha=0.2, linewidth=0
            )
        ax.set_xscale("log", base=2)
        ax.set_xticks(sorted({k for by in results.values() if dataset in by for k in by[dataset].pass_at_k}))
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.minorticks_off()
        ax.set_ylim(0, 1)
        ax.set_xlabel("k")
        ax.set_ylabel("pass@k")
        ax.set_title(dataset)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    for ax in list(axes.flat)[len(datasets) :]:
        ax.set_visible(False)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=120))
    plt.close(fig)


def write_report(
    out_dir: str | Path,
    samples: Iterable[EvalSample],
    greedy: Iterable[EvalSample] = (),
    ks: Sequence[int] = (1,),
    *,
    n_resamples: int = N_RESAMPLES,
    seed: int = 0,
    majority: bool = True,
) -> Results:
    """Summarise ``samples`` (and greedy samples) and write ``results.json``, ``report.md`` and
    ``passk.png`` into ``out_dir``; returns the results for logging."""
    out = Path(out_dir)
    results = summarise(samples, greedy, ks, n_resamples=n_resamples, seed=seed, majority=majority)
    if not results:
        raise RlvrError(f"no samples to report in {out}")
    atomic_write_json(out / RESULTS_FILE, results_json(results))
    atomic_write_text(out / REPORT_FILE, render_markdown(results))
    plot_passk(results, out / PLOT_FILE)
    return results
