"""The ``reward:`` config section: which reward a run optimises, and each built-in's settings.

One section for all rewards, with a subsection per built-in (``reward.model`` for the reward model,
``reward.judge`` for the judge, ``reward.terms`` for a composite), so that a composite's terms share
them and ``--help-config`` lists every key. Kept free of torch: configs load before any engine.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

from rlvr.config import field, section
from rlvr.generation.base import GeneratorConfig

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


def _check_rubric(name: str) -> None:
    from rlvr.rewards.judge import get_rubric

    get_rubric(name)


def _check_url(url: str) -> None:
    from rlvr.rewards.judge_client import parse_url

    parse_url(url)


@dataclass
class JudgeConfig:
    """``reward.name: judge``: an LLM grades each response against a rubric (see docs/judges.md).

    Where the judge runs: ``url`` set: an OpenAI-compatible endpoint; else ``model: self``: the
    policy's own engine (self-rewarding); else a second in-process engine (``generator``) serving
    ``model``."""

    model: str = field(
        "self", help="'self': the policy judges its own responses on its engine; else a model dir or built-in name for a second in-process engine"
    )
    url: str | None = field(None, check=_check_url, help="OpenAI-compatible endpoint (http://host:port/v1, e.g. vllm serve); overrides model")
    rubric: str = field(
        "score10", check=_check_rubric, help="grading prompt and score pattern: a built-in (rlvr/rewards/rubrics/), a plug-in, or a rubric YAML path"
    )
    api: Literal["chat", "completions"] = field(
        "chat", help="chat: messages (endpoint) or the judge tokenizer's chat template (engines); completions: the rubric text as a raw prompt"
    )
    unparsed_reward: float = field(
        0.0, help="reward for a judgement without a valid score (or a failed request); counted as judge_unparsed / judge_failures"
    )
    max_tokens: int = field(256, ge=1, help="most tokens of one judgement (its explanation and score)")
    temperature: float = field(0.0, ge=0, help="judge sampling temperature; 0 (greedy) makes a judgement repeatable and cacheable")
    generator: GeneratorConfig = section(GeneratorConfig, "second in-process engine for judge.model (unused for self and url)")
    served_model: str | None = field(None, help="endpoint: the model name the server serves (vllm serve's --served-model-name, default its --model)")
    api_key_env: str | None = field(None, help="endpoint: environment variable holding the API key (the key itself never goes in a config file)")
    timeout: float = field(60.0, gt=0, help="endpoint: seconds for one request, reading the whole response included")
    retries: int = field(3, ge=0, help="endpoint: retries of a request after a connection error, timeout, 408, 429 or 5xx (other 4xx: none)")
    backoff: float = field(
        1.0, ge=0, help="endpoint: the first retry waits up to this many seconds, doubling each retry (random jitter); Retry-After wins"
    )
    max_backoff: float = field(30.0, ge=0, help="endpoint: longest wait before a retry, Retry-After included")
    max_failures: int = field(3, ge=1, help="endpoint: this many requests failing in a row (after retries) stop the run (circuit breaker)")
    requests_per_second: float = field(0.0, ge=0, help="endpoint: rate limit (0: none)")
    concurrency: int = field(8, ge=1, help="endpoint: requests in flight at once")
    cache_size: int = field(10_000, ge=0, help="endpoint: identical requests remembered (LRU; 0: no cache)")
    max_response_bytes: int = field(1 << 20, ge=1024, help="endpoint: a longer response body is a failed request")

    def validate(self) -> None:
        if self.url and not self.served_model:
            raise ValueError("served_model is required with url (the name the server serves the judge under)")
        if self.url and self.api_key_env and not os.environ.get(self.api_key_env):
            raise ValueError(f"api_key_env: environment variable {self.api_key_env} is not set")


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
