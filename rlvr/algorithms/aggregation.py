"""Loss aggregation over tokens and sequences, normalised by the *global* step totals.

The contract (see ``docs/loss_contract.md``). One optimizer step sees a batch that the learner splits
into micro-batches, and often across data-parallel ranks. Every loss in :mod:`rlvr.algorithms`
takes a :class:`LossScale` holding the totals of the **whole step** (all micro-batches, all ranks),
and divides the micro-batch's *sum* of per-token or per-sequence terms by them. Therefore

    sum over micro-batches (and ranks) of loss(micro-batch)  ==  loss(whole batch)

exactly, and so are the gradients, whatever the micro-batch sizes or how many tokens each holds.
Normalising each micro-batch by its *own* token count (the common bug) weights a token in a short
micro-batch more than one in a long micro-batch, so gradient accumulation silently changes the
objective. The learner therefore must *not* divide by the number of accumulation steps (DeepSpeed:
``engine.backward(loss, scale_wrt_gas=False)``) and, where gradients are averaged over ranks (DDP,
DeepSpeed), must multiply the loss by the world size so the average becomes the sum.

Aggregation modes (``m`` the response mask, ``l`` the per-token loss, ``N`` the step's totals):

- ``token_mean``: ``sum_{i,t} l_it / N_tokens``. Every token in the step has the same weight, so
  a long response counts in proportion to its length. DAPO argues for it in long-CoT RL: with a
  per-sequence mean, the tokens of long responses are down-weighted, so degenerate long outputs
  (repetition, gibberish) are under-penalised and good patterns in long reasoning under-learned.
  The per-token weight ``1/N_tokens`` still depends on the lengths in the batch.
- ``seq_mean_token_mean`` (original GRPO/PPO-RLHF): ``sum_i (sum_t l_it / |y_i|) / N_seqs``. Every
  sequence weighs the same; each token weighs ``1/|y_i|``. This is Dr. GRPO's length bias: with a
  positive advantage, short responses get larger per-token updates (correct answers get shorter);
  with a negative one, long responses are penalised less per token (wrong answers grow longer).
  It is the right mode for GSPO, whose sequence-level ratio is a per-token mean by design.
- ``seq_mean_token_sum``: ``sum_{i,t} l_it / N_seqs``: the plain sequence-level REINFORCE sum, no
  length normalisation; the loss scale grows with response length.
- ``dr_grpo``: ``sum_{i,t} l_it / (N_seqs * max_len)``, a constant normaliser (Dr. GRPO): token weights
  are equal and do not depend on which lengths happen to be in the batch, so there is no length
  bias and the gradient scale does not fluctuate from step to step. ``max_len`` is the generation
  budget (max new tokens), not the longest response seen.

``N_seqs`` counts sequences with at least one trained token: a fully masked completion (e.g. a
truncated one) contributes nothing and does not dilute the others.

Metrics follow the same contract: every metric is a token-level sum divided by ``N_tokens``, so
metrics are SUM-reduced over micro-batches and ranks, except keys ending in ``_max`` (MAX-reduced);
:func:`reduce_metrics` does that.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import torch
from torch import Tensor

from rlvr.registry import Registry


@dataclass(frozen=True)
class LossScale:
    """Totals of one optimizer step (every micro-batch, every rank): the loss normalisers."""

    num_tokens: float  # trained tokens (sum of the response mask)
    num_sequences: float  # sequences with at least one trained token
    max_len: float  # the generation budget in tokens (Dr. GRPO's constant)

    @classmethod
    def of(cls, mask: Tensor, max_len: float | None = None) -> LossScale:
        """Totals of one batch ``mask`` ``[B, T]``; ``max_len`` defaults to ``T``."""
        return cls(
            num_tokens=float(mask.float().sum()),
            num_sequences=float((mask.float().sum(-1) > 0).sum()),
            max_len=float(max_len if max_len is not None else mask.shape[-1]),
        )

    @classmethod
    def total(cls, scales: Iterable[LossScale]) -> LossScale:
        """Combine micro-batches' scales: tokens and sequences add up, ``max_len`` is the maximum."""
        scales = list(scales)
        return cls(
            num_tokens=sum(s.num_tokens for s in scales),
            num_sequences=sum(s.num_sequences for s in scales),
            max_len=max(s.max_len for s in scales),
        )

    def all_reduce(self, group: object | None = None) -> LossScale:
        """Combine this rank's scale with every other rank's (identity when not distributed)."""
        import torch.distributed as dist

        if not (dist.is_available() and dist.is_initialized()):
            return self
        counts = torch.tensor([self.num_tokens, self.num_sequences], dtype=torch.float64)
        longest = torch.tensor([self.max_len], dtype=torch.float64)
        if dist.get_backend(group) == "nccl":
            counts, longest = counts.cuda(), longest.cuda()
        dist.all_reduce(counts, op=dist.ReduceOp.SUM, group=group)
        dist.all_reduce(longest, op=dist.ReduceOp.MAX, group=group)
        return LossScale(float(counts[0]), float(counts[1]), float(longest[0]))


