"""PPO critic loss: clipped value regression onto GAE returns, under the global-normaliser contract.

``l_t = 0.5 * max((V_t - R_t)^2, (V_old_t + clip(V_t - V_old_t, -c, c) - R_t)^2)``

The clipped term (PPO2's value clipping) keeps the critic from moving far from the values that
produced the advantages in one step: pessimistic, like the policy's clip, so a large value update is
taken only when it also reduces the clipped error. ``R`` are ``AdvantageOutput.returns`` from the
``gae`` estimator and ``V_old`` the critic's values at that time (both detached).

Aggregation and normalisation are those of the policy losses (:mod:`rlvr.algorithms.aggregation`):
the micro-batch sum divided by the step's global totals, so micro-batch losses add up exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from rlvr.algorithms.aggregation import AGGREGATIONS, LossOutput, LossScale, aggregate, masked_max, token_metrics
from rlvr.config import field


@dataclass(kw_only=True)
class ValueLossInput:
    """One micro-batch, ``[B, T]`` tensors aligned on response positions."""

    values: Tensor  # current critic values (requires grad)
    old_values: Tensor  # critic values when advantages were computed (detached)
    returns: Tensor  # regression targets (detached)
    mask: Tensor  # 1 on trained response tokens


@dataclass
class ValueLossConfig:
    """How the PPO critic is trained."""

    clip: float | None = field(0.2, gt=0, help="value clip range around the old values; null = unclipped regression")
    aggregation: str = field("token_mean", choices=AGGREGATIONS, help="how token losses become the step loss (as algorithm.loss.aggregation)")
    coef: float = field(1.0, ge=0, help="multiplier of the value loss (e.g. 0.5 when the value head shares the policy's backbone)")


def value_loss(inp: ValueLossInput, scale: LossScale, cfg: ValueLossConfig) -> LossOutput:
    """The micro-batch's share of the step's (clipped) value loss, times ``cfg.coef``, and metrics."""
    returns = inp.returns.detach()
    error = (inp.values - returns).square()
    metrics: dict[str, Tensor] = {"value_mse": error}
    if cfg.clip is not None:
        old = inp.old_values.detach()
        clipped_values = old + (inp.values - old).clamp(-cfg.clip, cfg.clip)
        clipped_error = (clipped_values - returns).square()
        metrics["value_clip_frac"] = (clipped_error > error).float()
        error = torch.maximum(error, clipped_error)
    loss = cfg.coef * aggregate(0.5 * error, inp.mask, scale, cfg.aggregation)
    out = token_metrics({**metrics, "value_mean": inp.values}, inp.mask, scale)
    out["value_max"] = masked_max(inp.values, inp.mask)
    out["value_loss"] = loss.detach()
    return LossOutput(loss, out)
