"""Preference losses: DPO, IPO, SimPO (paired) and KTO (unpaired), on per-sequence log-likelihoods.

The trainer (:mod:`rlvr.training.preference`) sums the learner's token logprobs of each completion
(given its prompt) into one number per sequence, and does the same with a frozen reference model
for the losses whose traits say ``needs_reference``. A loss in :data:`PREFERENCE_LOSSES` maps a
:class:`PreferenceInput` to one loss term per pair (``paired``) or per labelled completion, plus the
implicit rewards and ``preference_accuracy`` (paired: the chosen completion's implicit reward is the
higher; KTO: the reward is on the side of ``z0`` its label says); :func:`compute_preference_loss` divides their sum by the step's global count
(:class:`PreferenceScale`), so the micro-batch losses of a step add up to the full batch's mean,
whatever the split (the contract of ``docs/loss_contract.md``, with pairs for tokens).

Notation: ``pi_c``, ``pi_r`` the policy's summed logprobs of the chosen and rejected completions,
``ref_c``, ``ref_r`` the reference's, ``h = (pi_c - ref_c) - (pi_r - ref_r)``.

- ``dpo`` (Rafailov et al. 2023, "Direct Preference Optimization"): ``-log sigma(beta h)``: the
  Bradley-Terry likelihood of the preference under the implicit reward ``beta (pi - ref)``, whose
  optimum is the KL-regularised RLHF policy. With ``label_smoothing`` ``eps`` it is conservative
  DPO (cDPO, Mitchell 2023): the label is assumed flipped with probability ``eps``, so the loss is
  ``-(1 - eps) log sigma(beta h) - eps log sigma(-beta h)`` and stops pushing once the margin is large.
- ``ipo`` (Azar et al. 2023, "A General Theoretical Paradigm to Understand Learning from Human
  Preferences"): ``(h - 1 / (2 tau))^2`` with ``tau = beta``, on the *summed* sequence log-ratios
  as in the paper's ``h_pi``. DPO's log-sigmoid keeps rewarding a growing margin, which over-fits
  deterministic preferences (the reference's KL no longer binds); the squared loss regresses the
  margin to a finite target instead.
- ``simpo`` (Meng et al. 2024, "SimPO: Simple Preference Optimization with a Reference-Free
  Reward"): ``-log sigma(beta (pi_c / |y_c| - pi_r / |y_r|) - gamma)``. The implicit reward is the
  length-normalised log-likelihood, the quantity generation ranks by, so no reference model is
  needed (half the forward passes) and long completions get no free reward from their length; the
  margin ``gamma`` asks for a gap, as in a hinge.
- ``kto`` (Ethayarajh et al. 2024, "KTO: Model Alignment as Prospect Theoretic Optimization"):
  unpaired good/bad completions. With ``r = pi - ref`` and the reference point ``z0``, a desirable
  completion costs ``lambda_D (1 - sigma(beta (r - z0)))``, an undesirable one
  ``lambda_U (1 - sigma(beta (z0 - r)))``. ``z0`` estimates ``KL(pi || ref)`` from *mismatched*
  completions (prompt ``i`` with the completion of example ``i + 1``, as TRL's KTOTrainer pairs
  them), clamped at 0 and detached: a completion is only rewarded for beating what the policy's
  drift alone would give, and no gradient flows through the baseline (the paper's choice, for
  stability). :func:`kto_reference_point` computes it once per optimizer step over the whole
  batch, so micro-batching does not change it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from rlvr.config import field
from rlvr.registry import Registry

__all__ = [
    "PREFERENCE_LOSSES",
    "PreferenceInput",
    "PreferenceLossConfig",
    "PreferenceOutput",
    "PreferenceScale",
    "PreferenceTraits",
    "Sequences",
    "compute_preference_loss",
    "kto_reference_point",
]


@dataclass
class PreferenceLossConfig:
    """Which preference loss, and its coefficients (each loss reads its own)."""

    name: str = field("dpo", choices=lambda: PREFERENCE_LOSSES, help="preference loss: dpo, ipo, simpo (paired) or kto (labelled completions)")
    beta: float = field(
        0.1, gt=0, help="dpo/kto: KL strength beta of the implicit reward; ipo: tau (margin target 1/(2 tau)); simpo: reward scale (paper: 2-2.5)"
    )
    label_smoothing: float = field(0.0, ge=0, lt=0.5, help="dpo: probability that a preference label is flipped (cDPO); 0: plain DPO")
    simpo_gamma: float = field(0.5, ge=0, help="simpo: target margin gamma between the length-normalised rewards (paper: 0.5-1.6)")
    desirable_weight: float = field(1.0, gt=0, help="kto: lambda_D, weight of desirable completions")
    undesirable_weight: float = field(
        1.0, gt=0, help="kto: lambda_U, weight of undesirable completions (paper: keep lambda_D n_D / lambda_U n_U in [1, 4/3])"
    )


@dataclass(frozen=True)
class PreferenceTraits:
    """What a loss needs (declared when registered): the trainer loads a reference model and builds
    pairs or labelled completions from these, never from the loss's name."""

    needs_reference: bool = True  # summed logprobs of a frozen reference model
    paired: bool = True  # (chosen, rejected) pairs; False: labelled completions (KTO)


