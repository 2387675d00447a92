"""PPO's critic: the policy's transformer with a scalar value head per token, trained beside it.

Built only for advantage estimators that declare ``needs_values`` (``gae``, or a plug-in).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch

from rlvr.algorithms.config import CriticConfig
from rlvr.models.load import resolve_model_path
from rlvr.rollout.experience import Experience
from rlvr.training.learner import LearnerConfig, OptimConfig, build_learner


class Critic:
    """A value model on its own learner (same backend and micro-batches as the policy's)."""

    def __init__(
        self, cfg: CriticConfig, policy_path: str, learner_cfg: LearnerConfig, optim: OptimConfig, total_steps: int, resume_from: Path | None = None
    ):
        from transformers import AutoModelForTokenClassification

        # A checkpoint holds the trained critic, value head included (a fresh head would make
        # the resumed run's advantages differ from the uninterrupted run's).
        saved = resume_from / "critic" / "model" if resume_from else None
        path = str(saved) if saved and saved.is_dir() else resolve_model_path(cfg.path or policy_path)
        model = AutoModelForTokenClassification.from_pretrained(path, num_labels=1, dtype=torch.float32)
        self.cfg = cfg
        self.learner = build_learner(model, learner_cfg, replace(optim, lr=cfg.lr), total_steps)
        if saved and saved.is_dir():
            self.learner.load_state(resume_from / "critic")

    def values(self, exp: Experience, grad: bool) -> torch.Tensor:
        """[B, T-1] value of the state before each label position."""
        with torch.set_grad_enabled(grad):
            out = self.learner.forward(input_ids=exp.input_ids.to(self.learner.device), attention_mask=exp.attention_mask.to(self.learner.device))
        return out.logits[:, :-1, 0].float()
