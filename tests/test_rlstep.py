"""The RL step: algorithms declare what they need (registry traits), make_experience's KL-in-reward
under group normalisation, and mini-batch PPO on the tiny model."""

from __future__ import annotations

import pytest
import torch
from conftest import UPDATING, train_args

from rlvr.algorithms.advantages import ADVANTAGE_ESTIMATORS, AdvantageInput, AdvantageOutput, compute_advantages
from rlvr.algorithms.config import AlgorithmConfig
from rlvr.algorithms.kl import kl_reward
from rlvr.algorithms.losses import POLICY_LOSSES, PolicyLossConfig
from rlvr.errors import ConfigError, RlvrError
from rlvr.registry import Registry
from rlvr.rollout.experience import algorithm_needs


@pytest.fixture
def scratch_registries(monkeypatch):
    """Plug-ins registered by a test disappear after it."""
    for reg in (ADVANTAGE_ESTIMATORS, POLICY_LOSSES):
        monkeypatch.setattr(reg, "_items", dict(reg._items))
        monkeypatch.setattr(reg, "_traits", dict(reg._traits))


def test_registry_traits_are_declared_at_registration():
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Traits:
        fast: bool = False

    reg: Registry = Registry("widget", traits=Traits)
    reg.register("a", object(), fast=True)
    reg.register("b", object())
    assert reg.traits("a").fast and not reg.traits("b").fast
    with pytest.raises(RlvrError, match="unknown widget 'c'"):
        reg.traits("c")
    with pytest.raises(TypeError):
        Registry("plain").register("x", object(), fast=True)  # a registry without traits takes none


def test_needs_come_from_traits_not_names(scratch_registries):
    def values_estimator(inp: AdvantageInput) -> AdvantageOutput:
        return AdvantageOutput(inp.values * inp.response_mask, None)

    ADVANTAGE_ESTIMATORS.register("my_critic_estimator", values_estimator, needs_values=True)
    POLICY_LOSSES.register("my_ref_loss", POLICY_LOSSES.get("sft"), needs_ref_logprobs=True)
    # a plug-in estimator that declares it needs values gets a critic, as gae does
    assert algorithm_needs(AlgorithmConfig(estimator="my_critic_estimator")).critic
    assert algorithm_needs(AlgorithmConfig(estimator="gae")).critic
    assert not algorithm_needs(AlgorithmConfig(estimator="grpo")).critic
    # a loss that reads reference logprobs gets a reference model without any KL coefficient
    assert algorithm_needs(AlgorithmConfig(loss=PolicyLossConfig(name="my_ref_loss"))).reference
    assert not algorithm_needs(AlgorithmConfig()).reference
    # the sampling-time logprobs need a pass of their own only once the policy moves within the update
    assert not algorithm_needs(AlgorithmConfig()).old_logprobs
    assert algorithm_needs(AlgorithmConfig(mini_batches=4)).old_logprobs
    assert algorithm_needs(AlgorithmConfig(epochs=2, loss=PolicyLossConfig(name="gspo"))).old_logprobs
    assert not algorithm_needs(AlgorithmConfig(epochs=2, loss=PolicyLossConfig(name="sft"))).old_logprobs  # SFT has no ratio
    kl = algorithm_needs(AlgorithmConfig(kl_reward_coef=0.01))
    assert kl.reference and kl.old_logprobs


def _train_config(*overrides: str):
    from rlvr.config import load_config
    from rlvr.training.rl import TrainConfig

    return load_config(TrainConfig, "train", None, list(overrides))


def test_selection_declares_its_loss_and_mini_batches_keep_groups_whole(tmp_path):
    with pytest.raises(ConfigError, match="select: rft trains with the sft loss; set algorithm.loss.name=sft"):
        _train_config("algorithm.select=rft")
    with pytest.raises(ConfigError, match=r"algorithm.mini_batches \(3\) must divide rollout.prompts_per_step \(16\)"):
        _train_config("algorithm.mini_batches=3")
    cfg = _train_config("algorithm.mini_batches=4", "algorithm.epochs=2", "schedule.steps=10")
    assert cfg.optimizer_steps == 80  # the learning-rate schedule counts every mini-batch of every epoch


