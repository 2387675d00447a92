"""`rlvr dpo` on the bundled tiny model: one update's direction, offline runs from files, an online
round end to end, and bad input as one line."""

from __future__ import annotations

import json

import pytest

from rlvr.cli import main
from rlvr.data.preferences import LabeledCompletion, PreferencePair

# 12 prompts (two pairs each): with eval_fraction 0.3 some prompts are held out, most train
PAIRS = [
    {"id": f"p{i}", "prompt": f"{a}+{b}=?\n", "chosen": f"{a}+{b}={a + b}\nAnswer: {a + b}", "rejected": f"{a}+{b}={a + b + d}\nAnswer: {a + b + d}"}
    for i, (a, b) in enumerate([(12, 30), (7, 8), (40, 2), (3, 3), (25, 25), (9, 1), (14, 6), (33, 4), (5, 50), (21, 21), (8, 17), (60, 9)])
    for d in (1, 10)
]
QUICK = ["run.progress=false", "learner.backend=torch", "learner.micro_batch_size=8", "optim.lr=1e-3"]


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_one_step_raises_the_chosen_margin():
    """Gradient direction: after one DPO step the policy prefers the chosen completions more."""
    from rlvr.algorithms.preference import PreferenceLossConfig
    from rlvr.models.load import load_model, load_tokenizer, resolve_model_path
    from rlvr.training.learner import LearnerConfig, OptimConfig, build_learner
    from rlvr.training.preference import PreferenceUpdate

    path = resolve_model_path("tiny-arith")
    tok = load_tokenizer(path)
    learner = build_learner(load_model(path), LearnerConfig(backend="torch", micro_batch_size=4), OptimConfig(lr=1e-3), total_steps=1)
    ref = load_model(path).eval()
    update = PreferenceUpdate(learner, ref, PreferenceLossConfig(name="dpo", beta=0.1), tok, max_len=64)
    batch, skipped = update.encode([PreferencePair(r["prompt"], r["chosen"], r["rejected"], r["id"]) for r in PAIRS[:6]])
    assert skipped == 0 and len(batch) == 6
    before = update.evaluate(batch)
    assert before["val_loss"] == pytest.approx(0.6931, abs=1e-4)  # the policy is the reference: log 2
    metrics = update.step(batch)
    after = update.evaluate(batch)
    assert metrics["grad_norm"] > 0
    assert after["val_reward_margin"] > 0 and after["val_loss"] < before["val_loss"]
    # KTO on the same completions, unpaired: z0 is a step-wide number, never negative
    kto = PreferenceUpdate(learner, ref, PreferenceLossConfig(name="kto"), tok, max_len=64)
    labelled, _ = kto.encode([LabeledCompletion(r["prompt"], r["chosen" if i % 2 else "rejected"], bool(i % 2)) for i, r in enumerate(PAIRS[:6])])
    out = kto.step(labelled)
    assert out["kl_z0"] >= 0 and "reward_desirable" in out and "reward_undesirable" in out


def test_offline_dpo_and_kto_from_files(tmp_path):
    pairs = _write(tmp_path / "pairs.jsonl", PAIRS)
    out = tmp_path / "dpo"
    common = [f"data.pairs={pairs}", "data.eval_fraction=0.3", "schedule.steps=3", "schedule.batch_size=4", "schedule.eval_every=2", *QUICK]
    assert main(["dpo", "--config", "tiny-arith-offline", f"run.output_dir={out}", *common]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 3 and summary["train_examples"] + summary["heldout_examples"] == len(PAIRS)
    assert 0 < summary["heldout_examples"] < len(PAIRS)
    assert summary["heldout_loss_after"] < summary["heldout_loss_before"]
    rows = _rows(out / "metrics.jsonl")
    assert [r["step"] for r in rows] == [1, 2, 3]
    assert {"loss", "reward_chosen", "reward_rejected", "reward_margin", "preference_accuracy", "grad_norm"} <= rows[0].keys()
    assert "val_preference_accuracy" in rows[1] and "val_preference_accuracy" in rows[2]  # every 2 steps and after the last
    assert (out / "final" / "model.safetensors").exists() and (out / "dpo_curves.png").exists()
    # KTO reads the same pairs file as labels (chosen good, rejected bad); SimPO loads no reference
    for loss in ("kto", "simpo"):
        run = tmp_path / loss
        assert main(["dpo", "--config", "tiny-arith-offline", f"run.output_dir={run}", f"loss.name={loss}", *common, "schedule.steps=1"]) == 0
        last = _rows(run / "metrics.jsonl")[-1]
        assert ("kl_z0" in last) if loss == "kto" else ("reward_margin" in last)


def test_online_round_end_to_end(tmp_path):
    """Two rounds of iterative DPO: sample, verify, pair, update, sync; held-out pass@1 before and after."""
    out = tmp_path / "online"
    argv = [
        "dpo",
        f"run.output_dir={out}",
        "generator.name=hf",
        "rollout.prompts_per_round=2",
        "rollout.n=4",
        # the easy curriculum the model was fine-tuned on: some samples right, some wrong, so the rounds have pairs
        "data.dataset.options={level: easy}",
        "eval.dataset.options={level: easy}",
        "rollout.max_tokens=40",
        "rollout.max_refill_rounds=1",
        "rollout.updates_per_round=2",
        "eval.num_problems=4",
        "eval.samples=0",
        "schedule.steps=2",
        "schedule.max_seconds=0",
        "reference=round",
        *QUICK,
    ]
    assert main(argv) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 2 and {"pass@1_before", "pass@1_after", "ci95"} <= summary.keys()
    rows = _rows(out / "metrics.jsonl")
    assert [r["step"] for r in rows] == [1, 2] and all("accuracy" in r for r in rows)
    trained = [r for r in rows if "skipped_update" not in r]
    assert trained and all({"examples", "loss", "reward_margin", "preference_accuracy", "sync_seconds"} <= r.keys() for r in trained)
    assert (out / "final" / "model.safetensors").exists() and (out / "dpo_curves.png").exists()
    assert "online: true" in (out / "config.yaml").read_text()  # the dpo config is recorded, not the trainer's view


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["data.pairs=/nonexistent/pairs.jsonl", "online=false"], "/nonexistent/pairs.jsonl: no such file"),
        (["online=false", "loss.name=kto"], "loss.name=kto learns from labelled completions: set data.labels"),
        (["online=false"], "loss.name=dpo needs data.pairs"),
        (["loss.name=simpo", "reference=round"], "loss.name=simpo is reference-free"),
        (["online=false", "loss.name=dpo", "data.labels=x.jsonl"], "only kto learns from"),
        (["data.pairs=x.jsonl"], "online: true samples its own pairs"),
    ],
)
def test_bad_input_is_one_line(tmp_path, capsys, args, message):
    assert main(["dpo", f"run.output_dir={tmp_path / 'r'}", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("rlvr dpo: error:") and message in err[0], err


def test_kto_given_nothing_labelled_is_one_line(tmp_path, capsys):
    empty = _write(tmp_path / "labels.jsonl", [])
    assert main(["dpo", "online=false", "loss.name=kto", f"data.labels={empty}", f"run.output_dir={tmp_path / 'r'}", *QUICK]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no labelled completions" in err[0], err


def test_every_dpo_config_field_is_documented():
    from rlvr import config as C
    from rlvr.training.preference import DPOConfig

    assert not [key for key, _, help_text in C.describe(DPOConfig) if not help_text.strip()]
    assert all(not C.load_config(DPOConfig, "dpo", name).run.overwrite for name in C.builtin_configs("dpo"))
