"""Policy losses: PPO/GRPO clipped surrogate, GSPO, and SFT, with KL and entropy terms.

The trainer calls :func:`compute_policy_loss` once per micro-batch with a :class:`LossInput`, the
step's global :class:`~rlvr.algorithms.aggregation.LossScale` and a :class:`PolicyLossConfig`, and
backpropagates ``LossOutput.loss`` as is: the micro-batch losses of a step add up to the full-batch
loss exactly (the contract in :mod:`rlvr.algorithms.aggregation` and ``docs/loss_contract.md``).

A loss in :data:`POLICY_LOSSES` maps ``(LossInput, PolicyLossConfig)`` to a per-token loss ``[B, T]``
plus per-token metric tensors; the shared code then adds the KL and entropy terms, applies the
aggregation mode, and normalises metrics. So every loss gets every aggregation mode, KL estimator
and entropy bonus, and a new loss is one function.

Per-token loss ``l_t`` (minimised), with ``A_t`` the advantage and ``r_t = pi(y_t) / pi_old(y_t)``:

- ``ppo_clip``: ``max(-A r, -A clip(r, 1 - clip_low, 1 + clip_high))``. Separate bounds are DAPO's
  clip-higher: raising ``1 + clip_high`` lets unlikely tokens with positive advantage grow faster,
  which keeps entropy from collapsing; the low bound stays tight so probabilities are not pushed
  to zero. Optional dual clip (Ye et al. 2020): for ``A < 0`` the loss is also capped at
  ``-dual_clip * A``, so a token whose ratio has exploded cannot produce an unbounded update.
- ``gspo`` (Zheng et al. 2025): one ratio per sequence, the geometric mean
  ``s_i = exp(mean_t log r_t)``, clipped at the sequence level. Token-level ratios are noisy
  single-sample importance weights whose noise accumulates with length; the sequence ratio matches
  the sequence-level reward. Implemented per token as ``s_i * pi(y_t) / sg(pi(y_t))`` (value ``s_i``,
  gradient ``s_i grad log pi(y_t)``), which with ``seq_mean_token_mean`` aggregation reproduces the
  paper's gradient exactly; the paper's clip ranges are tiny (3e-4 / 4e-4).
- ``sft``: ``-log pi(y_t)`` (rejection-sampling fine-tuning); needs neither advantages nor old logprobs.

Truncated importance sampling (``tis_cap``, Yao et al. 2025). The generator (vLLM) and the learner
compute slightly different probabilities for the same weights (kernels, precision), so samples are
slightly off-policy even at the first update. The policy-gradient term is multiplied per token by
``min(pi_old(y_t) / pi_gen(y_t), tis_cap)`` (detached): the correction for the mismatch, truncated
so that a rare huge weight cannot dominate the step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from rlvr.algorithms.aggregation import (
    AGGREGATIONS,
    LossOutput,
    LossScale,
    aggregate,
    masked_max,
    token_metrics,
)
from rlvr.algorithms.kl import KL_ESTIMATORS, kl_divergence
from rlvr.config import field
from rlvr.registry import Registry

__all__ = [
    "POLICY_LOSSES",
    "LossInput",
    "LossOutput",
    "LossScale",
    "LossTraits",
    "PolicyLossConfig",
    "PolicyTerms",
    "compute_policy_loss",
]

# exp() of larger log-ratios overflows; such tokens are far outside any clip range anyway
_MAX_LOG_RATIO = 20.0


@dataclass(kw_only=True)
class LossInput:
    """One micro-batch, ``[B, T]`` tensors aligned on response positions."""

    logprobs: Tensor  # current policy's logprobs of the sampled tokens (requires grad)
    mask: Tensor  # 1 on trained response tokens
    old_logprobs: Tensor | None = None  # learner's logprobs at sampling time (detached); PPO/GSPO
    advantages: Tensor | None = None  # PPO/GSPO
    ref_logprobs: Tensor | None = None  # reference model's logprobs (KL in the loss)
    generator_logprobs: Tensor | None = None  # generator's (vLLM's) logprobs (truncated IS)
    entropy: Tensor | None = None  # per-token entropy of the current policy (bonus / metric)


@dataclass
class PolicyLossConfig:
    """How the policy is optimised: loss, clipping, aggregation, KL and entropy terms."""

    name: str = field("ppo_clip", choices=lambda: POLICY_LOSSES, help="policy loss (a registry name)")
    clip_low: float = field(0.2, ge=0, lt=1, help="ratio clip below 1 - clip_low (PPO epsilon; GSPO paper: 3e-4)")
    clip_high: float = field(0.2, ge=0, help="ratio clip above 1 + clip_high; > clip_low is DAPO clip-higher (0.28)")
    aggregation: str = field(
        "token_mean",
        choices=AGGREGATIONS,
        help="how token losses become the step loss: token_mean (DAPO), seq_mean_token_mean (GRPO, GSPO), dr_grpo (a constant)",
    )
    kl_coef: float = field(0.0, ge=0, help="weight of the KL-to-reference term in the loss; 0 loads no reference model")
    kl_estimator: str = field("k3", choices=KL_ESTIMATORS, help="KL estimator in the loss")
    entropy_coef: float = field(0.0, ge=0, help="entropy bonus weight (the loss subtracts entropy_coef * entropy)")
    tis_cap: float | None = field(None, gt=0, help="truncated importance-sampling cap for the generator/learner mismatch (e.g. 2); null = off")
    dual_clip: float | None = field(None, gt=1, help="dual-clip bound c > 1 for negative advantages (e.g. 3); null = off")


@dataclass
class PolicyTerms:
    """What a registered loss returns: the per-token loss and per-token / max metrics."""

    loss: Tensor  # [B, T]
    token_metrics: dict[str, Tensor]  # [B, T] each; reported as step-wide token means
    max_metrics: dict[str, Tensor]  # scalars; names end in "_max"


PolicyLoss = Callable[[LossInput, PolicyLossConfig], PolicyTerms]


@dataclass(frozen=True)
class LossTraits:
    """Which optional :class:`LossInput` fields a loss reads (declared when registered), so the
    trainer runs the extra no-grad forward passes only for losses that use them."""

    needs_old_logprobs: bool = False  # the sampling-time policy's logprobs (the ratio's denominator)
    needs_ref_logprobs: bool = False  # the reference model's logprobs, even with kl_coef = 0


POLICY_LOSSES: Registry[PolicyLoss] = Registry("policy loss", "rlvr.policy_losses", traits=LossTraits)


def _require(inp: LossInput, *names: str) -> None:
    missing = [n for n in names if getattr(inp, n) is None]
    if missing:
        raise ValueError(f"this policy loss needs LossInput.{', '.join(missing)}")


def _tis_weight(inp: LossInput, cfg: PolicyLossConfig, metrics: dict[str, Tensor]) -> Tensor | None:
    """Truncated IS weight ``min(pi_old / pi_gen, cap)`` per token (detached), or None when off."""
    if cfg.tis_cap is None:
        return None
    _require(inp, "generator_logprobs")
    log_w = (inp.old_logprobs - inp.generator_logprobs).detach().clamp(max=_MAX_LOG_RATIO)
    raw = torch.exp(log_w)
    metrics["tis_weight_mean"] = raw.clamp(max=cfg.tis_cap)
    metrics["tis_capped_frac"] = (raw > cfg.tis_cap).float()
    return raw.clamp(max=cfg.tis_cap)


def _clipped_surrogate(ratio: Tensor, adv: Tensor, cfg: PolicyLossConfig, metrics: dict[str, Tensor]) -> Tensor:
    """PPO's pessimistic clipped objective (as a loss), with optional dual clip; records clip fractions."""
    unclipped = -adv * ratio
    clipped = -adv * ratio.clamp(1 - cfg.clip_low, 1 + cfg.clip_high)
    loss = torch.maximum(unclipped, clipped)
    metrics["clip_frac"] = (clipped > unclipped).float()
    metrics["clip_frac_low"] = ((ratio < 1 - cfg.clip_low) & (adv < 0)).float()
    metrics["clip_frac_high"] = ((ratio > 1 + cfg.clip_high) & (adv > 0)).float()
    if cfg.dual_clip is not None:
        bound = -adv * cfg.dual_clip
        dual = (adv < 0) & (loss > bound)
        loss = torch.where(dual, bound, loss)
        metrics["dual_clip_frac"] = dual.float()
    return loss


