"""Rewards from verdicts.

The reward is the verifier's judgement of the final answer, optionally plus a small format reward
(an answer was found where the template's marker says it should be) and DAPO's soft overlong
penalty (a linear ramp over the last ``overlong_buffer`` tokens before the length limit, so that
rambling is discouraged before it is truncated rather than only when it is).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from rlvr.algorithms.sampling import overlong_penalty
from rlvr.config import field
from rlvr.rollout.sample import ScoredCompletion


@dataclass
class RewardConfig:
    """How verdicts become scalar rewards."""

    correct: float = field(1.0, help="reward for a verified-correct final answer")
    incorrect: float = field(0.0, help="reward for a wrong (or missing) final answer")
    format_reward: float = field(0.0, help="bonus when a final answer was extracted at all (0: off)")
    overlong_buffer: int = field(0, ge=0, help="DAPO soft overlong penalty over this many tokens before max_tokens (0: off)")
    overlong_penalty: float = field(1.0, ge=0, help="penalty at the length limit when overlong_buffer > 0")


def compute_rewards(correct: torch.Tensor, has_answer: torch.Tensor, lengths: torch.Tensor, max_tokens: int, cfg: RewardConfig) -> torch.Tensor:
    """[B] float rewards from [B] verdicts, [B] answer-found flags and [B] completion lengths."""
    rewards = torch.where(correct, torch.tensor(cfg.correct), torch.tensor(cfg.incorrect)).float()
    if cfg.format_reward:
        rewards = rewards + cfg.format_reward * has_answer.float()
    if cfg.overlong_buffer > 0:
        rewards = rewards + overlong_penalty(lengths, max_tokens, cfg.overlong_buffer, cfg.overlong_penalty)
    return rewards


def assign_rewards(groups: list[list[ScoredCompletion]], max_tokens: int, cfg: RewardConfig) -> None:
    """Set ``reward`` on every completion of ``groups``, in the rollout thread, where dynamic
    sampling needs it first; the step's experience carries it on, so rewards are computed once."""
    flat = [s for g in groups for s in g]
    if not flat:
        return
    rewards = compute_rewards(
        torch.tensor([s.correct for s in flat]),
        torch.tensor([s.verdict.extracted is not None for s in flat]),
        torch.tensor([len(s.completion.token_ids) for s in flat]),
        max_tokens,
        cfg,
    )
    for s, r in zip(flat, rewards.tolist()):
        s.reward = r
