"""The reward interface and its registry (entry-point group ``rlvr.rewards``).

A reward turns a batch of finished completions into one float each. Built-ins:

* ``verifier``: the answer key decides (``reward.correct`` / ``reward.incorrect``); the default.
* ``reward_model``: a learned scalar reward model (``rlvr rm``'s output, or any one-label HF
  sequence-classification model) scores ``prompt + response``.
* ``judge``: an LLM grades each response against a rubric, on the policy's own engine
  (``judge.model: self``, self-rewarding), a second in-process engine, or any OpenAI-compatible
  endpoint.
* ``composite``: weighted terms of the others, each optionally gated by the verdict or by whether
  the problem has an answer key.

A reward is built once per run by its factory, ``REWARDS.get(name)(cfg, ctx)``, where ``cfg`` is
the whole ``reward:`` section (:class:`~rlvr.rewards.config.RewardConfig`; each built-in reads its
own subsection) and ``ctx`` what the run can lend it (:class:`RewardContext`). It is called in the
rollout thread, after the verifier, so every input carries its verdict; the verified accuracy is
therefore always known beside a learned reward, which is how over-optimisation is measured.

Every call reports what it cost (``RewardOutput.metrics``: seconds, and for a judge the requests,
tokens and cache hits), which the trainer logs per step under ``reward/``.

A plug-in registers a factory under its own name::

    [project.entry-points."rlvr.rewards"]
    my-reward = "my_pkg.rewards:build"      # build(cfg: RewardConfig, ctx: RewardContext) -> Reward

and declares its traits by registering itself with them (``REWARDS.register("my-reward", learned=True)``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from rlvr.data import Problem
from rlvr.registry import Registry
from rlvr.verifiers import Verdict

if TYPE_CHECKING:
    from rlvr.rewards.config import RewardConfig


@dataclass
class RewardInput:
    """One finished completion to score."""

    problem: Problem  # the question and, when it has one, its answer key
    prompt: str  # the rendered prompt text the policy continued (ends with the template's response prefix)
    response: str  # the completion's text: what follows ``prompt``
    verdict: Verdict  # the verifier's verdict on the response
    tokens: int  # completion length in tokens
    truncated: bool  # the completion hit the length limit


@dataclass
class RewardOutput:
    """One reward per input, in input order, and what producing them cost."""

    rewards: list[float]
    metrics: dict[str, float] = field(default_factory=dict)  # summed over calls of a step; logged as reward/<key>


@dataclass
class RewardContext:
    """What a run lends its reward: built once, before the first step."""

    tokenizer: Any  # the policy's tokenizer
    template: Any  # the prompt template (rlvr.prompts.Template)
    max_tokens: int  # the policy's generation budget per completion
    generator: Any = None  # the policy's engine (a judge with judge.model: self runs on it); None where there is none
    device: str = "cpu"  # where a learned reward runs: the learner's device
    seed: int = 0


class Reward(Protocol):
    """A built reward: call it on a batch; close it at the end of the run."""

    def __call__(self, batch: list[RewardInput]) -> RewardOutput: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class RewardTraits:
    """What a reward says about itself that the trainer acts on."""

    learned: bool = False  # a proxy that can be gamed (RM, judge): verified accuracy is logged beside it and the over-optimisation guard applies


RewardFactory = Callable[["RewardConfig", RewardContext], Reward]

REWARDS: Registry[RewardFactory] = Registry(
    "reward",
    "rlvr.rewards",
    traits=RewardTraits,
    modules={
        "verifier": "rlvr.rewards.verifier",
        "reward_model": "rlvr.rewards.reward_model",
        "judge": "rlvr.rewards.judge",
        "composite": "rlvr.rewards.composite",
    },
)


def build_reward(cfg: RewardConfig, ctx: RewardContext, name: str | None = None) -> Reward:
    """The reward ``name`` (default ``cfg.name``) built from the ``reward:`` section ``cfg``."""
    return REWARDS.get(name or cfg.name)(cfg, ctx)
