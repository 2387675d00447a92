"""Advantage estimators: from verified rewards (and, for PPO, a critic) to per-token advantages.

Every estimator takes an :class:`AdvantageInput` for the *whole* step's batch and returns an
:class:`AdvantageOutput`; they are looked up by name in :data:`ADVANTAGE_ESTIMATORS`, so the trainer
never knows which one runs. Advantages must be computed on the whole batch, before it is split into
micro-batches or ranks: group baselines need every completion of a prompt, and batch whitening
(REINFORCE++, GAE) needs every token.

The reward stream. ``rewards[i]`` is the outcome reward of completion ``i`` (correctness, format,
overlong shaping...). ``token_rewards`` (optional, e.g. :func:`rlvr.algorithms.kl.kl_reward`) are
added to it: outcome-level estimators (``grpo``, ``dr_grpo``, ``rloo``, ``reinforce_pp_baseline``)
see the per-sequence sum ``rewards + sum_t token_rewards``; token-level ones (``reinforce_pp``,
``gae``) see ``token_rewards`` per token plus ``rewards`` on the last response token.

Estimators (``A_i`` broadcast to every response token of completion ``i``; ``r`` the group's rewards):

- ``grpo`` (DeepSeekMath): ``A_i = (r_i - mean(r)) / (std(r) + eps)``, unbiased std. Dividing by the
  std gives every prompt equal weight whatever its reward scale, which also up-weights prompts that
  are almost always solved or almost always failed (Dr. GRPO's "question-level difficulty bias").
  Token rewards (the KL-in-reward penalty) are *not* divided by the std: their per-sequence sums
  ``k_i`` are centred on the group and added, ``A_i = (r_i - mean(r)) / std(r) + k_i - mean(k)``.
  Normalising them with the outcome reward would turn the KL noise of a group whose outcome
  rewards are all equal (std 0 before the penalty, a tiny std after) into advantages of order 1:
  at ``kl_reward_coef = 0.001`` an all-correct group got advantages of about +-1.1, as large as a
  real right/wrong signal. Kept apart, the penalty weighs what its coefficient says.
- ``dr_grpo`` (Liu et al. 2025, "Understanding R1-Zero-like training"): ``A_i = r_i - mean(r)``; the
  std division is dropped to remove that bias (pair it with the ``dr_grpo`` loss aggregation).
- ``rloo`` (Ahmadian et al. 2024): ``A_i = r_i - mean_{j != i} r_j``: the baseline excludes the sample
  itself, so it is independent of it and the estimator is unbiased (= ``n/(n-1)`` x ``dr_grpo``).
- ``reinforce_pp`` (REINFORCE++, Hu 2025, arXiv:2501.03262, the original variant): no group baseline;
  per-token discounted returns ``G_t = sum_{k>=t} gamma^(k-t) r_k`` whitened over all valid tokens
  of the batch ("global batch normalisation"). Batch statistics are a much steadier baseline than a
  small group's, and prompts are not re-weighted by their own spread.
- ``reinforce_pp_baseline`` (REINFORCE++-baseline, same paper): subtract the group mean first (to
  remove the prompt's difficulty), then whiten over all valid tokens of the batch.
- ``gae`` (PPO, Schulman et al. 2016): with critic values ``V_t`` and per-token rewards,
  ``delta_t = r_t + gamma V_{t+1} - V_t``, ``A_t = sum_k (gamma lam)^k delta_{t+k}``;
  ``returns = A + V`` (critic targets, before whitening); advantages whitened over the batch.

Groups of one completion, or whose rewards are all equal, carry no learning signal for the group
estimators: their advantage is exactly 0 (not ``0/eps`` noise).

An estimator declares what it needs in its registration (:class:`EstimatorTraits`): ``gae``
needs critic values, so the trainer builds a critic for it, and for any plug-in that says the same.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor

from rlvr.registry import Registry


@dataclass(kw_only=True)
class AdvantageInput:
    """One step's batch. ``B`` completions, ``T`` response positions (right-padded)."""

    rewards: Tensor  # [B] outcome reward per completion
    group_ids: Tensor  # [B] long; completions of one prompt share an id
    response_mask: Tensor  # [B, T] 1 on response tokens that are trained on
    values: Tensor | None = None  # [B, T] critic values (gae only)
    token_rewards: Tensor | None = None  # [B, T] per-token rewards added to the stream (e.g. KL penalty)
    gamma: float = 1.0  # discount (reinforce_pp, gae)
    lam: float = 1.0  # GAE lambda
    eps: float = 1e-6  # added to std (grpo) / variance (whitening) against division by zero