def test_kl_reward_in_an_all_correct_group_stays_small():
    """GRPO with KL-in-reward: a group whose verifier rewards are all equal has only the KL penalty
    to go on, and that must keep its size (coef x KL), not be divided by its own tiny std into
    advantages of order 1 (it was about +-1.1 at coef 0.001)."""
    gen = torch.Generator().manual_seed(0)
    n, t = 8, 40
    mask = torch.ones(2 * n, t)
    logprobs = -torch.rand(2 * n, t, generator=gen) * 3
    ref = logprobs + torch.randn(2 * n, t, generator=gen) * 0.5  # realistic per-token drift from the reference
    token_rewards = kl_reward(logprobs, ref, mask, coef=0.001)
    rewards = torch.cat([torch.ones(n), torch.tensor([1.0, 0.0] * (n // 2))])  # group 0 all correct, group 1 mixed
    group_ids = torch.tensor([0] * n + [1] * n)
    out = compute_advantages("grpo", AdvantageInput(rewards=rewards, group_ids=group_ids, response_mask=mask, token_rewards=token_rewards))
    per_seq = out.advantages[:, 0]
    penalty = (token_rewards * mask).sum(-1)
    assert per_seq[:n].abs().max() < 0.05  # of the order of coef * sum_t KL_t, not 1
    assert torch.allclose(per_seq[:n], penalty[:n] - penalty[:n].mean(), atol=1e-6)
    # the mixed group keeps its normalised right/wrong signal (+-0.935 for 4 of 8), shifted by its own centred penalty
    signal = per_seq[n:] - (penalty[n:] - penalty[n:].mean())
    assert torch.allclose(signal.abs(), torch.full((n,), 0.5 / (8 / 7 * 0.25) ** 0.5), atol=1e-5)


# ----------------------------------------------------------------------------- mini-batch PPO on the tiny model


def test_mini_batches_take_one_optimizer_step_each_against_the_sampling_policy(tmp_path):
    """One batch trained as one mini-batch sees ratio exactly 1 (the policy has not moved since
    sampling); as four, the later mini-batches see the policy the earlier ones moved, against the
    sampling-time logprobs: the ratio leaves 1 and the clip acts. Four optimizer steps, one version."""
    from rlvr.rollout.experience import build_experience
    from rlvr.training.rl import Trainer

    cfg = _train_config(
        f"run.output_dir={tmp_path / 'rl'}",
        *train_args(
            *UPDATING,
            "rollout.max_tokens=48",
            "learner.micro_batch_size=8",
            "eval.before_after=false",
            "run.save_every=0",
            "algorithm.mini_batches=4",
            "optim.lr=0.02",
            "algorithm.loss.clip_low=0.05",
            "algorithm.loss.clip_high=0.05",
        ),
    )
    trainer = Trainer(cfg)
    try:
        batch = trainer.collect(0, trainer.generator_version)
        assert len(batch.groups) == 4, "dynamic sampling must fill the batch for this test"
        exp = build_experience(
            batch.groups,
            batch.prompt_ids,
            list(range(4)),
            trainer.tokenizer.eos_token_id,
            trainer.tokenizer.pad_token_id,
            cfg.algorithm.mask_truncated,
        )
        cfg.algorithm.mini_batches = 1  # the same batch as a single mini-batch (the old logprobs pass still runs)
        whole = trainer.update(exp)
        assert trainer.learner.step_count == 1
        assert whole["ratio_max"] == 1.0 and whole["clip_frac"] == 0.0
        cfg.algorithm.mini_batches = 4
        split = trainer.update(exp)
        assert trainer.learner.step_count == 5  # one optimizer step per mini-batch
        assert split["ratio_max"] > 1.0 and split["clip_frac"] > 0.0
    finally:
        trainer.close()
