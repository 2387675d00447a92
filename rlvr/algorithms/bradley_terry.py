"""The Bradley-Terry reward-model loss and its pairwise accuracy.

Bradley and Terry (1952) model a preference as ``P(chosen > rejected) = sigmoid(r_c - r_r)``, so a
scalar reward ``r`` is fitted by the negative log-likelihood of the observed preferences:

    loss = -log sigmoid(r_chosen - r_rejected - m)

(InstructGPT, Ouyang et al. 2022, eq. 1). Only differences of rewards enter, so the loss fixes ``r``
up to a constant; the policy optimised against it does not care, but a reward mixed with other
terms or clipped does. Two options address what plain BT leaves open:

* **margin** ``m`` (Llama 2, Touvron et al. 2023, sec. 3.2.2): a pair labelled "much better" must
  be separated by more than one labelled "slightly better"; ``m`` is the pair's own ``margin``
  times a scale, 0 for pairs without one.
* **centring** (Eisenstein et al. 2023, "Helping or Herding?"; OpenRLHF's ``aux_loss``): a penalty
  ``coef * (r_chosen + r_rejected)**2`` pins the mean reward near 0 so that rewards of different
  runs, or of a reward model and a verifier, sit on one scale.

Computed with ``logsigmoid`` (never ``log(sigmoid(x))``, which is ``-inf`` once ``x`` is below
about -100 in float32). Pure tensor code: the trainer sums the per-pair values over a step and
divides by the step's pair count, so the micro-batch split never changes the objective.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch.nn.functional as F
from torch import Tensor


@dataclass
class PairLosses:
    """Per-pair values ``[P]``: sum them and divide by the pairs of the step."""

    loss: Tensor  # BT loss plus the centring penalty: what is differentiated
    correct: Tensor  # 1.0 where r_chosen > r_rejected, the pairwise accuracy's terms (a tie counts as wrong: the model has not decided)
    margin: Tensor  # r_chosen - r_rejected


def bradley_terry(chosen: Tensor, rejected: Tensor, margin: Tensor | None = None, center_coef: float = 0.0) -> PairLosses:
    """BT losses of pairs whose rewards are ``chosen`` and ``rejected`` (``[P]`` each).

    ``margin``: the required separation of each pair (``[P]``, already scaled; None for none);
    ``center_coef``: weight of the ``(r_chosen + r_rejected)**2`` centring penalty.
    """
    diff = chosen.float() - rejected.float()
    target = diff if margin is None else diff - margin.to(diff)
    loss = -F.logsigmoid(target)
    if center_coef:
        loss = loss + center_coef * (chosen.float() + rejected.float()).square()
    return PairLosses(loss=loss, correct=(diff > 0).float(), margin=diff.detach())
