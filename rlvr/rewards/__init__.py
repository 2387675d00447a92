"""Rewards by name: the verifier, a learned reward model, an LLM judge, or weighted combinations (:mod:`rlvr.rewards.base`)."""

from rlvr.rewards.base import REWARDS, Reward, RewardContext, RewardInput, RewardOutput, RewardTraits, build_reward

__all__ = ["REWARDS", "Reward", "RewardContext", "RewardInput", "RewardOutput", "RewardTraits", "build_reward"]
