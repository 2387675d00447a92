"""Learned rewards: the reward model, the composite's gates, and the over-optimisation measurement
and guard of ``rlvr train`` (a reward model built here from the bundled tiny model)."""

from __future__ import annotations

import json
import typing

import pytest
import torch

from rlvr import config as C
from rlvr.cli import main
from rlvr.data import Problem
from rlvr.errors import ConfigError, RlvrError
from rlvr.rewards import RewardContext, RewardInput, build_reward
from rlvr.rewards.config import RewardConfig, RewardModelConfig, RewardTerm
from rlvr.training.overoptimisation import gaming
from rlvr.training.rl import TrainConfig
from rlvr.verifiers import Verdict

QUICK = [
    "rollout.prompts_per_step=2",
    "rollout.n=4",
    "rollout.max_tokens=32",
    "learner.micro_batch_size=8",
    "eval.num_problems=6",
    "eval.samples=0",
    "schedule.max_seconds=0",
    "run.progress=false",
    "run.save_every=0",
]


@pytest.fixture(scope="module")
def rm_dir(tmp_path_factory):
    """A one-label sequence-classification model on the tiny model's transformer (random score head)."""
    from transformers import AutoModelForSequenceClassification

    from rlvr.models.load import load_tokenizer, resolve_model_path

    d = tmp_path_factory.mktemp("rm")
    torch.manual_seed(0)
    AutoModelForSequenceClassification.from_pretrained(resolve_model_path("tiny-arith"), num_labels=1).save_pretrained(d)
    load_tokenizer("tiny-arith").save_pretrained(d)
    return d


def _input(answer: str | None, correct: bool, response: str = " 3", truncated: bool = False) -> RewardInput:
    return RewardInput(Problem("p", "1+2=?", answer), "Q: 1+2=?\nA:", response, Verdict(correct, "3", "ok"), 3, truncated)


def _rm_config(rm_dir, **kw) -> RewardConfig:
    return RewardConfig(model=RewardModelConfig(path=str(rm_dir), batch_size=2), **kw)


def test_reward_model_reads_the_last_token_in_batches(rm_dir):
    reward = build_reward(_rm_config(rm_dir, name="reward_model"), RewardContext(None, None, 32))
    batch = [_input("3", True), _input("3", False, " 12+34=46 so 4", truncated=True), _input("3", False, " 5")]
    out = reward(batch)
    # padded batches of two score as each sequence alone through HF's own pooling (no padding there)
    with torch.no_grad():
        alone = []
        for x in batch:
            ids = reward.tokenizer(x.prompt).input_ids + reward.tokenizer(x.response, add_special_tokens=False).input_ids
            ids += [] if x.truncated else [reward.tokenizer.eos_token_id]  # a finished completion ends on EOS
            alone.append(float(reward.model(torch.tensor([ids])).logits[0, 0]))
    assert out.rewards == pytest.approx(alone, abs=1e-5)
    assert out.metrics["rm_sequences"] == 3 and out.metrics["rm_score_mean"] == pytest.approx(sum(alone) / 3, abs=1e-5)
    assert out.metrics["rm_tokens"] > 3 * 5
    reward.close()


def test_composite_counts_each_term_where_its_gate_holds(rm_dir):
    terms = [
        RewardTerm(name="verifier", weight=2.0, when="keyed"),
        RewardTerm(name="reward_model", weight=0.5, when="unkeyed"),
        RewardTerm(name="reward_model", weight=1.0, when="correct"),
    ]
    cfg = _rm_config(rm_dir, name="composite", terms=terms)
    ctx = RewardContext(None, None, 32)
    reward = build_reward(cfg, ctx)
    out = reward([_input("3", True), _input("3", False), _input(None, False)])
    rm = build_reward(_rm_config(rm_dir, name="reward_model"), ctx)([_input("3", True)]).rewards[0]  # the same text in every row
    assert out.rewards == pytest.approx([2.0 + rm, 0.0, 0.5 * rm], abs=1e-5)
    # each term's costs under its name, with its index where the name repeats: each RM term scored one row
    assert out.metrics["reward_model1/rm_sequences"] == 1 and out.metrics["reward_model2/rm_sequences"] == 1
    assert cfg.learned() and not RewardConfig(name="composite", terms=terms[:1]).learned()
    reward.close()