def _surrogate_terms(ratio: Tensor, inp: LossInput, cfg: PolicyLossConfig, metrics: dict[str, Tensor]) -> PolicyTerms:
    """The clipped surrogate of ``ratio`` (token- or sequence-level), truncated IS applied."""
    loss = _clipped_surrogate(ratio, inp.advantages.detach(), cfg, metrics)
    weight = _tis_weight(inp, cfg, metrics)
    if weight is not None:
        loss = loss * weight
    metrics["ratio_mean"] = ratio
    metrics["pg_loss"] = loss
    return PolicyTerms(loss, metrics, {"ratio_max": masked_max(ratio, inp.mask)})


@POLICY_LOSSES.register("ppo_clip", needs_old_logprobs=True)
def ppo_clip(inp: LossInput, cfg: PolicyLossConfig) -> PolicyTerms:
    """Token-level PPO/GRPO clipped surrogate with separate low/high clip."""
    _require(inp, "old_logprobs", "advantages")
    metrics: dict[str, Tensor] = {}
    ratio = torch.exp((inp.logprobs - inp.old_logprobs.detach()).clamp(-_MAX_LOG_RATIO, _MAX_LOG_RATIO))
    return _surrogate_terms(ratio, inp, cfg, metrics)


@POLICY_LOSSES.register("gspo", needs_old_logprobs=True)
def gspo(inp: LossInput, cfg: PolicyLossConfig) -> PolicyTerms:
    """GSPO: sequence-level geometric-mean ratio, clipped per sequence."""
    _require(inp, "old_logprobs", "advantages")
    metrics: dict[str, Tensor] = {}
    mask = inp.mask.to(inp.logprobs.dtype)
    log_r = (inp.logprobs - inp.old_logprobs.detach()) * mask
    seq_log_ratio = log_r.sum(-1) / mask.sum(-1).clamp(min=1)
    # value: the sequence ratio s_i on every token; gradient: s_i * grad log pi(y_t)
    log_s = inp.logprobs - inp.logprobs.detach() + seq_log_ratio.detach()[:, None]
    ratio = torch.exp(log_s.clamp(max=_MAX_LOG_RATIO))
    return _surrogate_terms(ratio, inp, cfg, metrics)


