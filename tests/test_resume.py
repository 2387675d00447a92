"""Resume is exact for every algorithm (issue 12, failure 5): a run resumed from its step-1
checkpoint ends with bitwise the weights and the per-step losses of the uninterrupted run.

Plain GRPO is tests/test_train.py::test_resume_continues_from_the_last_checkpoint; the 2-rank
resume is tests/test_train_distributed.py (it checks that each rank's stream continues, not yet
bitwise equality with an uninterrupted 2-rank run). Each case here is the smallest run that updates: two
trainer steps, the second one after the resume. The uninterrupted runs also serve the tests of what
each variant logs and trains (one engine start fewer per variant than a run of their own)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from conftest import UPDATING, train_args
from safetensors.torch import load_file

from rlvr.cli import main
from rlvr.models.load import resolve_model_path

TINY = train_args(
    *UPDATING,
    "rollout.max_tokens=48",
    "eval.before_after=false",
    "run.save_every=1",
    "run.keep_checkpoints=0",
    "schedule.steps=2",
)

CASES = {
    # epochs 2 (two optimizer steps per trainer step: the saved counter used to be read as trainer
    # steps) and a critic whose value head must survive the checkpoint
    "ppo": ("tiny-arith-ppo", []),
    "rft": ("tiny-arith-rft", []),
    # GRPO with epochs 2 too: the counter again, in the loop where the learner's version runs ahead
    # of the batch being generated (one run for both: each resume costs two engine starts)
    "async-epochs2": ("tiny-arith", ["rollout.max_staleness=1", "algorithm.epochs=2"]),
    # every step updates and moves the weights (an entropy bonus has a gradient even when a step's
    # groups all have equal rewards), so every step's sync carries new weights
    "lora": (
        "tiny-arith",
        ["learner.lora.rank=4", "optim.lr=1e-2", "optim.warmup_steps=0", "algorithm.dynamic_sampling=false", "algorithm.loss.entropy_coef=0.01"],
    ),
}


def _rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def _argv(case: str) -> list[str]:
    config, extra = CASES[case]
    return ["train", "--config", config, *TINY, *extra]


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """``straight(case)``: the output directory of the case's uninterrupted run, run once for every test that reads it."""
    runs: dict[str, Path] = {}

    def run(case: str) -> Path:
        if case == "lora":
            pytest.importorskip("peft", reason="LoRA needs the lora extra (scripts/install.sh installs it)")
        if case not in runs:
            out = tmp_path_factory.mktemp(case) / "straight"
            assert main([*_argv(case), f"run.output_dir={out}"]) == 0
            runs[case] = out
        return runs[case]

    return run


@pytest.mark.parametrize("case", list(CASES))
def test_resume_equals_uninterrupted(tmp_path, straight, case):
    straight = straight(case)
    resumed = tmp_path / "resumed"
    # the same run, interrupted after step 1: its directory as it was then
    shutil.copytree(straight, resumed, ignore=shutil.ignore_patterns("step_000002", "final", "summary.json"))
    (resumed / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in _rows(straight / "metrics.jsonl") if r["step"] == 1))
    assert main([*_argv(case), f"run.output_dir={resumed}", "--resume"]) == 0

    rows, reference = _rows(resumed / "metrics.jsonl"), _rows(straight / "metrics.jsonl")
    assert [r["step"] for r in rows] == [1, 2]
    assert [r.get("loss") for r in rows] == [r.get("loss") for r in reference]
    assert [r.get("lr") for r in rows] == [r.get("lr") for r in reference]
    a, b = load_file(resumed / "final" / "model.safetensors"), load_file(straight / "final" / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    if case == "ppo":  # the critic the resume restored is covered by the verified manifest
        manifest = json.loads((straight / "checkpoints" / "step_000001" / "manifest.json").read_text())
        assert {"critic/optimizer_rank0.pt", "critic/model/model.safetensors"} <= manifest["files"].keys()
    step1 = load_file(straight / "checkpoints" / "step_000001" / "model" / "model.safetensors")
    assert any(not torch.equal(a[k], step1[k]) for k in a), "the resumed step must have updated the weights"


@pytest.mark.parametrize("case,metric", [("rft", "rft_selected"), ("ppo", "critic_grad_norm")])
def test_variant_algorithms_log_their_metrics(straight, case, metric):
    assert metric in _rows(straight(case) / "metrics.jsonl")[-1]


def test_lora_trains_adapters_and_syncs_merged_weights(tmp_path, straight):
    """LoRA: only the adapted projections change, the generator gets the merged weights (the
    verified sync after every step would stop the run otherwise), and final/ holds plain weights."""
    out = straight("lora")
    base = load_file(Path(resolve_model_path("tiny-arith")) / "model.safetensors")
    final = load_file(out / "final" / "model.safetensors")
    assert final.keys() == base.keys()  # no lora_ or base_layer names leak out
    changed = {k for k in base if not torch.equal(base[k], final[k])}
    assert changed and all(k.endswith("proj.weight") for k in changed), changed
    assert all(r.get("sync_seconds", 0) > 0 for r in _rows(out / "metrics.jsonl"))
    # LoRA merges into whole weights: ZeRO-3 shards are refused up front, naming the key
    assert main(["train", f"run.output_dir={tmp_path / 'z3'}", *train_args("learner.lora.rank=4", "learner.zero_stage=3")]) == 2