@dataclass
class AdvantageOutput:
    advantages: Tensor  # [B, T], zero outside the response mask
    returns: Tensor | None  # [B, T] critic targets (gae) / discounted returns (reinforce_pp), else None
    metrics: dict[str, float] = field(default_factory=dict)


AdvantageEstimator = Callable[[AdvantageInput], AdvantageOutput]


@dataclass(frozen=True)
class EstimatorTraits:
    """What an advantage estimator needs beyond rewards and groups (declared when registered)."""

    needs_values: bool = False  # critic values (AdvantageInput.values): the trainer builds and trains a critic


ADVANTAGE_ESTIMATORS: Registry[AdvantageEstimator] = Registry("advantage estimator", "rlvr.advantage_estimators", traits=EstimatorTraits)


# ----------------------------------------------------------------------------- helpers


def _token_reward_sums(inp: AdvantageInput) -> Tensor:
    """``[B]`` per-sequence sum of the token rewards over the response mask."""
    return (inp.token_rewards.float() * inp.response_mask.float()).sum(-1)


def _sequence_rewards(inp: AdvantageInput) -> Tensor:
    """Outcome reward plus the per-sequence sum of token rewards, as float."""
    rewards = inp.rewards.float()
    if inp.token_rewards is not None:
        rewards = rewards + _token_reward_sums(inp)
    return rewards


def _token_rewards(inp: AdvantageInput) -> Tensor:
    """Per-token reward stream ``[B, T]``: token rewards plus the outcome reward on the last response token."""
    mask = inp.response_mask.float()
    stream = inp.token_rewards.float() * mask if inp.token_rewards is not None else torch.zeros_like(mask)
    positions = torch.arange(mask.shape[1], device=mask.device).expand_as(mask)
    last = torch.where(mask > 0, positions, -1).amax(dim=1)  # -1: no response token, no reward to place
    has = last >= 0
    rows = torch.nonzero(has).squeeze(1)
    stream[rows, last[has]] += inp.rewards.float()[has]
    return stream


@dataclass
class Groups:
    """Completions grouped by prompt: ``index[i]`` is completion ``i``'s group in ``0..num-1``."""

    ids: Tensor  # [G] the distinct group ids, sorted
    index: Tensor  # [B] long
    count: Tensor  # [G] float

    @classmethod
    def of(cls, group_ids: Tensor) -> Groups:
        ids, index = torch.unique(group_ids, return_inverse=True)
        count = torch.bincount(index, minlength=len(ids)).float()
        return cls(ids, index, count)

    def sum(self, x: Tensor) -> Tensor:
        return torch.zeros(len(self.ids), dtype=x.dtype, device=x.device).index_add_(0, self.index, x)

    def mean(self, x: Tensor) -> Tensor:
        return self.sum(x) / self.count

    def std(self, x: Tensor) -> Tensor:
        """Unbiased std per group (as ``torch.std``); 0 for groups of one."""
        dev = x - self.mean(x)[self.index]
        var = self.sum(dev * dev) / (self.count - 1).clamp(min=1)
        return var.sqrt()

    def constant(self, x: Tensor) -> Tensor:
        """``[G]`` bool: every member of the group has the same value (includes groups of one)."""
        g = len(self.ids)
        hi = torch.full((g,), -torch.inf, dtype=x.dtype, device=x.device).scatter_reduce(0, self.index, x, "amax")
        lo = torch.full((g,), torch.inf, dtype=x.dtype, device=x.device).scatter_reduce(0, self.index, x, "amin")
        return hi == lo