@dataclass
class Sequences:
    """Per-sequence log-likelihoods of a batch of completions, ``[N]`` each."""

    logps: Tensor  # the policy's summed logprobs of each completion (requires grad)
    tokens: Tensor  # completion tokens (the length normaliser)
    ref_logps: Tensor | None = None  # the reference's (detached); None for reference-free losses

    def log_ratio(self) -> Tensor:
        if self.ref_logps is None:
            raise ValueError("this preference loss needs the reference model's logprobs")
        return self.logps - self.ref_logps.detach()


@dataclass(kw_only=True)
class PreferenceInput:
    """One micro-batch: pairs (``chosen[i]`` preferred to ``rejected[i]``) for a paired loss, or
    ``completions`` with boolean ``labels`` (True: desirable) and the step's ``z0`` for KTO."""

    chosen: Sequences | None = None
    rejected: Sequences | None = None
    completions: Sequences | None = None
    labels: Tensor | None = None
    z0: Tensor | None = None  # KTO's reference point (kto_reference_point), a detached scalar


@dataclass(frozen=True)
class PreferenceScale:
    """The optimizer step's totals over every micro-batch and rank: the loss and metric normalisers."""

    examples: float  # pairs (paired losses) or labelled completions (KTO)
    desirable: float = 0.0  # KTO: completions labelled good
    undesirable: float = 0.0  # KTO: completions labelled bad


@dataclass
class PreferenceTerms:
    """What a registered loss returns: per-example loss ``[N]`` and per-example metrics ``[N]``,
    each with the total it is averaged over (``"examples"``, ``"desirable"`` or ``"undesirable"``)."""

    loss: Tensor
    metrics: dict[str, tuple[Tensor, str]]


@dataclass
class PreferenceOutput:
    """A micro-batch's share of the step's mean loss (backpropagate as is) and of each metric."""

    loss: Tensor
    metrics: dict[str, Tensor]


PreferenceLoss = Callable[[PreferenceInput, PreferenceLossConfig], PreferenceTerms]

PREFERENCE_LOSSES: Registry[PreferenceLoss] = Registry("preference loss", "rlvr.preference_losses", traits=PreferenceTraits)


def _paired_metrics(reward_c: Tensor, reward_r: Tensor) -> dict[str, tuple[Tensor, str]]:
    """Implicit rewards of both sides, their margin, and whether the chosen one wins (preference accuracy)."""
    reward_c, reward_r = reward_c.detach(), reward_r.detach()
    return {
        "reward_chosen": (reward_c, "examples"),
        "reward_rejected": (reward_r, "examples"),
        "reward_margin": (reward_c - reward_r, "examples"),
        "preference_accuracy": ((reward_c > reward_r).float(), "examples"),
    }


def _pair(inp: PreferenceInput) -> tuple[Sequences, Sequences]:
    if inp.chosen is None or inp.rejected is None:
        raise ValueError("a paired preference loss needs PreferenceInput.chosen and .rejected")
    return inp.chosen, inp.rejected


