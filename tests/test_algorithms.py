"""Advantage estimators, KL estimators, batch shaping and logprob helpers against hand-computed values."""

from __future__ import annotations

import math

import pytest
import torch

from rlvr.algorithms.advantages import (
    ADVANTAGE_ESTIMATORS,
    AdvantageInput,
    compute_advantages,
    discounted_returns,
    group_statistics,
    masked_whiten,
)
from rlvr.algorithms.kl import KL_ESTIMATORS, kl_divergence, kl_reward
from rlvr.algorithms.logprobs import entropy_from_logits, logprobs_from_logits
from rlvr.algorithms.sampling import (
    completion_mask,
    dynamic_sampling_mask,
    mask_truncated,
    overlong_penalty,
    rejection_sampling_mask,
)
from rlvr.errors import RlvrError

# groups: 0 -> [1, 0, 0, 1], 1 -> [1, 1] (constant), 2 -> [0.5] (singleton)
REWARDS = torch.tensor([1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.5])
GROUPS = torch.tensor([7, 7, 7, 7, 3, 3, 9])
MASK = torch.tensor(
    [
        [1, 1, 1, 0],
        [1, 1, 0, 0],
        [1, 1, 1, 1],
        [1, 0, 0, 0],
        [1, 1, 0, 0],
        [1, 1, 1, 0],
        [1, 1, 0, 0],
    ],
    dtype=torch.float32,
)


def _outcome(name: str, **kwargs) -> torch.Tensor:
    out = ADVANTAGE_ESTIMATORS.get(name)(AdvantageInput(rewards=REWARDS, group_ids=GROUPS, response_mask=MASK, **kwargs))
    assert torch.all(out.advantages[MASK == 0] == 0), "advantages must be zero outside the response mask"
    per_seq = out.advantages[:, 0]
    # the advantage is constant along each response
    assert torch.allclose(out.advantages, per_seq[:, None] * MASK)
    return per_seq


def test_registry_names():
    assert {"grpo", "dr_grpo", "rloo", "reinforce_pp", "reinforce_pp_baseline", "gae"} <= set(ADVANTAGE_ESTIMATORS.names())
    with pytest.raises(RlvrError, match="unknown advantage estimator 'grpoo'"):
        ADVANTAGE_ESTIMATORS.get("grpoo")


def test_grpo_hand_computed():
    # group [1,0,0,1]: mean 0.5, unbiased std sqrt(1/3) -> +-0.5 / 0.57735 = +-0.866025
    a = 0.5 / math.sqrt(1 / 3)
    expected = torch.tensor([a, -a, -a, a, 0.0, 0.0, 0.0])
    assert torch.allclose(_outcome("grpo"), expected, atol=1e-5)


def test_grpo_constant_group_is_exactly_zero():
    rewards = torch.tensor([0.1, 0.1, 0.1])  # (0.1+0.1+0.1)/3 != 0.1 in floating point
    out = ADVANTAGE_ESTIMATORS.get("grpo")(
        AdvantageInput(rewards=rewards, group_ids=torch.zeros(3, dtype=torch.long), response_mask=torch.ones(3, 2))
    )
    assert torch.all(out.advantages == 0)


def test_dr_grpo_hand_computed():
    expected = torch.tensor([0.5, -0.5, -0.5, 0.5, 0.0, 0.0, 0.0])
    assert torch.allclose(_outcome("dr_grpo"), expected)


def test_rloo_hand_computed():
    # r=1: others' mean 1/3 -> 2/3; r=0: others' mean 2/3 -> -2/3
    expected = torch.tensor([2 / 3, -2 / 3, -2 / 3, 2 / 3, 0.0, 0.0, 0.0])
    assert torch.allclose(_outcome("rloo"), expected)
    out = ADVANTAGE_ESTIMATORS.get("rloo")(
        AdvantageInput(rewards=torch.tensor([3.0, 1.0, 2.0]), group_ids=torch.zeros(3, dtype=torch.long), response_mask=torch.ones(3, 1))
    )
    assert torch.allclose(out.advantages[:, 0], torch.tensor([1.5, -1.5, 0.0]))


def test_token_rewards_are_added_to_outcome_estimators():
    token_rewards = torch.zeros_like(MASK)
    token_rewards[1, 0] = 1.0  # completion 1 now has total reward 1 -> group 0 is [1, 1, 0, 1]
    token_rewards[2, 3] = 5.0  # on row 2's last token: counts
    token_rewards[3, 2] = 100.0  # outside row 3's mask: must be ignored
    per_seq = _outcome("dr_grpo", token_rewards=token_rewards)
    r = torch.tensor([1.0, 1.0, 5.0, 1.0])
    assert torch.allclose(per_seq[:4], r - r.mean())