@dataclass
class LossOutput:
    """A micro-batch's loss (already globally normalised: backpropagate it as is) and its metrics."""

    loss: Tensor  # scalar
    metrics: dict[str, Tensor] = field(default_factory=dict)  # detached; see reduce_metrics


Aggregation = Callable[[Tensor, Tensor, LossScale], Tensor]

AGGREGATIONS: Registry[Aggregation] = Registry("loss aggregation", "rlvr.loss_aggregations")


def _nonzero(x: float) -> float:
    # an empty step (every completion masked) must give a zero loss, not NaN
    return x if x > 0 else 1.0


@AGGREGATIONS.register("token_mean")
def token_mean(per_token: Tensor, mask: Tensor, scale: LossScale) -> Tensor:
    return (per_token * mask).sum() / _nonzero(scale.num_tokens)


@AGGREGATIONS.register("seq_mean_token_mean")
def seq_mean_token_mean(per_token: Tensor, mask: Tensor, scale: LossScale) -> Tensor:
    per_seq = (per_token * mask).sum(-1) / mask.sum(-1).clamp(min=1)
    return per_seq.sum() / _nonzero(scale.num_sequences)


@AGGREGATIONS.register("seq_mean_token_sum")
def seq_mean_token_sum(per_token: Tensor, mask: Tensor, scale: LossScale) -> Tensor:
    return (per_token * mask).sum() / _nonzero(scale.num_sequences)


@AGGREGATIONS.register("dr_grpo")
def dr_grpo(per_token: Tensor, mask: Tensor, scale: LossScale) -> Tensor:
    return (per_token * mask).sum() / _nonzero(scale.num_sequences * scale.max_len)


def aggregate(per_token: Tensor, mask: Tensor, scale: LossScale, mode: str) -> Tensor:
    """The micro-batch's share of the step loss under aggregation ``mode``."""
    return AGGREGATIONS.get(mode)(per_token, mask.to(per_token.dtype), scale)


def token_metrics(values: dict[str, Tensor], mask: Tensor, scale: LossScale) -> dict[str, Tensor]:
    """Per-token metric tensors -> the micro-batch's share of their step-wide token mean (SUM-reducible)."""
    m = mask.to(torch.float32)
    return {k: (v.detach().float() * m).sum() / _nonzero(scale.num_tokens) for k, v in values.items()}


def masked_max(x: Tensor, mask: Tensor) -> Tensor:
    """Max of ``x`` where ``mask`` is set; ``-inf`` for an empty mask (neutral for MAX-reduction)."""
    return torch.where(mask.bool(), x.detach().float(), -torch.inf).max()


def reduce_metrics(per_micro_batch: Iterable[dict[str, Tensor | float]]) -> dict[str, float]:
    """Combine micro-batch metrics into step metrics: sum, or max for keys ending in ``_max``.

    Across ranks, all-reduce the summed tensors with SUM (``_max`` keys with MAX) before this, or
    pass each rank's reduced metrics through this once more (the trainer does).
    """
    out: dict[str, float] = {}
    for metrics in per_micro_batch:
        for k, v in metrics.items():
            x = float(v)
            if k not in out:
                out[k] = x
            else:
                out[k] = max(out[k], x) if k.endswith("_max") else out[k] + x
    return out
