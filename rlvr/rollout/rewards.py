"""Rewards of a rollout: the configured reward (:mod:`rlvr.rewards`), then shaping terms.

The reward (by default the verifier's judgement of the final answer) is computed once per
completion, in the rollout thread, where dynamic sampling needs it first; the step's experience
carries it on. Two optional shaping terms are added to whatever the reward is: a small format
reward (an answer was found where the template's marker says it should be) and DAPO's soft overlong
penalty (a linear ramp over the last ``overlong_buffer`` tokens before the length limit, so that
rambling is discouraged before it is truncated rather than only when it is).
"""

from __future__ import annotations

import time

import torch

from rlvr.algorithms.sampling import overlong_penalty
from rlvr.rewards import Reward, RewardInput
from rlvr.rewards.config import RewardConfig
from rlvr.rollout.sample import ScoredCompletion


def shaping(has_answer: torch.Tensor, lengths: torch.Tensor, max_tokens: int, cfg: RewardConfig) -> torch.Tensor:
    """[B] format and overlong terms from [B] answer-found flags and [B] completion lengths."""
    out = cfg.format_reward * has_answer.float()
    if cfg.overlong_buffer > 0:
        out = out + overlong_penalty(lengths, max_tokens, cfg.overlong_buffer, cfg.overlong_penalty)
    return out


def assign_rewards(groups: list[list[ScoredCompletion]], prompts: list[str], reward: Reward, max_tokens: int, cfg: RewardConfig) -> dict[str, float]:
    """Set ``reward`` on every completion of ``groups`` (``prompts``: each group's rendered prompt
    text); return what the reward reported it cost, with its wall time as ``seconds``."""
    flat = [(s, prompt) for g, prompt in zip(groups, prompts) for s in g]
    if not flat:
        return {}
    t0 = time.perf_counter()
    inputs = [
        RewardInput(s.problem, prompt, s.completion.text, s.verdict, len(s.completion.token_ids), s.completion.finish_reason == "length")
        for s, prompt in flat
    ]
    out = reward(inputs)
    if len(out.rewards) != len(inputs):
        raise RuntimeError(f"reward '{cfg.name}' returned {len(out.rewards)} rewards for {len(inputs)} completions")
    rewards = torch.tensor(out.rewards, dtype=torch.float32) + shaping(
        torch.tensor([s.verdict.extracted is not None for s, _ in flat]), torch.tensor([x.tokens for x in inputs]), max_tokens, cfg
    )
    for (s, _), r in zip(flat, rewards.tolist()):
        s.reward = r
    return {**out.metrics, "seconds": time.perf_counter() - t0}