def masked_whiten(x: Tensor, mask: Tensor, eps: float = 1e-6) -> Tensor:
    """``(x - mean) / sqrt(var + eps)`` over the tokens where ``mask`` is 1 (unbiased var); 0 elsewhere."""
    mask = mask.to(x.dtype)
    n = mask.sum()
    mean = (x * mask).sum() / n.clamp(min=1)
    var = ((x - mean).square() * mask).sum() / (n - 1).clamp(min=1)
    return (x - mean) * torch.rsqrt(var + eps) * mask


def _broadcast(seq_adv: Tensor, inp: AdvantageInput) -> Tensor:
    return seq_adv[:, None] * inp.response_mask.float()


# ----------------------------------------------------------------------------- estimators


@ADVANTAGE_ESTIMATORS.register("grpo")
def grpo(inp: AdvantageInput) -> AdvantageOutput:
    """``(r - group mean) / (group std + eps)`` of the outcome rewards (exactly 0 for constant groups
    and groups of one), plus the group-centred token-reward sums *undivided* (see the module
    docstring: dividing the KL penalty by the std inflates it to order 1 in constant groups)."""
    r = inp.rewards.float()
    g = Groups.of(inp.group_ids)
    adv = (r - g.mean(r)[g.index]) / (g.std(r)[g.index] + inp.eps)
    adv = torch.where(g.constant(r)[g.index], torch.zeros_like(adv), adv)
    if inp.token_rewards is not None:
        k = _token_reward_sums(inp)
        adv = adv + (k - g.mean(k)[g.index])
    return AdvantageOutput(_broadcast(adv, inp), None)


@ADVANTAGE_ESTIMATORS.register("dr_grpo")
def dr_grpo(inp: AdvantageInput) -> AdvantageOutput:
    """``r - group mean``: no std division, so no per-prompt re-weighting by difficulty."""
    r = _sequence_rewards(inp)
    g = Groups.of(inp.group_ids)
    adv = torch.where(g.constant(r)[g.index], torch.zeros_like(r), r - g.mean(r)[g.index])
    return AdvantageOutput(_broadcast(adv, inp), None)


@ADVANTAGE_ESTIMATORS.register("rloo")
def rloo(inp: AdvantageInput) -> AdvantageOutput:
    """``r_i - mean of the other completions' rewards``; 0 for groups of one."""
    r = _sequence_rewards(inp)
    g = Groups.of(inp.group_ids)
    n = g.count[g.index]
    others_mean = (g.sum(r)[g.index] - r) / (n - 1).clamp(min=1)
    adv = torch.where(n > 1, r - others_mean, torch.zeros_like(r))
    adv = torch.where(g.constant(r)[g.index], torch.zeros_like(adv), adv)
    return AdvantageOutput(_broadcast(adv, inp), None)


def discounted_returns(token_rewards: Tensor, mask: Tensor, gamma: float) -> Tensor:
    """``G_t = r_t + gamma * G_{t'}`` with ``t'`` the next *masked-in* position; 0 outside ``mask``.

    Positions outside the mask (padding, or tokens not generated by the policy) are skipped, not
    treated as steps, so they neither receive a return nor discount the ones before them.
    """
    mask = mask.to(token_rewards.dtype)
    returns = torch.zeros_like(token_rewards)
    running = torch.zeros_like(token_rewards[:, 0])
    for t in reversed(range(token_rewards.shape[1])):
        m = mask[:, t]
        running = m * (token_rewards[:, t] + gamma * running) + (1 - m) * running
        returns[:, t] = running * m
    return returns


@ADVANTAGE_ESTIMATORS.register("reinforce_pp")
def reinforce_pp(inp: AdvantageInput) -> AdvantageOutput:
    """REINFORCE++: discounted per-token returns, whitened over every valid token of the batch."""
    mask = inp.response_mask.float()
    returns = discounted_returns(_token_rewards(inp), mask, inp.gamma)
    return AdvantageOutput(masked_whiten(returns, mask, inp.eps), returns)


