"""Pure functions that shape the sampled batch before advantages: DAPO's dynamic sampling,
overlong reward shaping, masks for end-of-sequence and truncated completions, and the choice of
completions for rejection-sampling fine-tuning.

Which completions a step trains on is a registry entry (:data:`SELECTIONS`, ``algorithm.select``):
``all``, or ``rft`` (one verified-correct completion per prompt). A selection declares the policy
loss it is meant for (:class:`SelectionTraits`), which the config checks when it loads.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from rlvr.algorithms.advantages import Groups
from rlvr.registry import Registry


def dynamic_sampling_mask(rewards: Tensor, group_ids: Tensor) -> Tensor:
    """``[B]`` bool: keep completions whose group's rewards are not all equal (DAPO dynamic sampling).

    A group whose completions all score the same (all solved, all failed) has zero advantage under
    every group-baseline estimator, so it adds no gradient but still dilutes the token/sequence
    normalisers and costs learner time. DAPO drops such groups and samples more prompts until the
    batch is full again; the refill is the loop's job, this says which completions to keep.
    """
    g = Groups.of(group_ids)
    return ~g.constant(rewards.float())[g.index]


def overlong_penalty(lengths: Tensor, max_len: int, buffer: int, penalty: float = 1.0) -> Tensor:
    """DAPO soft overlong punishment ``[B]`` (<= 0), to add to the rewards.

    0 up to ``max_len - buffer`` tokens, then falling linearly to ``-penalty`` at ``max_len``
    (and ``-penalty`` beyond). Truncated answers are usually wrong for reasons unrelated to the
    reasoning; a hard penalty at the limit is noise, the ramp tells the policy *that* it is getting
    too long before it is cut off.
    """
    if buffer <= 0:
        raise ValueError(f"overlong buffer must be > 0 tokens, got {buffer}")
    start = max_len - buffer
    excess = (lengths.float() - start).clamp(min=0, max=buffer)
    return -penalty * excess / buffer


def completion_mask(token_ids: Tensor, eos_token_ids: int | Sequence[int], valid: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Response mask up to and including the first end-of-sequence token, and which rows never ended.

    ``token_ids`` ``[B, T]`` are the generated tokens (right-padded); ``valid`` marks real (non-pad)
    positions. Returns ``(mask [B, T] float, truncated [B] bool)``. Anything a generator emits after
    its first EOS (padding, or tokens a batched ``generate`` kept producing) must not be trained on.
    """
    eos_list = list(eos_token_ids) if isinstance(eos_token_ids, Sequence) else [eos_token_ids]
    eos = torch.tensor(eos_list, dtype=token_ids.dtype, device=token_ids.device)
    valid = torch.ones_like(token_ids, dtype=torch.bool) if valid is None else valid.bool()
    is_eos = torch.isin(token_ids, eos) & valid
    # number of EOS strictly before each position: 0 means "not yet ended"
    eos_before = torch.cumsum(is_eos.int(), dim=1) - is_eos.int()
    mask = valid & (eos_before == 0)
    truncated = ~is_eos.any(dim=1)
    return mask.float(), truncated


def mask_truncated(response_mask: Tensor, truncated: Tensor) -> Tensor:
    """Zero the response mask of truncated completions (hit the length limit without an EOS).

    A truncated completion's reward says little about its tokens (it may have been on track), so
    DAPO-style overlong filtering trains on none of it. Their sequences then also drop out of
    ``LossScale.num_sequences``.
    """
    return response_mask * (~truncated.bool()).to(response_mask.dtype)[:, None]


RftKey = Callable[[Tensor, Tensor], Tensor]

# Rejection-sampling fine-tuning keeps one verified-correct completion per prompt: the one with the
# smallest key. Keys are (length, index) -> float, lower is preferred.
RFT_CHOICES: Registry[RftKey] = Registry("RFT choice rule", "rlvr.rft_choices")


@RFT_CHOICES.register("shortest")
def _shortest(lengths: Tensor, index: Tensor) -> Tensor:
    # shortest correct answer: the least padding-of-reasoning to imitate; ties go to the first
    return lengths.double() * (len(index) + 1) + index.double()


@RFT_CHOICES.register("first")
def _first(lengths: Tensor, index: Tensor) -> Tensor:
    return index.double()


def rejection_sampling_mask(correct: Tensor, group_ids: Tensor, lengths: Tensor, choose: str = "shortest") -> Tensor:
    """``[B]`` bool: one verified-correct completion per prompt group (none if the group has none).

    Rejection-sampling fine-tuning (``algorithm: rft``) trains with the SFT loss on these only:
    the simplest "reinforce what worked" baseline.
    """
    index = torch.arange(len(correct), device=correct.device)
    key = torch.where(correct.bool(), RFT_CHOICES.get(choose)(lengths, index), torch.inf)
    g = Groups.of(group_ids)
    best = torch.full((len(g.ids),), torch.inf, dtype=key.dtype, device=key.device).scatter_reduce(0, g.index, key, "amin")
    return correct.bool() & (key == best[g.index])


@dataclass(kw_only=True)
class SelectionInput:
    """The step's completions, ``[B]`` each, as a selection sees them."""

    correct: Tensor  # bool, the verifier's verdicts
    group_ids: Tensor  # long, one id per prompt
    lengths: Tensor  # long, completion tokens
    rft_choice: str = "shortest"  # which correct completion ``rft`` keeps (an RFT_CHOICES name)


@dataclass(frozen=True)
class SelectionTraits:
    """What a selection declares when registered."""

    loss: str | None = None  # the policy loss it trains with (None: any)


Selection = Callable[[SelectionInput], "Tensor | None"]

# ``[B]`` bool: the completions trained on; None keeps every completion.
SELECTIONS: Registry[Selection] = Registry("completion selection", "rlvr.selections", traits=SelectionTraits)


@SELECTIONS.register("all")
def _select_all(inp: SelectionInput) -> Tensor | None:
    return None


@SELECTIONS.register("rft", loss="sft")
def _select_rft(inp: SelectionInput) -> Tensor | None:
    # imitating the kept completions is the SFT loss: with a policy-gradient loss their advantages would be meaningless
    return rejection_sampling_mask(inp.correct, inp.group_ids, inp.lengths, inp.rft_choice)