@POLICY_LOSSES.register("sft")
def sft(inp: LossInput, cfg: PolicyLossConfig) -> PolicyTerms:
    """Negative log-likelihood of the given tokens (rejection-sampling fine-tuning)."""
    nll = -inp.logprobs
    return PolicyTerms(nll, {"nll": nll}, {})


def compute_policy_loss(inp: LossInput, scale: LossScale, cfg: PolicyLossConfig) -> LossOutput:
    """The micro-batch's share of the step's policy loss, and its metrics (see module docstring).

    Adds ``kl_coef * KL(pi || ref)`` (``cfg.kl_estimator``) and ``-entropy_coef * entropy`` per token
    before aggregation. KL and entropy are reported as metrics whenever their inputs are given.
    """
    terms = POLICY_LOSSES.get(cfg.name)(inp, cfg)
    per_token = terms.loss
    metrics = dict(terms.token_metrics)
    if cfg.kl_coef > 0:
        _require(inp, "ref_logprobs")
    if inp.ref_logprobs is not None:
        kl = kl_divergence(inp.logprobs, inp.ref_logprobs.detach(), cfg.kl_estimator)
        metrics["kl"] = kl
        if cfg.kl_coef > 0:
            per_token = per_token + cfg.kl_coef * kl
    if cfg.entropy_coef > 0:
        _require(inp, "entropy")
    if inp.entropy is not None:
        metrics["entropy"] = inp.entropy
        if cfg.entropy_coef > 0:
            per_token = per_token - cfg.entropy_coef * inp.entropy
    loss = aggregate(per_token, inp.mask, scale, cfg.aggregation)
    out = token_metrics(metrics, inp.mask, scale)
    out.update({k: v.detach() for k, v in terms.max_metrics.items()})
    out["loss"] = loss.detach()
    return LossOutput(loss, out)
