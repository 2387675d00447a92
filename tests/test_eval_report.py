"""From sample records to results.json / report.md / passk.png, and resuming samples.jsonl."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rlvr.errors import RlvrError
from rlvr.eval.bootstrap import paired_bootstrap_diff
from rlvr.eval.passk import pass_at_k
from rlvr.eval.report import write_report
from rlvr.eval.samples import EvalSample, open_samples, read_samples, write_samples
from rlvr.eval.summary import compare, flat_metrics, results_json, summarise

KS = [1, 2, 4, 8]


def make_samples(model: str, dataset: str, accuracy: list[float], n: int = 8, seed: int = 0, subjects: bool = False):
    """Problem i gets round(accuracy[i] * n) correct samples (answer "1"); wrong ones answer "2"
    or nothing."""
    rng = np.random.default_rng(seed)
    out = []
    for i, acc in enumerate(accuracy):
        n_correct = round(acc * n)
        for j in range(n):
            ok = j < n_correct
            extracted = "1" if ok else (None if j % 3 == 0 else "2")
            out.append(
                EvalSample(
                    dataset=dataset,
                    problem_id=f"p{i}",
                    sample=j,
                    completion=f"... {extracted}",
                    extracted=extracted,
                    correct=ok,
                    cluster=None if extracted is None else int(extracted) - 1,
                    length=int(rng.integers(50, 150)),
                    model=model,
                    subject=("algebra" if i % 2 else "geometry") if subjects else None,
                    level=str(1 + i % 3) if subjects else None,
                )
            )
    return out


def greedy_of(samples):
    return [s for s in samples if s.sample == 0]


def test_results_json_shape_and_values(tmp_path):
    accuracy = [0.0, 0.125, 0.5, 1.0, 0.25, 0.75]
    samples = make_samples("", "math500", accuracy, subjects=True)
    write_report(tmp_path, samples, greedy_of(samples), KS)
    results = json.loads((tmp_path / "results.json").read_text())
    assert list(results) == ["math500"]  # one model: no model level
    r = results["math500"]
    assert r["n"] == 8 and r["problems"] == 6
    assert list(r["pass@k"]) == ["1", "2", "4", "8"] and list(r["maj@k"]) == ["1", "2", "4", "8"]
    c = np.round(np.array(accuracy) * 8)
    for k in KS:
        assert r["pass@k"][str(k)] == pytest.approx(pass_at_k(8, c, k).mean(), abs=1e-6)
        lo, hi = r["ci95"]["pass@k"][str(k)]
        assert lo <= r["pass@k"][str(k)] <= hi
        assert len(r["ci95"]["maj@k"][str(k)]) == 2
    assert r["avg@n"] == pytest.approx(c.sum() / 48, abs=1e-6)
    assert r["pass@k"]["1"] == pytest.approx(r["avg@n"])
    # maj@8 over the full vote: "1" wins where it has more votes than "2" (ties count half).
    wrong_answered = [sum(1 for j in range(int(ci), 8) if j % 3 != 0) for ci in c]
    expected_maj = np.mean([1.0 if ci > w else 0.5 if ci == w else 0.0 for ci, w in zip(c, wrong_answered)])
    assert r["maj@k"]["8"] == pytest.approx(expected_maj, abs=1e-6)
    assert r["greedy"] == pytest.approx(np.mean(c > 0), abs=1e-6)
    no_answer = np.mean([j % 3 == 0 and j >= ci for ci in c for j in range(8)])
    assert r["no_answer_rate"] == pytest.approx(no_answer, abs=1e-6)
    assert set(r["ci95"]) == {"pass@k", "maj@k", "avg@n", "greedy", "no_answer_rate", "length_mean"}
    assert set(r["length"]) == {"mean", "median", "p95", "max", "mean_correct", "mean_incorrect"}
    assert set(r["by_subject"]) == {"algebra", "geometry"} and r["by_subject"]["algebra"]["problems"] == 3
    assert set(r["by_level"]) == {"1", "2", "3"}
    assert "by_subject" not in r["by_subject"]["algebra"]


def test_two_models_report_files(tmp_path):
    base = make_samples("base", "gsm8k", [0.0, 0.25, 0.5, 0.5, 0.125, 0.0, 0.875, 0.25])
    trained = make_samples("trained", "gsm8k", [0.25, 0.5, 0.75, 0.5, 0.5, 0.0, 1.0, 0.5], seed=1)
    other = make_samples("base", "aime2024", [0.125, 0.0, 0.0])
    results = write_report(tmp_path, base + trained + other, greedy_of(base + trained), KS)
    data = json.loads((tmp_path / "results.json").read_text())
    assert list(data) == ["base", "trained"]
    assert list(data["base"]) == ["gsm8k", "aime2024"] and list(data["trained"]) == ["gsm8k"]
    assert "greedy" not in data["base"]["aime2024"]  # no greedy records for it
    report = (tmp_path / "report.md").read_text()
    assert "## gsm8k" in report and "## aime2024" in report
    assert "| k | pass@k base | maj@k base | pass@k trained | maj@k trained |" in report
    assert "Paired difference against base" in report
    assert (tmp_path / "passk.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    diff = compare(results["base"]["gsm8k"].scores, results["trained"]["gsm8k"].scores)
    assert diff["avg@n"].mean_diff == pytest.approx(0.1875) and diff["avg@n"].lo > 0
    scores_b, scores_t = results["base"]["gsm8k"].scores, results["trained"]["gsm8k"].scores
    alone = paired_bootstrap_diff(scores_b.column("maj@4"), scores_t.column("maj@4"))
    # Equal up to summation order: maj@k values are not exact binary fractions.
    assert (diff["maj@4"].mean_diff, diff["maj@4"].lo, diff["maj@4"].hi) == pytest.approx((alone.mean_diff, alone.lo, alone.hi), abs=1e-12)
    metrics = flat_metrics(results)
    assert metrics["eval/trained/gsm8k/pass@1"] == pytest.approx(0.5)
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())


def test_incomplete_or_too_small_samples_are_refused():
    samples = make_samples("", "math500", [0.5, 0.5])
    with pytest.raises(RlvrError, match="problem p1 has 7 samples"):
        summarise(samples[:-1], ks=KS)
    with pytest.raises(RlvrError, match="k=16 exceeds the 8 samples"):
        summarise(samples, ks=[1, 16])


def test_results_json_is_deterministic():
    samples = make_samples("", "math500", [0.5, 0.25, 1.0, 0.0])
    assert results_json(summarise(samples, ks=KS)) == results_json(summarise(samples, ks=KS))


def test_resume_skips_done_samples_and_repairs_a_torn_line(tmp_path):
    path = tmp_path / "samples.jsonl"
    samples = make_samples("m", "gsm8k", [0.5, 0.25])
    done, writer = open_samples(path)
    assert done == []
    with writer:
        write_samples(writer, samples[:5])
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(samples[5].to_record())[:40])  # the crash: half a line
    done, writer = open_samples(path)
    assert {s.key for s in done} == {s.key for s in samples[:5]}
    assert ("m", "gsm8k", "p0", 4) in {s.key for s in done}
    with writer:
        write_samples(writer, [s for s in samples if s.key not in {d.key for d in done}])
    assert read_samples(path) == samples
    assert EvalSample.from_record(json.loads(path.read_text().splitlines()[0])) == samples[0]


def test_sample_records_are_validated(tmp_path):
    record = make_samples("", "gsm8k", [1.0], n=1)[0].to_record()
    assert "subject" not in record and record["extracted"] == "1"
    with pytest.raises(RlvrError, match="missing field"):
        EvalSample.from_record({k: v for k, v in record.items() if k != "correct"})
    with pytest.raises(RlvrError, match="'correct' must be bool"):
        EvalSample.from_record({**record, "correct": 1})
    path = tmp_path / "samples.jsonl"
    path.write_text(json.dumps(record) + "\n" + json.dumps(record) + "\n")
    with pytest.raises(RlvrError, match="repeats sample"):
        read_samples(path)