def test_discounted_returns_skip_masked_positions():
    rewards = torch.tensor([[0.0, 0.0, 1.0]])
    mask = torch.tensor([[1.0, 0.0, 1.0]])
    # t2: 1; t1 masked (no step, no return); t0: 0 + 0.5 * 1
    assert torch.allclose(discounted_returns(rewards, mask, 0.5), torch.tensor([[0.5, 0.0, 1.0]]))


def test_reinforce_pp_hand_computed():
    mask = torch.tensor([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]])
    inp = AdvantageInput(rewards=torch.tensor([1.0, 0.0]), group_ids=torch.tensor([0, 1]), response_mask=mask)
    out = ADVANTAGE_ESTIMATORS.get("reinforce_pp")(inp)
    assert torch.allclose(out.returns, torch.tensor([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]))
    # valid tokens [1,1,1,0,0]: mean 0.6, unbiased var 0.3 -> batch whitening
    std = math.sqrt(0.3)
    expected = torch.tensor([[0.4 / std] * 3, [-0.6 / std, -0.6 / std, 0.0]])
    assert torch.allclose(out.advantages, expected, atol=1e-5)
    # gamma discounts towards the start
    inp.gamma = 0.5
    assert torch.allclose(ADVANTAGE_ESTIMATORS.get("reinforce_pp")(inp).returns[0], torch.tensor([0.25, 0.5, 1.0]))


def test_reinforce_pp_baseline_hand_computed():
    inp = AdvantageInput(rewards=torch.tensor([1.0, 0.0, 1.0, 1.0]), group_ids=torch.tensor([0, 0, 1, 1]), response_mask=torch.ones(4, 2))
    # centred [0.5, -0.5, 0, 0] on 8 tokens: mean 0, unbiased var (4 * 0.25) / 7
    a = 0.5 / math.sqrt(1 / 7)
    out = ADVANTAGE_ESTIMATORS.get("reinforce_pp_baseline")(inp)
    assert torch.allclose(out.advantages[:, 0], torch.tensor([a, -a, 0.0, 0.0]), atol=1e-5)


def test_gae_hand_computed():
    values = torch.tensor([[0.5, 0.2, 0.1], [0.3, 0.4, 9.0]])  # 9.0 is on padding: must be ignored
    mask = torch.tensor([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]])
    inp = AdvantageInput(rewards=torch.tensor([1.0, 0.0]), group_ids=torch.tensor([0, 1]), response_mask=mask, values=values, gamma=1.0, lam=0.5)
    out = ADVANTAGE_ESTIMATORS.get("gae")(inp)
    # row 0: deltas [-0.3, -0.1, 0.9] -> A2 = 0.9, A1 = -0.1 + 0.45 = 0.35, A0 = -0.3 + 0.175 = -0.125
    # row 1: deltas [0.1, -0.4]       -> A1 = -0.4, A0 = 0.1 - 0.2 = -0.1
    raw = torch.tensor([[-0.125, 0.35, 0.9], [-0.1, -0.4, 0.0]])
    assert torch.allclose(out.returns, torch.tensor([[0.375, 0.55, 1.0], [0.2, 0.0, 0.0]]), atol=1e-6)
    flat = raw[mask.bool()]
    expected = (raw - flat.mean()) / torch.sqrt(flat.var() + 1e-6) * mask
    assert torch.allclose(out.advantages, expected, atol=1e-5)
    with pytest.raises(ValueError, match="values"):
        ADVANTAGE_ESTIMATORS.get("gae")(AdvantageInput(rewards=inp.rewards, group_ids=inp.group_ids, response_mask=mask))


def test_masked_whiten_ignores_padding():
    x = torch.tensor([[1.0, 3.0, 100.0]])
    out = masked_whiten(x, torch.tensor([[1.0, 1.0, 0.0]]), eps=0.0)
    assert torch.allclose(out, torch.tensor([[-1 / math.sqrt(2), 1 / math.sqrt(2), 0.0]]))


def test_group_statistics_and_metrics():
    stats = group_statistics(REWARDS, GROUPS)
    assert stats.group_ids.tolist() == [3, 7, 9]
    assert torch.allclose(stats.pass_rate, torch.tensor([1.0, 0.5, 1.0]))
    assert stats.zero_variance.tolist() == [True, False, True]
    assert stats.metrics["zero_variance_group_frac"] == pytest.approx(2 / 3)
    correct = torch.tensor([True, False, False, True, True, True, False])
    assert group_statistics(REWARDS, GROUPS, correct).pass_rate[2] == 0
    out = compute_advantages("dr_grpo", AdvantageInput(rewards=REWARDS, group_ids=GROUPS, response_mask=MASK))
    assert out.metrics["zero_variance_group_frac"] == pytest.approx(2 / 3)
    assert out.metrics["advantage_max"] == pytest.approx(0.5)