@PREFERENCE_LOSSES.register("dpo")
def dpo(inp: PreferenceInput, cfg: PreferenceLossConfig) -> PreferenceTerms:
    """DPO with optional label smoothing (cDPO); rewards ``beta (pi - ref)``."""
    c, r = _pair(inp)
    reward_c, reward_r = cfg.beta * c.log_ratio(), cfg.beta * r.log_ratio()
    logits = reward_c - reward_r
    eps = cfg.label_smoothing
    loss = -(1 - eps) * F.logsigmoid(logits) - eps * F.logsigmoid(-logits)
    return PreferenceTerms(loss, _paired_metrics(reward_c, reward_r))


@PREFERENCE_LOSSES.register("ipo")
def ipo(inp: PreferenceInput, cfg: PreferenceLossConfig) -> PreferenceTerms:
    """IPO on summed log-ratios, ``tau = beta``; rewards ``pi - ref`` (the margin regresses to ``1/(2 tau)``)."""
    c, r = _pair(inp)
    reward_c, reward_r = c.log_ratio(), r.log_ratio()
    loss = (reward_c - reward_r - 1 / (2 * cfg.beta)) ** 2
    return PreferenceTerms(loss, _paired_metrics(reward_c, reward_r))


@PREFERENCE_LOSSES.register("simpo", needs_reference=False)
def simpo(inp: PreferenceInput, cfg: PreferenceLossConfig) -> PreferenceTerms:
    """SimPO: reference-free, length-normalised rewards ``beta pi / |y|``, margin ``gamma``."""
    c, r = _pair(inp)
    reward_c = cfg.beta * c.logps / c.tokens.clamp(min=1)
    reward_r = cfg.beta * r.logps / r.tokens.clamp(min=1)
    loss = -F.logsigmoid(reward_c - reward_r - cfg.simpo_gamma)
    return PreferenceTerms(loss, _paired_metrics(reward_c, reward_r))


@PREFERENCE_LOSSES.register("kto", paired=False)
def kto(inp: PreferenceInput, cfg: PreferenceLossConfig) -> PreferenceTerms:
    """KTO's value-function loss against the reference point ``z0``; rewards ``beta (pi - ref)``."""
    if inp.completions is None or inp.labels is None or inp.z0 is None:
        raise ValueError("kto needs PreferenceInput.completions, .labels and .z0")
    good = inp.labels.bool()
    reward = cfg.beta * inp.completions.log_ratio()
    shifted = reward - cfg.beta * inp.z0.detach()
    loss = torch.where(good, cfg.desirable_weight * (1 - torch.sigmoid(shifted)), cfg.undesirable_weight * (1 - torch.sigmoid(-shifted)))
    r = reward.detach()
    zero = torch.zeros_like(r)
    return PreferenceTerms(
        loss,
        {
            "reward_desirable": (torch.where(good, r, zero), "desirable"),
            "reward_undesirable": (torch.where(good, zero, r), "undesirable"),
            # the label the implicit reward gives (above or below the reference point) agrees with the data's
            "preference_accuracy": (((shifted.detach() > 0) == good).float(), "examples"),
        },
    )


def kto_reference_point(mismatched: Sequences) -> Tensor:
    """KTO's ``z0``: the mean log-ratio ``pi / ref`` of mismatched (prompt, completion) pairs, an
    estimate of ``KL(pi || ref)`` that carries no gradient and is clamped at 0 (a KL is never
    negative; the estimate can be, from noise). Pass every micro-batch's and rank's sequences, so
    that it is one number per optimizer step."""
    with torch.no_grad():
        return mismatched.log_ratio().detach().mean().clamp(min=0)


def compute_preference_loss(inp: PreferenceInput, scale: PreferenceScale, cfg: PreferenceLossConfig) -> PreferenceOutput:
    """The micro-batch's share of the step's mean loss, and its metric shares (summed over the
    micro-batches of a step by :func:`rlvr.algorithms.aggregation.reduce_metrics`)."""
    terms = PREFERENCE_LOSSES.get(cfg.name)(inp, cfg)
    totals = {"examples": scale.examples, "desirable": scale.desirable, "undesirable": scale.undesirable}
    loss = terms.loss.sum() / max(scale.examples, 1.0)
    # a metric over a subset the step lacks (no undesirable completion) is left out, not reported as 0
    metrics = {k: v.detach().sum() / totals[over] for k, (v, over) in terms.metrics.items() if totals[over] > 0}
    metrics["loss"] = loss.detach()
    return PreferenceOutput(loss, metrics)
