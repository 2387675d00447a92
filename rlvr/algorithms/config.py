"""``algorithm``: what an RL step optimises, by registry names, and the PPO critic's settings.

The trainer never tests these names: what each entry needs (critic values, the sampling-time or
the reference logprobs, a particular loss) comes from the traits it declared in its registry (see
:func:`rlvr.rollout.experience.algorithm_needs`).
"""

from __future__ import annotations

from dataclasses import dataclass

from rlvr.algorithms.advantages import ADVANTAGE_ESTIMATORS
from rlvr.algorithms.kl import KL_ESTIMATORS
from rlvr.algorithms.losses import PolicyLossConfig
from rlvr.algorithms.sampling import RFT_CHOICES, SELECTIONS
from rlvr.algorithms.value import ValueLossConfig
from rlvr.config import field, section


@dataclass
class CriticConfig:
    """PPO's value model (built only for estimators that need critic values, e.g. gae)."""

    # Checked by the training config that loads it (resolving a model path needs transformers,
    # which this pure-maths package never imports).
    path: str | None = field(None, help="initial critic weights (null: the policy's, with a fresh value head)")
    lr: float = field(1e-4, gt=0, help="critic learning rate")
    loss: ValueLossConfig = section(ValueLossConfig, "clipped value loss")


@dataclass
class AlgorithmConfig:
    """What is optimised (all names are registry entries)."""

    estimator: str = field("grpo", choices=ADVANTAGE_ESTIMATORS, help="advantage estimator (gae trains a critic: PPO)")
    loss: PolicyLossConfig = section(PolicyLossConfig, "policy loss, aggregation, clipping, KL, entropy, truncated IS")
    select: str = field(
        "all",
        choices=SELECTIONS,
        help="which completions are trained on: all, or rft (one verified-correct completion per prompt; use loss.name=sft)",
    )
    rft_choice: str = field("shortest", choices=RFT_CHOICES, help="which correct completion RFT keeps")
    dynamic_sampling: bool = field(True, help="drop groups whose rewards are all equal and refill the batch (DAPO)")
    max_refill_rounds: int = field(2, ge=0, help="extra generation rounds to refill the batch after dynamic sampling")
    mask_truncated: bool = field(True, help="train on no token of completions that hit max_tokens")
    kl_reward_coef: float = field(0.0, ge=0, help="KL-to-reference penalty folded into per-token rewards (0: off)")
    kl_reward_estimator: str = field("k1", choices=KL_ESTIMATORS, help="KL estimator for the reward penalty")
    epochs: int = field(1, ge=1, help="passes over each step's experience (PPO epochs; >1 makes later passes off-policy)")
    mini_batches: int = field(
        1,
        ge=1,
        help="optimizer steps per epoch: each takes 1/mini_batches of the step's prompt groups (whole groups; PPO mini-batches, "
        "verl's ppo_mini_batch_size); the ratio is taken against the sampling-time policy, so later mini-batches are clipped",
    )
    gamma: float = field(1.0, ge=0, le=1, help="discount for gae / reinforce_pp")
    lam: float = field(1.0, ge=0, le=1, help="GAE lambda")
    critic: CriticConfig = section(CriticConfig, "value model for estimators that need critic values (gae: PPO)")

    @property
    def optimizer_steps_per_update(self) -> int:
        """Optimizer steps one trainer step takes: every mini-batch of every epoch."""
        return self.epochs * self.mini_batches

    def validate(self) -> None:
        wants = SELECTIONS.traits(self.select).loss
        if wants is not None and self.loss.name != wants:
            raise ValueError(f"select: {self.select} trains with the {wants} loss; set algorithm.loss.name={wants}")
