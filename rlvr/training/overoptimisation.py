"""Over-optimisation of a learned reward, measured against the verifier (``reward.guard``).

A reward model or judge is a proxy: pushed hard enough, the policy finds what the proxy likes that
is not right, and the proxy score keeps rising while the true quality falls (Gao, Schulman, Hilton
2022, "Scaling Laws for Reward Model Overoptimization"). Here the true quality is measurable: the
verifier still checks every completion, so ``rlvr train`` logs the verified accuracy beside the
proxy every step and compares held-out greedy accuracy at each periodic evaluation.

The guard's rule (:func:`gaming`): held-out accuracy has been more than ``min_drop`` below its best
for the last ``patience`` evaluations, while the proxy reward, averaged over the steps since the
best, is above its average over the steps that led to the best. A fall with a falling proxy is
ordinary instability, not gaming, and does not fire.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rlvr.rewards.config import GuardConfig


@dataclass(frozen=True)
class GuardView:
    """What the guard sees after an evaluation."""

    best_step: int
    best: float  # best held-out accuracy so far
    below: int  # evaluations in a row, ending with the latest, more than min_drop below the best
    proxy_rose: bool  # mean proxy since the best > mean proxy over the steps that led to it
    fired: bool


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)


def gaming(evals: list[tuple[int, float]], proxy: list[tuple[int, float]], patience: int, min_drop: float) -> GuardView:
    """The guard's decision from ``evals`` (step, held-out accuracy), in step order, and ``proxy``
    (step, proxy reward of that step's batch). The earliest of equal bests counts."""
    best_i = max(range(len(evals)), key=lambda i: (evals[i][1], -i))
    best_step, best = evals[best_i]
    below = 0
    for _, acc in reversed(evals[best_i + 1 :]):
        if acc >= best - min_drop:
            break
        below += 1
    start = evals[best_i - 1][0] if best_i > 0 else -1
    before = [v for s, v in proxy if start < s <= best_step]
    since = [v for s, v in proxy if s > best_step]
    rose = bool(before and since) and _mean(since) > _mean(before)
    return GuardView(best_step, best, below, rose, below >= patience and rose)


class Guard:
    """The guard of one run: its evaluations and proxy history live in ``state`` (the trainer's
    checkpointed state), so a resumed run sees what the first half saw."""

    def __init__(self, cfg: GuardConfig, state: dict[str, Any]):
        self.cfg = cfg
        self.state = state
        state.setdefault("evals", [])
        state.setdefault("proxy", [])
        state.setdefault("fired_step", None)

    def record_proxy(self, step: int, value: float) -> None:
        self.state["proxy"].append([step, value])

    def view(self) -> GuardView:
        """The decision on the evaluations so far (at least one)."""
        return gaming([tuple(e) for e in self.state["evals"]], [tuple(p) for p in self.state["proxy"]], self.cfg.patience, self.cfg.min_drop)

    def observe(self, step: int, accuracy: float) -> GuardView:
        """Add the held-out accuracy of the evaluation after ``step``; the decision."""
        self.state["evals"].append([step, accuracy])
        view = self.view()
        if view.fired and self.state["fired_step"] is None:
            self.state["fired_step"] = step
        return view

    def summary(self) -> dict[str, Any]:
        """What the guard saw, for summary.json."""
        out: dict[str, Any] = {"action": self.cfg.action, "evaluations": len(self.state["evals"]), "fired_step": self.state["fired_step"]}
        if self.state["evals"]:
            view = self.view()
            out.update(best_step=view.best_step, best_heldout_greedy=view.best)
        out["fired"] = out["fired_step"] is not None
        return out
