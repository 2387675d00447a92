"""The ``reward:`` config section: which reward a run optimises, and each built-in's settings.

One section for all rewards, with a subsection per built-in (``reward.model`` for the reward model,
``reward.judge`` for the judge, ``reward.terms`` for a composite), so that a composite's terms share
them and ``--help-config`` lists every key. Kept free of torch: configs load before any engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rlvr.config import field, section


def _rewards():
    from rlvr.rewards.base import REWARDS

    return REWARDS


@dataclass
class RewardModelConfig:
    """``reward.name: reward_model``: a learned scalar reward."""

    path: str | None = field(None, help="reward model dir: rlvr rm's final/, or any HF sequence-classification model with one label")
    batch_size: int = field(32, ge=1, help="sequences per reward-model forward pass")


@dataclass
class JudgeConfig:
    """``reward.name: judge``: an LLM grades each response against a rubric."""

    model: str = field("self", help="'self': the policy judges its own responses on its engine; else a model dir for a second in-process engine")
    url: str | None = field(None, help="OpenAI-compatible endpoint (http://host:port/v1, e.g. vllm serve); overrides model")


@dataclass
class RewardTerm:
    """One weighted term of a composite reward."""

    name: str = field(help="a reward name (verifier, reward_model, judge or a plug-in)", choices=_rewards)
    weight: float = field(1.0, help="the term's weight in the sum")
    when: Literal["always", "correct", "incorrect", "keyed", "unkeyed"] = field(
        "always", help="where the term counts: always, where the verifier says correct / incorrect, where the problem has an answer key / has none"
    )


@dataclass
class RewardConfig:
    """What a completion is worth: a reward by name (see :mod:`rlvr.rewards.base`), then shaping terms."""

    name: str = field("verifier", choices=_rewards, help="reward: verifier, reward_model, judge, composite, or a plug-in (entry points rlvr.rewards)")
    correct: float = field(1.0, help="verifier: reward for a verified-correct final answer")
    incorrect: float = field(0.0, help="verifier: reward for a wrong (or missing) final answer")
    format_reward: float = field(0.0, help="bonus when a final answer was extracted at all (0: off); added to any reward")
    overlong_buffer: int = field(0, ge=0, help="DAPO soft overlong penalty over this many tokens before max_tokens (0: off); added to any reward")
    overlong_penalty: float = field(1.0, ge=0, help="penalty at the length limit when overlong_buffer > 0")
    model: RewardModelConfig = section(RewardModelConfig, "reward_model: the learned reward")
    judge: JudgeConfig = section(JudgeConfig, "judge: the LLM judge and its endpoint")
    terms: list[RewardTerm] = field(
        default_factory=list, help="composite: weighted, optionally gated terms, e.g. [{name: verifier}, {name: reward_model, weight: 0.5}]"
    )
