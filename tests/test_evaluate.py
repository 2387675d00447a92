"""``rlvr eval`` end to end on tiny models with the real vLLM engine, and its building blocks.

The end-to-end runs share one output directory (module fixture ``runs``) to pay for as few engine
starts as possible: model A evaluated through the CLI (vLLM); samples.jsonl and greedy.jsonl
truncated mid-line and the eval rerun (vLLM, resume); then models A and B together, which
generates only for B (with the hf generator, which starts in a second).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from rlvr.cli import main
from rlvr.config import from_dict, load_config
from rlvr.data import Problem
from rlvr.errors import RlvrError
from rlvr.eval.runner import AnswerEquivalence, EvalConfig, EvalRunner, default_ks, evaluate_in_training, run_eval, score_group
from rlvr.eval.samples import GREEDY_FILE, SAMPLES_FILE, EvalSample, read_samples
from rlvr.generation.base import Completion, GeneratorConfig, SamplingConfig, build_generator
from rlvr.prompts import get_template
from rlvr.rollout.sample import ScoredCompletion
from rlvr.verifiers import Verdict, VerifierPool

N, KS, PROBLEMS = 4, [1, 2, 4], 6


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """Single-digit answers, so that the untrained model's stray digits are sometimes right."""
    path = tmp_path_factory.mktemp("data") / "sums.jsonl"
    rows = [
        {"id": f"q{i}", "question": f"{i + 1}+{i + 2}=", "answer": str((2 * i + 3) % 10), "subject": "odd" if i % 2 else "even"}
        for i in range(PROBLEMS)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture(scope="module")
def second_model_dir(tmp_path_factory, tiny_tokenizer, tiny_model_dir) -> Path:
    """The fixture model's architecture with other random weights."""
    from rlvr.models.load import TinyModelConfig, build_tiny_model

    d = tmp_path_factory.mktemp("tiny-b")
    cfg = TinyModelConfig(hidden_size=64, num_layers=2, num_heads=2, num_kv_heads=2, intermediate_size=128, max_position_embeddings=128)
    build_tiny_model(cfg, tiny_tokenizer, seed=1).save_pretrained(d)
    tiny_tokenizer.save_pretrained(d)
    return d


def overrides(dataset: Path) -> list[str]:
    return [
        "data.sums.name=jsonl",
        f"data.sums.path={dataset}",
        "templates.sums=arith",
        "sampling.temperature=1.0",
        "sampling.top_p=1.0",
        "sampling.max_tokens=8",
        "generator.max_model_len=128",
        "prompts_per_chunk=3",
        "n_resamples=200",
        "progress=false",
        "verifier.workers=1",
    ]


def read_lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


@pytest.fixture(scope="module")
def runs(tmp_path_factory, dataset, tiny_model_dir, second_model_dir):
    """Run the three evals once; tests inspect the snapshots."""
    out = tmp_path_factory.mktemp("eval") / "out"
    first = tmp_path_factory.mktemp("eval-first")
    a, b = f"a={tiny_model_dir}", f"b={second_model_dir}"
    argv = ["eval", "--model", a, "--datasets", "sums", "--n", str(N), "--k", "1,2,4", "--output", str(out), *overrides(dataset)]
    assert main(argv) == 0
    for name in (SAMPLES_FILE, GREEDY_FILE, "results.json", "report.md", "passk.png"):
        shutil.copy(out / name, first / name)

    # Cut each JSONL file inside a line of the second chunk's problems: problem q2 keeps part of its
    # samples and a torn line; q3.. are gone.
    samples = (out / SAMPLES_FILE).read_text()
    cut = samples.index('"problem_id": "q2", "sample": 2')
    (out / SAMPLES_FILE).write_text(samples[:cut])
    greedy = (out / GREEDY_FILE).read_text()
    (out / GREEDY_FILE).write_text(greedy[: greedy.index('"problem_id": "q3"')])
    cfg = load_config(
        EvalConfig, "eval", None, [f"models=['{a}']", "datasets=[sums]", f"sampling.n={N}", "k=[1,2,4]", f"output_dir={out}", *overrides(dataset)]
    )
    run_eval(cfg)
    resumed = {name: (out / name).read_text() for name in (SAMPLES_FILE, GREEDY_FILE, "results.json")}

    # B through the transformers generator: A needs no generation, and the plot and results
    # only care that there are two models (one vLLM engine start fewer keeps the test fast).
    cfg.models = [a, b]
    cfg.generator.name = "hf"
    import matplotlib.pyplot as plt

    figures = []
    close = plt.close
    try:
        plt.close = lambda fig=None: (figures.append(fig), close(fig))  # keep the pass@k figure to count its lines
        two = run_eval(cfg)
    finally:
        plt.close = close
    return {"out": out, "first": first, "resumed": resumed, "two": two, "figures": figures, "labels": (a, b)}


def test_outputs_have_the_documented_shape(runs):
    first = runs["first"]
    results = json.loads((first / "results.json").read_text())
    assert list(results) == ["sums"]  # one model: keyed by dataset
    r = results["sums"]
    assert r["n"] == N and r["problems"] == PROBLEMS
    assert list(r["pass@k"]) == ["1", "2", "4"] and list(r["maj@k"]) == ["1", "2", "4"]
    assert set(r["ci95"]) >= {"pass@k", "maj@k", "avg@n", "greedy"}
    assert r["pass@k"]["1"] == pytest.approx(r["avg@n"])
    assert r["pass@k"]["1"] <= r["pass@k"]["2"] <= r["pass@k"]["4"]
    assert set(r["by_subject"]) == {"even", "odd"}

    samples = read_samples(first / SAMPLES_FILE)
    assert len(samples) == PROBLEMS * N
    assert {(s.problem_id, s.sample) for s in samples} == {(f"q{i}", j) for i in range(PROBLEMS) for j in range(N)}
    for s in samples:
        assert s.model == "a" and s.dataset == "sums" and 1 <= s.length <= 8
        assert (s.cluster is None) == (s.extracted is None)
    correct = sum(s.correct for s in samples)
    assert r["avg@n"] == pytest.approx(correct / len(samples), abs=1e-6)
    greedy = read_samples(first / GREEDY_FILE)
    assert [(g.problem_id, g.sample) for g in greedy] == [(f"q{i}", 0) for i in range(PROBLEMS)]
    assert r["greedy"] == pytest.approx(sum(g.correct for g in greedy) / PROBLEMS, abs=1e-6)
    report = (first / "report.md").read_text()
    assert "## sums" in report and "pass@k" in report
    assert (first / "passk.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_clusters_follow_verifier_equivalence_per_problem(runs):
    samples = read_samples(runs["first"] / SAMPLES_FILE)
    by_problem: dict[str, list[EvalSample]] = {}
    for s in samples:
        by_problem.setdefault(s.problem_id, []).append(s)
    for group in by_problem.values():
        answers = {}
        for s in group:
            if s.extracted is not None:
                assert answers.setdefault(s.extracted, s.cluster) == s.cluster  # equal answers, equal cluster
        seen = [s.cluster for s in sorted(group, key=lambda s: s.sample) if s.cluster is not None]
        assert seen == [] or sorted(set(seen)) == list(range(max(seen) + 1))  # numbered in order of first use


def test_resume_after_truncation_reproduces_the_uninterrupted_run(runs):
    first, resumed = runs["first"], runs["resumed"]
    assert resumed[SAMPLES_FILE] == (first / SAMPLES_FILE).read_text()
    assert resumed[GREEDY_FILE] == (first / GREEDY_FILE).read_text()
    assert json.loads(resumed["results.json"]) == json.loads((first / "results.json").read_text())


def test_two_models_key_results_by_model_and_plot_two_lines(runs):
    out = runs["out"]
    results = json.loads((out / "results.json").read_text())
    assert list(results) == ["a", "b"]
    assert results["a"]["sums"] == json.loads((runs["first"] / "results.json").read_text())["sums"]  # A was not redone
    assert results["b"]["sums"]["problems"] == PROBLEMS
    samples = read_samples(out / SAMPLES_FILE)
    assert sum(s.model == "b" for s in samples) == PROBLEMS * N
    (fig,) = runs["figures"]
    (ax,) = [ax for ax in fig.axes if ax.get_visible()]
    assert [line.get_label() for line in ax.get_lines()] == ["a", "b"]
    assert (out / "passk.png").stat().st_size > 0
    assert "Paired difference against a" in (out / "report.md").read_text()


def test_k_above_n_is_an_error_naming_the_flag(capsys):
    assert main(["eval", "--model", "tiny", "--datasets", "arith", "--n", "4", "--k", "1,8"]) == 2
    err = capsys.readouterr().err
    assert "pass@8" in err and "--k" in err and "--n" in err


def test_resume_refuses_a_changed_sampling_setting(runs, dataset):
    cfg = load_config(
        EvalConfig,
        "eval",
        None,
        [
            f"models=['{runs['labels'][0]}']",
            "datasets=[sums]",
            f"sampling.n={N}",
            f"output_dir={runs['out']}",
            *overrides(dataset),
            "sampling.temperature=0.7",
        ],
    )
    with pytest.raises(RlvrError, match="temperature"):
        EvalRunner(cfg).run()


def test_config_defaults_and_dataset_resolution(dataset):
    cfg = from_dict(
        EvalConfig,
        {"datasets": ["math500", "sums"], "data": {"sums": {"name": "jsonl", "path": str(dataset)}}, "templates": {"sums": "arith"}, "limit": 3},
    )
    assert cfg.ks == [1, 2, 4, 8, 16] and default_ks(6) == [1, 2, 4, 6]
    assert cfg.sampling.temperature == 0.6 and cfg.generator.sleep_between_steps is False
    from rlvr.eval.runner import resolve_tasks

    math500, sums = resolve_tasks(cfg)
    assert (math500.data.split, math500.template_name, len(math500.problems)) == ("test", "qwen-math", 3)
    assert (sums.data.name, sums.template_name, len(sums.problems)) == ("jsonl", "arith", 3)
    (arith,) = resolve_tasks(load_config(EvalConfig, "eval", "tiny-arith"))  # the built-in config
    assert (arith.data.split, arith.data.options, arith.template_name, len(arith.problems)) == ("test", {"level": "hard"}, "arith", 300)
    with pytest.raises(RlvrError, match="templates.mine"):
        resolve_tasks(from_dict(EvalConfig, {"datasets": ["mine"], "data": {"mine": {"name": "jsonl", "path": str(dataset)}}}))


def _scored(problem: Problem, extracted: list[str | None]) -> list[ScoredCompletion]:
    return [
        ScoredCompletion(problem, Completion(0, [1, 2], [0.0, 0.0], f"Answer: {e}", "stop"), Verdict(e == problem.answer, e, "x")) for e in extracted
    ]


def test_answer_equivalence_and_prefix_stable_clusters():
    template = get_template("qwen-math")
    problem = Problem(id="p", prompt="?", answer="0.5")
    with VerifierPool(workers=1) as pool:
        same = AnswerEquivalence(pool, template, problem)
        assert same("\\frac{1}{2}", "0.5") and same("1/2", "\\frac{1}{2}") and not same("2", "3")
        assert same("x(x+2)", "x^2+2x")
        group = _scored(problem, ["1/2", "0.5", None, "3", "\\frac{1}{2}"])
        samples = score_group(group, same, dataset="d")
        assert [s.cluster for s in samples] == [0, 0, None, 1, 0]
        # Resuming with the first three written: only the rest is returned, with the same ids.
        rest = score_group(group, same, dataset="d", written={s.sample: s for s in samples[:3]})
        assert [(s.sample, s.cluster) for s in rest] == [(3, 1), (4, 0)]
        tampered = {0: samples[0], 1: EvalSample(**{**samples[1].to_record(), "cluster": 5})}
        with pytest.raises(RlvrError, match="cluster"):
            score_group(group, same, dataset="d", written=tampered)


def test_evaluate_in_training_returns_flat_metrics(tiny_model_dir, dataset):
    from rlvr.data import DatasetConfig, load_problems
    from rlvr.models.load import load_tokenizer

    tokenizer = load_tokenizer(str(tiny_model_dir))
    problems = load_problems(DatasetConfig(name="jsonl", path=str(dataset)))
    generator = build_generator(GeneratorConfig(name="hf", max_model_len=128), str(tiny_model_dir), tokenizer)
    with VerifierPool(workers=1) as pool:
        metrics = evaluate_in_training(generator, pool, tokenizer, problems, get_template("arith"), SamplingConfig(n=4, max_tokens=8), dataset="sums")
    generator.close()
    assert {f"eval/sums/{m}" for m in ("pass@1", "pass@2", "pass@4", "maj@4", "avg@n", "greedy", "no_answer_rate")} <= set(metrics)
    assert metrics["eval/sums/pass@1"] == pytest.approx(metrics["eval/sums/avg@n"])
    assert 0 <= metrics["eval/sums/pass@1"] <= metrics["eval/sums/pass@4"] <= 1
    assert 0 < metrics["eval/sums/length_mean"] <= 8


# ----------------------------------------------------------------------------- fail fast, maj@k off, resume


def _hf_cfg(dataset: Path, out: Path, *models: str, extra: tuple[str, ...] = ()) -> EvalConfig:
    """An eval on the transformers generator (starts in a second), two problems."""
    return load_config(
        EvalConfig,
        "eval",
        None,
        [
            f"models={json.dumps(list(models))}",
            "datasets=[sums]",
            f"output_dir={out}",
            "generator.name=hf",
            "limit=2",
            f"sampling.n={N}",
            *overrides(dataset),
            *extra,
        ],
    )


def test_bad_second_model_fails_before_anything_generates(tmp_path, dataset, tiny_model_dir, capsys):
    """Every model resolves before the first engine starts: a typo in the second one costs nothing."""
    out = tmp_path / "out"
    argv = [
        "eval",
        "--model",
        f"a={tiny_model_dir}",
        "--model",
        f"b={tmp_path / 'missing'}",
        "--datasets",
        "sums",
        "--n",
        "2",
        "--output",
        str(out),
        *overrides(dataset),
        "generator.name=hf",
    ]
    assert main(argv) == 2
    assert "model path not found" in capsys.readouterr().err
    assert not (out / SAMPLES_FILE).exists() and not (out / GREEDY_FILE).exists()


def test_output_dir_that_is_a_file_is_one_line_error(tmp_path, dataset, tiny_model_dir, capsys):
    (tmp_path / "out").write_text("not a directory")
    argv = [
        "eval",
        "--model",
        str(tiny_model_dir),
        "--datasets",
        "sums",
        "--n",
        "2",
        "--output",
        str(tmp_path / "out" / "x"),
        *overrides(dataset),
        "generator.name=hf",
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "output_dir" in err and "Traceback" not in err


def test_maj_off_reports_no_maj_and_refuses_switching_it_on_later(tmp_path, dataset, tiny_model_dir, capsys):
    """maj@k is optional (``--no-maj``; off by default above n = 64, where it used to crash the
    report after all generation beyond n = 1000). Off, the results carry no maj@k; switching it
    on for samples that were never clustered is refused before anything generates."""
    assert from_dict(EvalConfig, {"sampling": {"n": 65}}).maj is False and from_dict(EvalConfig, {}).maj is True
    cfg = _hf_cfg(dataset, tmp_path / "out", str(tiny_model_dir), extra=("majority=false", "greedy=false"))
    results = run_eval(cfg)[str(tiny_model_dir)]["sums"]
    assert results.n == N and results.maj_at_k == {} and set(results.pass_at_k) == set(KS)
    assert f"maj@{N}" in capsys.readouterr().out  # the summary table, with "-" for maj@k
    written = json.loads((tmp_path / "out" / "results.json").read_text())["sums"]
    assert "maj@k" not in written and "maj@k" not in written["ci95"]
    assert all(s.cluster is None for s in read_samples(tmp_path / "out" / SAMPLES_FILE))

    cfg.majority = True
    with pytest.raises(RlvrError, match="majority"):
        EvalRunner(cfg).run()


def test_resume_after_a_crash_past_generation_generates_nothing(tmp_path, dataset, tiny_model_dir, monkeypatch):
    """The report fails once after every sample was written; the rerun builds no generator and
    reports what an uninterrupted run reports."""
    import rlvr.eval.report as report
    import rlvr.generation.base as base

    plain = run_eval(_hf_cfg(dataset, tmp_path / "plain", str(tiny_model_dir)))
    out = tmp_path / "crashed"
    plot = report.plot_passk

    def broken_plot(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(report, "plot_passk", broken_plot)
    with pytest.raises(OSError, match="disk full"):
        run_eval(_hf_cfg(dataset, out, str(tiny_model_dir)))
    monkeypatch.setattr(report, "plot_passk", plot)

    def no_generation(*args, **kwargs):
        raise AssertionError("the resumed eval started a generator")

    monkeypatch.setattr(base, "build_generator", no_generation)
    resumed = run_eval(_hf_cfg(dataset, out, str(tiny_model_dir)))
    for name in (SAMPLES_FILE, GREEDY_FILE):
        assert (out / name).read_text() == (tmp_path / "plain" / name).read_text()
    assert json.loads((out / "results.json").read_text()) == json.loads((tmp_path / "plain" / "results.json").read_text())
    assert resumed[str(tiny_model_dir)]["sums"].to_json() == plain[str(tiny_model_dir)]["sums"].to_json()
