"""The verifier reward: the answer key decides (the default, and the one a policy cannot talk round)."""

from __future__ import annotations

from rlvr.errors import RlvrError
from rlvr.rewards.base import REWARDS, RewardContext, RewardInput, RewardOutput
from rlvr.rewards.config import RewardConfig


class VerifierReward:
    """``reward.correct`` for a verified-correct final answer, ``reward.incorrect`` otherwise.

    The verdicts are already there (the rollout verifies every completion in its worker pool), so
    this costs nothing."""

    def __init__(self, cfg: RewardConfig, ctx: RewardContext):
        self.correct, self.incorrect = cfg.correct, cfg.incorrect

    def __call__(self, batch: list[RewardInput]) -> RewardOutput:
        unkeyed = next((x.problem.id for x in batch if x.problem.answer is None), None)
        if unkeyed is not None:
            raise RlvrError(f"reward 'verifier': problem {unkeyed!r} has no answer key; in a composite, gate the verifier with when: keyed")
        return RewardOutput([self.correct if x.verdict.correct else self.incorrect for x in batch])

    def close(self) -> None:
        pass


REWARDS.register("verifier", VerifierReward)
