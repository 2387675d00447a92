"""Preference data from verified rollouts: a correct completion is preferred to an incorrect one.

For each prompt the policy samples a group; the verifier splits it into correct and incorrect
completions, and every (correct, incorrect) combination is a pair (at most ``max_pairs`` per
prompt, drawn at random so that no completion dominates). Groups that are all correct or all wrong
give no pair (nothing to prefer) but still give labels, which KTO uses unpaired. ``rlvr data
pairs`` writes these to JSONL; iterative DPO builds them in memory each round.
"""

from __future__ import annotations

import itertools
import random

from rlvr.data.preferences import LabeledCompletion, PreferencePair
from rlvr.rollout.sample import ScoredCompletion


def pairs_from_groups(groups: list[list[ScoredCompletion]], prompts: list[str], max_pairs: int | None = None, seed: int = 0) -> list[PreferencePair]:
    """(correct, incorrect) pairs of each group, with the group's rendered prompt text."""
    rng = random.Random(seed)
    out: list[PreferencePair] = []
    for group, prompt in zip(groups, prompts):
        good = [s for s in group if s.correct]
        bad = [s for s in group if not s.correct]
        combos = list(itertools.product(good, bad))
        if max_pairs is not None and len(combos) > max_pairs:
            combos = rng.sample(combos, max_pairs)
        out += [PreferencePair(prompt, g.completion.text, b.completion.text, g.problem.id) for g, b in combos]
    return out


def labels_from_groups(groups: list[list[ScoredCompletion]], prompts: list[str]) -> list[LabeledCompletion]:
    """Every completion with its verdict as the label."""
    return [LabeledCompletion(prompt, s.completion.text, s.correct, s.problem.id) for group, prompt in zip(groups, prompts) for s in group]
