"""The ``reward:`` config section: which reward a run optimises, and each built-in's settings.

One section for all rewards, with a subsection per built-in (``reward.model`` for the reward model,
``reward.judge`` for the judge, ``reward.terms`` for a composite), so that a composite's terms share
them and ``--help-config`` lists every key. Kept free of torch: configs load before any engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rlvr.config import field, section

COMPOSITE = "composite"
"""The reward that reads ``terms`` (its registered name, used where it registers)."""
REWARD_MODEL = "reward_model"
"""The reward that reads ``model`` (its registered name, used where it registers)."""


def _rewards():
    from rlvr.rewards.base import REWARDS

    return REWARDS


@dataclass
class RewardModelConfig:
    """``reward.name: reward_model``: a learned scalar reward."""

    path: str | None = field(
        None, help="reward model dir: rlvr rm's final/, or any one-label HF sequence-classification model (checked when the run starts)"
    )
    batch_size: int = field(32, ge=1, help="sequences per reward-model forward pass")
    max_length: int = field(1024, ge=2, help="longest prompt + response scored, in tokens; longer ones lose their first tokens (the end is judged)")
    dtype: Literal["float32", "bfloat16"] = field("float32", help="reward model weights dtype")


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
class GuardConfig:
    """The over-optimisation guard of ``rlvr train`` with a learned reward (see docs/learned_rewards.md).

    At each periodic held-out evaluation (``eval.every``) it compares the verified greedy accuracy
    with its best so far: when it has stayed more than ``min_drop`` below the best for ``patience``
    evaluations in a row while the proxy reward rose, the policy is gaming the proxy
    (Gao et al. 2022, "Scaling laws for reward model overoptimization")."""

    action: Literal["log", "stop", "keep_best"] = field(
        "log", help="when it fires: log it (summary.json), stop the run, or keep training but publish the best held-out checkpoint (best/) as final/"
    )
    patience: int = field(2, ge=1, help="consecutive held-out evaluations below the best before it fires")
    min_drop: float = field(0.02, ge=0, le=1, help="how far (accuracy, 0-1) below the best an evaluation must be to count")


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
    guard: GuardConfig = section(GuardConfig, "over-optimisation guard for a learned reward (needs eval.every)")

    def validate(self) -> None:
        if self.name == COMPOSITE:
            if not self.terms:
                raise ValueError("terms: a composite reward needs at least one term, e.g. [{name: verifier}, {name: reward_model, weight: 0.5}]")
            if any(t.name == COMPOSITE for t in self.terms):
                raise ValueError("terms: a composite term cannot itself be a composite; list its terms directly")
        elif self.terms:
            raise ValueError(f"terms: only read by name: {COMPOSITE} (name is {self.name!r}); remove them or set name: {COMPOSITE}")

        if self.uses(REWARD_MODEL) and not self.model.path:
            raise ValueError(f"model.path: the {REWARD_MODEL} reward needs a reward model dir (rlvr rm's final/)")

    def names(self) -> list[str]:
        """The rewards this config runs: its own name and (composite) its terms'."""
        return [self.name, *(t.name for t in self.terms)]

    def uses(self, name: str) -> bool:
        return name in self.names()

    def learned(self) -> bool:
        """Whether the reward is a proxy a policy can game: its own trait, or (composite) any term's."""
        rewards = _rewards()
        return any(rewards.traits(n).learned for n in self.names())