def test_composite_gates_are_the_documented_choices():
    from rlvr.rewards.composite import GATES

    assert set(GATES) == set(typing.get_args(typing.get_type_hints(RewardTerm)["when"]))


@pytest.mark.parametrize(
    "overrides,needle",
    [
        (["reward.name=reward_model"], "reward: model.path: the reward_model reward needs"),
        (["reward.name=composite"], "a composite reward needs at least one term"),
        (["reward.name=composite", "reward.terms=[{name: composite}]"], "cannot itself be a composite"),
        (["reward.terms=[{name: verifier}]"], "only read by name: composite"),
        (["reward.guard.action=stop"], "set eval.every > 0"),
        (["reward.guard.action=keep_best", "eval.every=5"], "reward 'verifier' cannot be gamed"),
    ],
)
def test_bad_reward_configs_fail_at_load(overrides, needle):
    with pytest.raises(ConfigError, match=needle):
        C.load_config(TrainConfig, "train", "tiny-arith", overrides)


def test_bad_reward_model_path_is_one_line(tmp_path, capsys):
    from rlvr.models.load import resolve_model_path

    with pytest.raises(RlvrError, match="is not a one-label sequence-classification model"):
        build_reward(_rm_config(resolve_model_path("tiny-arith"), name="reward_model"), RewardContext(None, None, 32))
    # rlvr train refuses before it starts any engine
    argv = ["train", "reward.name=reward_model", f"reward.model.path={tmp_path / 'nope'}", f"run.output_dir={tmp_path / 'rl'}", *QUICK]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "reward.model.path: no such directory" in err and len(err.splitlines()) == 1


def test_guard_fires_when_heldout_falls_while_the_proxy_rises():
    evals = [(10, 0.40), (20, 0.50), (30, 0.44), (40, 0.41)]
    rising = [(s, s / 100) for s in range(1, 41)]
    falling = [(s, 1 - s / 100) for s in range(1, 41)]
    view = gaming(evals, rising, patience=2, min_drop=0.02)
    assert view.fired and (view.best_step, view.best, view.below) == (20, 0.50, 2)
    assert not gaming(evals, falling, patience=2, min_drop=0.02).fired  # ordinary instability, not gaming
    assert not gaming(evals, rising, patience=3, min_drop=0.02).fired  # only two evaluations below the best
    assert not gaming(evals, rising, patience=2, min_drop=0.07).fired  # 0.44 is within 0.07 of the best
    # a recovery resets the count: the evaluations below the best must be the latest ones in a row
    assert not gaming([*evals[:3], (40, 0.50), (50, 0.45)], rising, patience=2, min_drop=0.02).fired


def _rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_train_with_a_reward_model_logs_proxy_and_accuracy_and_keeps_the_best(tmp_path, rm_dir):
    out = tmp_path / "rl"
    argv = ["train", "reward.name=reward_model", f"reward.model.path={rm_dir}", "reward.guard.action=keep_best", "eval.every=1"]
    # truncated completions are trained on, so that the second step surely moves the weights
    assert main([*argv, "schedule.steps=2", "algorithm.mask_truncated=false", f"run.output_dir={out}", *QUICK]) == 0
    rows = _rows(out / "metrics.jsonl")
    assert [r["step"] for r in rows] == [1, 2]
    for r in rows:
        assert {"reward/rm_score_mean", "sampled_reward_mean", "accuracy"} <= set(r)
        assert r["reward/rm_sequences"] >= 8  # every completion of the step was scored (refills add more)
    assert "guard/best_heldout" in rows[0]  # the evaluation after step 1 (after the last comes the final one)
    assert (out / "reward_gaming.png").stat().st_size > 0 and (out / "train_curves.png").exists()
    guard = json.loads((out / "summary.json").read_text())["guard"]
    assert guard == {
        "action": "keep_best",
        "evaluations": 1,
        "fired_step": None,
        "best_step": 1,
        "best_heldout_greedy": guard["best_heldout_greedy"],
        "fired": False,
    }
    # keep_best publishes the best held-out checkpoint (step 1) as final/, not the last step's weights
    final = (out / "final" / "model.safetensors").read_bytes()
    assert final == (out / "best" / "model.safetensors").read_bytes()
    assert final != (out / "checkpoints" / "step_000002" / "model" / "model.safetensors").read_bytes()


