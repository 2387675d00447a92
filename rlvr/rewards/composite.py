"""The ``composite`` reward: a weighted sum of other rewards, each counted only where its gate holds.

``reward.terms`` lists the terms; each is built by name from the same ``reward:`` section (so every
reward model or judge term shares ``reward.model`` / ``reward.judge``) and is called only on the
completions its gate admits, so a gated reward model costs nothing where it does not count. The
usual mix, "the verifier decides wherever a key exists, the reward model elsewhere"::

    reward:
      name: composite
      terms:
        - {name: verifier, when: keyed}
        - {name: reward_model, when: unkeyed}

Each term's cost metrics are logged under its name (``reward/reward_model/rm_score_mean``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from rlvr.rewards.base import REWARDS, RewardContext, RewardInput, RewardOutput, build_reward
from rlvr.rewards.config import COMPOSITE, RewardConfig

GATES: dict[str, Callable[[RewardInput], bool]] = {
    "always": lambda x: True,
    "correct": lambda x: x.verdict.correct,
    "incorrect": lambda x: not x.verdict.correct,
    "keyed": lambda x: x.problem.answer is not None,
    "unkeyed": lambda x: x.problem.answer is None,
}
"""Where a term counts, by ``RewardTerm.when`` (whose Literal lists the same names: a test keeps them equal)."""


class CompositeReward:
    def __init__(self, cfg: RewardConfig, ctx: RewardContext):
        self.terms = []
        try:
            for term in cfg.terms:
                self.terms.append((term, build_reward(cfg, ctx, name=term.name)))
        except BaseException:
            self.close()  # the terms already built hold models and engines
            raise
        # A name used by several terms gets its index in the metric prefix, so no term's costs hide another's.
        repeated = {n for n, c in Counter(t.name for t in cfg.terms).items() if c > 1}
        self.prefixes = [f"{t.name}{i}" if t.name in repeated else t.name for i, t in enumerate(cfg.terms)]

    def __call__(self, batch: list[RewardInput]) -> RewardOutput:
        total = [0.0] * len(batch)
        metrics: dict[str, float] = {}
        for (term, reward), prefix in zip(self.terms, self.prefixes):
            rows = [i for i, x in enumerate(batch) if GATES[term.when](x)]
            if not rows:
                continue
            out = reward([batch[i] for i in rows])
            if len(out.rewards) != len(rows):
                raise RuntimeError(f"reward term '{term.name}' returned {len(out.rewards)} rewards for {len(rows)} completions")
            for i, r in zip(rows, out.rewards):
                total[i] += term.weight * r
            metrics.update({f"{prefix}/{k}": v for k, v in out.metrics.items()})
        return RewardOutput(total, metrics)

    def close(self) -> None:
        for _, reward in self.terms:
            reward.close()


REWARDS.register(COMPOSITE, CompositeReward)
