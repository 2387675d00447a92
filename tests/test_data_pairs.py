"""``rlvr data pairs``: sampled, verified, paired; the files it writes and its one-line errors."""

from __future__ import annotations

import json

import pytest

from rlvr.cli import main
from rlvr.data import DatasetConfig, load_problems
from rlvr.data.preferences import load_labels, load_pairs
from rlvr.prompts import get_template
from rlvr.verifiers import verify


def test_pairs_prefer_verified_completions(tmp_path, capsys):
    out, labels = tmp_path / "pairs.jsonl", tmp_path / "labels.jsonl"
    rc = main(
        [
            "data", "pairs", "arith", "--split", "train", "--option", "level=hard", "--num-problems", "6", "--n", "6",
            "--max-tokens", "48", "--generator", "hf", "--max-pairs-per-prompt", "4", "--out", str(out), "--labels", str(labels),
        ]
    )  # fmt: skip
    assert rc == 0
    summary = capsys.readouterr().out.strip().splitlines()[-1]
    pairs, labelled = load_pairs(out), load_labels(labels)
    assert "6 problems, 36 samples" in summary and f"{len(pairs)} pairs" in summary
    assert len(labelled) == 36
    assert all(set(json.loads(line)) == {"prompt", "chosen", "rejected", "id"} for line in out.read_text().splitlines())  # what rm and dpo read
    problems = {p.id: p for p in load_problems(DatasetConfig(name="arith", split="train", options={"level": "hard"}, limit=6))}
    template = get_template("arith")
    assert pairs, "the tiny model solves some hard problems and fails others: there must be pairs"
    for p in pairs:
        problem = problems[p.id]
        assert p.prompt == template.render(problem)
        assert verify(p.chosen, problem.answer, marker=template.answer_marker).correct
        assert not verify(p.rejected, problem.answer, marker=template.answer_marker).correct
    per_prompt = {i: sum(p.id == i for p in pairs) for i in problems}
    assert max(per_prompt.values()) <= 4
    for x in labelled:
        assert verify(x.completion, problems[x.id].answer, marker=template.answer_marker).correct == x.label
    unpaired = sum(n == 0 for n in per_prompt.values())
    assert f"{unpaired} prompts with no pair" in summary


@pytest.mark.parametrize(
    "args,needle",
    [
        (["nosuchdataset"], "nosuchdataset"),
        (["arith", "--model", "/nonexistent/model"], "model path not found: /nonexistent/model"),
        (["arith", "--generator", "nosuchengine"], "nosuchengine"),
    ],
)
def test_bad_input_is_one_line_error(tmp_path, capsys, args, needle):
    rc = main(["data", "pairs", *args, "--out", str(tmp_path / "p.jsonl")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and needle in err, err
    assert not (tmp_path / "p.jsonl").exists()