@ADVANTAGE_ESTIMATORS.register("reinforce_pp_baseline")
def reinforce_pp_baseline(inp: AdvantageInput) -> AdvantageOutput:
    """REINFORCE++-baseline: ``r - group mean`` broadcast to tokens, then whitened over the batch's tokens."""
    r = _sequence_rewards(inp)
    g = Groups.of(inp.group_ids)
    centred = r - g.mean(r)[g.index]
    mask = inp.response_mask.float()
    return AdvantageOutput(masked_whiten(centred[:, None] * mask, mask, inp.eps), None)


@ADVANTAGE_ESTIMATORS.register("gae", needs_values=True)
def gae(inp: AdvantageInput) -> AdvantageOutput:
    """PPO's generalised advantage estimation over response tokens; needs ``values``.

    The value after the last response token is 0 (the episode ends there). Masked-out positions
    are skipped: they carry neither a TD error nor a value bootstrap (same rule as
    :func:`discounted_returns`). Returns are ``A + V`` before the advantages are whitened.
    """
    if inp.values is None:
        raise ValueError("the 'gae' advantage estimator needs critic values (AdvantageInput.values)")
    mask = inp.response_mask.float()
    values = inp.values.detach().float() * mask
    rewards = _token_rewards(inp)
    adv = torch.zeros_like(values)
    next_value = torch.zeros_like(values[:, 0])
    last_gae = torch.zeros_like(values[:, 0])
    for t in reversed(range(values.shape[1])):
        m = mask[:, t]
        delta = rewards[:, t] + inp.gamma * next_value - values[:, t]
        last_gae = m * (delta + inp.gamma * inp.lam * last_gae) + (1 - m) * last_gae
        next_value = m * values[:, t] + (1 - m) * next_value
        adv[:, t] = last_gae * m
    returns = (adv + values) * mask
    return AdvantageOutput(masked_whiten(adv, mask, inp.eps), returns)


# ----------------------------------------------------------------------------- statistics


@dataclass
class GroupStats:
    """Per-prompt-group figures for the step's metrics."""

    group_ids: Tensor  # [G] distinct ids, sorted
    pass_rate: Tensor  # [G] fraction of the group's completions that are correct
    zero_variance: Tensor  # [G] bool: all rewards equal (no signal for group-baseline estimators)
    metrics: dict[str, float]


def group_statistics(rewards: Tensor, group_ids: Tensor, correct: Tensor | None = None) -> GroupStats:
    """Pass rate per group and the fraction of zero-variance groups.

    ``correct`` ([B] bool) is the verifier's verdict; without it a completion counts as correct when
    its reward is > 0 (pass it explicitly when format or length shaping can make rewards positive).
    """
    r = rewards.float()
    ok = (correct if correct is not None else r > 0).float()
    g = Groups.of(group_ids)
    pass_rate = g.mean(ok)
    zero_var = g.constant(r)
    metrics = {
        "zero_variance_group_frac": zero_var.float().mean().item(),
        "pass_rate_mean": pass_rate.mean().item(),
        "all_correct_group_frac": (pass_rate == 1).float().mean().item(),
        "all_wrong_group_frac": (pass_rate == 0).float().mean().item(),
    }
    return GroupStats(g.ids, pass_rate, zero_var, metrics)


def advantage_metrics(out: AdvantageOutput, mask: Tensor) -> dict[str, float]:
    """Mean/std/min/max of advantages over valid tokens, and the fraction of zero-advantage tokens."""
    valid = out.advantages[mask.bool()]
    if valid.numel() == 0:
        return {}
    return {
        "advantage_mean": valid.mean().item(),
        "advantage_std": valid.std(correction=0).item(),
        "advantage_min": valid.min().item(),
        "advantage_max": valid.max().item(),
        "advantage_zero_frac": (valid == 0).float().mean().item(),
    }


def compute_advantages(name: str, inp: AdvantageInput, correct: Tensor | None = None) -> AdvantageOutput:
    """Run estimator ``name`` and attach advantage and group metrics (what the trainer calls).

    ``correct`` ([B] bool, the verifier's verdicts) is only used for the pass-rate metrics.
    """
    out = ADVANTAGE_ESTIMATORS.get(name)(inp)
    out.metrics = {
        **group_statistics(inp.rewards, inp.group_ids, correct).metrics,
        **advantage_metrics(out, inp.response_mask),
        **out.metrics,
    }
    return out