def test_a_stage_that_asks_to_stop_ends_the_run_checkpointed(tmp_path, monkeypatch):
    """The loop's stop hook (what reward.guard.action=stop uses), on the cheapest stage."""
    from conftest import pretrain_args

    from rlvr.training.supervised import SupervisedStage

    monkeypatch.setattr(SupervisedStage, "scheduled_eval", lambda self, step, last: {"stop": True} if step == 2 else {})
    out = tmp_path / "run"
    argv = ["pretrain", *pretrain_args(tmp_path), f"run.output_dir={out}", "schedule.steps=6", "run.save_every=0", "run.log_every=10"]
    assert main(argv) == 0
    assert json.loads((out / "summary.json").read_text())["steps"] == 2
    assert [r["step"] for r in _rows(out / "metrics.jsonl")] == [2]  # the stopping step is logged (log_every 10)
    assert [p.name for p in (out / "checkpoints").iterdir()] == ["step_000002"]
    assert (out / "final" / "model.safetensors").exists()


def test_rows_without_an_answer_key_load_only_when_allowed(tmp_path):
    from rlvr.data import DatasetConfig, load_problems

    data = tmp_path / "mixed.jsonl"
    data.write_text('{"id": "k", "question": "1+2=?", "answer": "3"}\n{"id": "u", "question": "Write a haiku about 7."}\n')
    with pytest.raises(RlvrError, match=r"mixed.jsonl:2: no answer"):
        load_problems(DatasetConfig(name="jsonl", path=str(data)))
    problems = load_problems(DatasetConfig(name="jsonl", path=str(data), require_answer=False))
    assert [(p.id, p.answer) for p in problems] == [("k", "3"), ("u", None)]


def test_unkeyed_completions_skip_the_verifier_and_the_verifier_reward_refuses_them():
    from rlvr.generation.base import Completion
    from rlvr.prompts import get_template
    from rlvr.rollout.sample import unkeyed_verdict, verify_requests

    template = get_template("arith")
    keyed, unkeyed = Problem("k", "1+2=?", "3"), Problem("u", "a haiku?", None)
    done = Completion(0, [5, 6], [-0.1, -0.2], " 1+2=3\nAnswer: 3", "stop")
    assert [r.answer for r in verify_requests([keyed, unkeyed], [[done], [done, done]], template)] == ["3"]
    assert unkeyed_verdict(done, template) == Verdict(False, "3", "no_key")
    with pytest.raises(RlvrError, match="problem 'p' has no answer key; in a composite, gate the verifier with when: keyed"):
        build_reward(RewardConfig(), RewardContext(None, template, 32))([_input("3", True), _input(None, False)])


@pytest.mark.parametrize(
    "overrides,needle",
    [
        (["data.require_answer=false"], "reward 'verifier' cannot score"),
        (["eval.dataset.require_answer=false"], "evaluation checks answers against their keys"),
    ],
)
def test_unkeyed_data_needs_a_learned_reward_and_never_evaluates(overrides, needle):
    with pytest.raises(ConfigError, match=needle):
        C.load_config(TrainConfig, "train", "tiny-arith", overrides)