# ----------------------------------------------------------------------------- KL


def test_kl_estimators_hand_computed():
    logp, ref = torch.tensor([math.log(0.5)]), torch.tensor([math.log(0.25)])
    ln2 = math.log(2)
    assert kl_divergence(logp, ref, "k1").item() == pytest.approx(ln2)
    assert kl_divergence(logp, ref, "k2").item() == pytest.approx(0.5 * ln2**2)
    assert kl_divergence(logp, ref, "k3").item() == pytest.approx(0.5 + ln2 - 1)
    assert sorted(KL_ESTIMATORS.names()) == ["k1", "k2", "k3"]


def test_kl_estimators_average_to_true_kl():
    # samples from p; both unbiased estimators approach KL(p || q)
    gen = torch.Generator().manual_seed(0)
    p = torch.tensor([0.6, 0.3, 0.1])
    q = torch.tensor([0.3, 0.3, 0.4])
    true_kl = (p * (p / q).log()).sum().item()
    idx = torch.multinomial(p, 200_000, replacement=True, generator=gen)
    for name in ("k1", "k3"):
        assert kl_divergence(p.log()[idx], q.log()[idx], name).mean().item() == pytest.approx(true_kl, abs=5e-3)


def test_kl_reward_is_a_detached_masked_penalty():
    logp = torch.tensor([[math.log(0.5), math.log(0.5)]], requires_grad=True)
    ref = torch.full((1, 2), math.log(0.25))
    pen = kl_reward(logp, ref, torch.tensor([[1.0, 0.0]]), coef=0.1)
    assert not pen.requires_grad
    assert torch.allclose(pen, torch.tensor([[-0.1 * math.log(2), 0.0]]))


# ----------------------------------------------------------------------------- batch shaping


def test_dynamic_sampling_mask():
    keep = dynamic_sampling_mask(REWARDS, GROUPS)
    assert keep.tolist() == [True, True, True, True, False, False, False]


def test_overlong_penalty():
    lengths = torch.tensor([5, 6, 7, 8, 10, 12])
    assert torch.allclose(overlong_penalty(lengths, max_len=10, buffer=4), torch.tensor([0.0, 0.0, -0.25, -0.5, -1.0, -1.0]))
    assert overlong_penalty(torch.tensor([10]), max_len=10, buffer=4, penalty=0.5).item() == -0.5


def test_completion_mask_and_truncation():
    tokens = torch.tensor([[5, 2, 7, 2, 0], [5, 5, 5, 5, 5], [4, 4, 3, 0, 0]])
    valid = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    mask, truncated = completion_mask(tokens, eos_token_ids=[2, 3], valid=valid)
    assert mask.tolist() == [[1, 1, 0, 0, 0], [1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]
    assert truncated.tolist() == [False, True, False]
    assert mask_truncated(mask, truncated).tolist() == [[1, 1, 0, 0, 0], [0] * 5, [1, 1, 1, 0, 0]]
    _, truncated = completion_mask(tokens, eos_token_ids=2)
    assert truncated.tolist() == [False, True, True]


# ----------------------------------------------------------------------------- logprobs


def test_logprobs_and_entropy_match_reference():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 5, 11, generator=gen, requires_grad=True)
    labels = torch.randint(0, 11, (2, 5), generator=gen)
    for temperature in (1.0, 0.7):
        ours = logprobs_from_logits(logits, labels, temperature=temperature, chunk_rows=3)
        ref = torch.log_softmax(logits / temperature, -1).gather(-1, labels[..., None]).squeeze(-1)
        assert torch.allclose(ours, ref, atol=1e-6)
        g1 = torch.autograd.grad(ours.sum(), logits)[0]
        g2 = torch.autograd.grad(ref.sum(), logits)[0]
        assert torch.allclose(g1, g2, atol=1e-6)
    ent = entropy_from_logits(logits, chunk_rows=4)
    assert torch.allclose(ent, torch.distributions.Categorical(logits=logits).entropy(), atol=1e-5)
    assert logprobs_from_logits(torch.zeros(0, 3, 4), torch.zeros(0, 3, dtype=torch.long)).shape == (0, 3)


def test_rejection_sampling_mask():
    correct = torch.tensor([False, True, True, True, False, False, True])
    groups = torch.tensor([0, 0, 0, 0, 1, 1, 2])
    lengths = torch.tensor([1, 9, 4, 4, 2, 2, 5])
    # group 0: correct lengths 9, 4, 4 -> first of the shortest (index 2); group 1 none; group 2 its only one
    assert rejection_sampling_mask(correct, groups, lengths).tolist() == [False, False, True, False, False, False, True]
    assert rejection_sampling_mask(correct, groups, lengths, "first").tolist() == [False, True, False, False, False, False, True]
