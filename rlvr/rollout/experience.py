"""A step's experience: scored completions laid out as training tensors, and what the algorithm
makes of them (:func:`make_experience`: selection, KL-in-reward, advantages).

Each row is one completion, ``prompt ids + completion ids``, right-padded. Rows start at position
0 with no padding in front, so the learner's default position ids equal the ones the generator used
(left-padded batches would need ``position_ids = cumsum(attention_mask) - 1``). Label position
``j`` predicts token ``j + 1``; the response occupies label positions
``[len(prompt) - 1, len(prompt) - 1 + len(completion))``. Everything after the first EOS is masked,
and truncated completions (cut by ``max_tokens``, not ended by EOS or a stop string) are masked
entirely when asked: their reward says little about their tokens.

:func:`make_experience` is the algorithm's whole view of a step, in one place::

    rewards     computed once per completion in the rollout thread (rlvr.rollout.rewards), carried here
    selection   SELECTIONS[algorithm.select]: which completions are trained on (rft: one correct per prompt)
    KL          -kl_reward_coef * KL(sampling policy || reference) per token, when the coefficient is > 0
    advantages  ADVANTAGE_ESTIMATORS[algorithm.estimator] on the whole global batch

What has to be computed before it (a critic's values, the sampling-time and the reference
logprobs) is :func:`algorithm_needs`, read from the registries' traits, never from names.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch

from rlvr.algorithms.advantages import ADVANTAGE_ESTIMATORS, AdvantageInput, AdvantageOutput, compute_advantages
from rlvr.algorithms.config import AlgorithmConfig
from rlvr.algorithms.kl import kl_reward
from rlvr.algorithms.losses import POLICY_LOSSES
from rlvr.algorithms.sampling import SELECTIONS, SelectionInput, completion_mask, mask_truncated
from rlvr.rollout.sample import ScoredCompletion


@dataclass
class Experience:
    input_ids: torch.Tensor  # [B, T] long
    attention_mask: torch.Tensor  # [B, T] long
    response_mask: torch.Tensor  # [B, T-1] float, label positions trained on
    generator_logprobs: torch.Tensor  # [B, T-1] float, the generator's logprobs of the sampled tokens
    group_ids: torch.Tensor  # [B] long, one id per prompt
    rewards: torch.Tensor  # [B] float, from the rollout (rlvr.rollout.rewards.assign_rewards)
    correct: torch.Tensor  # [B] bool
    has_answer: torch.Tensor  # [B] bool, the verifier extracted a final answer
    lengths: torch.Tensor  # [B] long, completion tokens
    truncated: torch.Tensor  # [B] bool

    def __len__(self) -> int:
        return self.input_ids.shape[0]

    def select(self, rows: torch.Tensor | list[int]) -> Experience:
        """The given rows, trimmed to the longest remaining sequence (less compute per micro-batch)."""
        rows = torch.as_tensor(rows, dtype=torch.long)
        width = int(self.attention_mask[rows].sum(dim=1).max()) if len(rows) else 1
        out = {}
        for f in fields(self):
            t = getattr(self, f.name)[rows]
            if t.dim() == 2:
                t = t[:, : width if f.name in ("input_ids", "attention_mask") else width - 1]
            out[f.name] = t
        return Experience(**out)


def build_experience(
    groups: list[list[ScoredCompletion]],
    prompt_ids: list[list[int]],
    group_ids: list[int],
    eos_token_id: int,
    pad_token_id: int,
    mask_truncated_completions: bool,
) -> Experience:
    rows = [(gid, prompt_ids[i], s) for i, (gid, group) in enumerate(zip(group_ids, groups)) for s in group]
    if any(s.reward is None for _, _, s in rows):
        raise ValueError("build_experience needs rewarded completions (rlvr.rollout.rewards.assign_rewards)")
    width = max(len(p) + max(1, len(s.completion.token_ids)) for _, p, s in rows)
    n = len(rows)
    ids = torch.full((n, width), pad_token_id, dtype=torch.long)
    attn = torch.zeros((n, width), dtype=torch.long)
    gen_lp = torch.zeros((n, width - 1))
    resp_valid = torch.zeros((n, width - 1), dtype=torch.bool)
    resp_tokens = torch.full((n, width - 1), pad_token_id, dtype=torch.long)
    for r, (_, p, s) in enumerate(rows):
        c = s.completion.token_ids
        seq = p + c
        ids[r, : len(seq)] = torch.tensor(seq, dtype=torch.long)
        attn[r, : len(seq)] = 1
        start = len(p) - 1
        if c:
            resp_valid[r, start : start + len(c)] = True
            resp_tokens[r, start : start + len(c)] = torch.tensor(c, dtype=torch.long)
            gen_lp[r, start : start + len(c)] = torch.tensor(s.completion.logprobs, dtype=torch.float32)
    mask, _ = completion_mask(resp_tokens, eos_token_id, valid=resp_valid)
    # The generator says why a completion ended: one that ended on a stop string has no EOS but
    # was not cut short, and must be scored, not masked as truncated.
    truncated = torch.tensor([s.completion.finish_reason == "length" for _, _, s in rows])
    if mask_truncated_completions:
        mask = mask_truncated(mask, truncated)
    return Experience(
        input_ids=ids,
        attention_mask=attn,
        response_mask=mask,
        generator_logprobs=gen_lp,
        group_ids=torch.tensor([g for g, _, _ in rows], dtype=torch.long),
        rewards=torch.tensor([s.reward for _, _, s in rows], dtype=torch.float32),
        correct=torch.tensor([s.correct for _, _, s in rows]),
        has_answer=torch.tensor([s.verdict.extracted is not None for _, _, s in rows]),
        lengths=torch.tensor([len(s.completion.token_ids) for _, _, s in rows], dtype=torch.long),
        truncated=truncated,
    )


@dataclass(frozen=True)
class Needs:
    """The forward passes a step needs before its advantages and loss (besides the policy's own)."""

    critic: bool  # critic values: the estimator declared ``needs_values`` (a critic is built and trained)
    reference: bool  # reference-model logprobs: KL in the loss or in the reward, or the loss reads them
    old_logprobs: bool  # a no-grad pass of the sampling-time policy before the first optimizer step


def algorithm_needs(alg: AlgorithmConfig) -> Needs:
    """What ``alg`` needs, from the traits its estimator and loss declared.

    The sampling-time logprobs need their own pass only when the policy moves before the last
    micro-batch is trained (several epochs or mini-batches) or the KL reward uses them; otherwise
    the live logprobs, detached, are exactly those."""
    loss = POLICY_LOSSES.traits(alg.loss.name)
    policy_moves = alg.optimizer_steps_per_update > 1
    return Needs(
        critic=ADVANTAGE_ESTIMATORS.traits(alg.estimator).needs_values,
        reference=alg.loss.kl_coef > 0 or alg.kl_reward_coef > 0 or loss.needs_ref_logprobs,
        old_logprobs=alg.kl_reward_coef > 0 or (loss.needs_old_logprobs and policy_moves),
    )


@dataclass
class StepExperience:
    """A step's batch as the loss sees it."""

    mask: torch.Tensor  # [B, T-1] the response mask, restricted to the selected completions
    advantages: AdvantageOutput
    metrics: dict[str, float]


def make_experience(
    exp: Experience,
    alg: AlgorithmConfig,
    old_logprobs: torch.Tensor | None = None,
    ref_logprobs: torch.Tensor | None = None,
    values: torch.Tensor | None = None,
) -> StepExperience:
    """Selection, KL-in-reward and advantages of the whole global batch ``exp`` (``[B, T-1]``
    logprobs and values over the same rows, as :func:`algorithm_needs` asked for)."""
    metrics: dict[str, float] = {"reward_mean": float(exp.rewards.mean())}
    mask = exp.response_mask
    keep = SELECTIONS.get(alg.select)(SelectionInput(correct=exp.correct, group_ids=exp.group_ids, lengths=exp.lengths, rft_choice=alg.rft_choice))
    if keep is not None:
        mask = mask * keep[:, None].float()
        metrics[f"{alg.select}_selected"] = int(keep.sum())
    token_rewards = None
    if alg.kl_reward_coef > 0:
        # the penalty of the policy that sampled: its logprobs, before any update of this step
        token_rewards = kl_reward(old_logprobs, ref_logprobs, mask, alg.kl_reward_coef, alg.kl_reward_estimator)
    adv = compute_advantages(
        alg.estimator,
        AdvantageInput(
            rewards=exp.rewards, group_ids=exp.group_ids, response_mask=mask, values=values, token_rewards=token_rewards, gamma=alg.gamma, lam=alg.lam
        ),
        correct=exp.correct,
    )
    metrics.update({k: float(v) for k, v in adv.metrics.items()})
    return StepExperience(mask, adv, metrics)
