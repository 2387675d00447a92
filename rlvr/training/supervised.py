"""The supervised training loop shared by ``rlvr pretrain`` and ``rlvr sft``.

Each optimizer step takes ``batch_size`` sequences, split into micro-batches; the loss is the mean
negative log-likelihood over *all target tokens of the step* (the ``sft`` loss of
:mod:`rlvr.algorithms.losses` with ``token_mean`` aggregation and the step's global
:class:`~rlvr.algorithms.aggregation.LossScale`), so the micro-batch split never changes the
objective. Stages differ only in how they build batches and what they evaluate; both pass a
:class:`SupervisedTask`, which :class:`SupervisedStage` runs in the loop every stage shares
(:mod:`rlvr.training.loop`).

Checkpoints are written every ``run.save_every`` steps and at the end; ``--resume`` continues from
the newest one with the same data order (batches are a function of seed and step). When the task's
evaluation returns a ``score`` (SFT: held-out accuracy), the best-scoring weights are kept in
``best/`` and become ``final/``: accuracy can jump late in training, so the checkpoint is chosen by
the score, not by time.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from rlvr.algorithms.aggregation import LossScale, reduce_metrics
from rlvr.algorithms.losses import LossInput, PolicyLossConfig, compute_policy_loss
from rlvr.config import field, section
from rlvr.data.lm import MicroBatch
from rlvr.io import staged_dir
from rlvr.models.load import ModelConfig, count_parameters, load_model
from rlvr.training.batching import layout
from rlvr.training.distributed import sum_over_ranks
from rlvr.training.learner import Learner, LearnerConfig, OptimConfig, build_learner
from rlvr.training.loop import Run, note, run_stage
from rlvr.training.run import RunConfig


@dataclass
class ScheduleConfig:
    """How long a supervised stage trains and how often it evaluates."""

    steps: int = field(1000, ge=1, help="optimizer steps")
    batch_size: int = field(64, ge=1, help="sequences per optimizer step (split into learner.micro_batch_size)")
    max_seconds: float = field(0.0, ge=0, help="stop early after this many seconds of training (0: no limit)")
    eval_every: int = field(100, ge=0, help="evaluate every N steps (0: only at the end)")


@dataclass
class StageConfig:
    """Sections every supervised stage has (pretrain and SFT add their ``data``)."""

    run: RunConfig = section(RunConfig, "run directory, logging, checkpoints")
    model: ModelConfig = section(ModelConfig, "model to train (model.path), or a tiny one to build from scratch")
    schedule: ScheduleConfig = section(ScheduleConfig, "steps, batch size, evaluation cadence")
    optim: OptimConfig = section(OptimConfig, "optimizer and learning-rate schedule")
    learner: LearnerConfig = section(LearnerConfig, "DeepSpeed/torch learner")


@dataclass
class SupervisedTask:
    """What a stage plugs into the loop."""

    name: str  # "pretrain" or "sft": progress bar and plot titles
    num_examples: int
    batch: Callable[[int, int, int, int], list[MicroBatch]]  # (step, batch_size, rank, world_size) -> this rank's micro-batches
    evaluate: Callable[[Learner, int], dict[str, float]]  # (learner, step) -> metrics (optional "score")
    plot_keys: list[str]


def _micro_loss(learner: Learner, mb: MicroBatch, scale: LossScale) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    # Logprobs at the target tokens only (packed when learner.packing), as the RL step computes them.
    logprobs, _ = learner.logprobs(layout(mb.input_ids, mb.attention_mask, mb.loss_mask, packed=learner.cfg.packing), temperature=1.0)
    result = compute_policy_loss(LossInput(logprobs=logprobs, mask=mb.loss_mask.to(learner.device)), scale, PolicyLossConfig(name="sft"))
    return result.loss, result.metrics


@torch.no_grad()
def mean_nll(learner: Learner, batches: list[MicroBatch]) -> float:
    """Mean per-token negative log-likelihood over ``batches`` (evaluation; no gradient)."""
    learner.model.eval()
    scale = LossScale.total(LossScale.of(mb.loss_mask) for mb in batches)
    total = sum(float(_micro_loss(learner, mb, scale)[0]) for mb in batches)
    learner.model.train()
    return total


def train_supervised(task: SupervisedTask, cfg: StageConfig, model_factory: Callable[[], Any], tokenizer) -> Path:
    """Train, checkpoint, evaluate; return the path of the final model directory. ``cfg`` is the
    stage's whole config (its run, schedule, learner and optimizer sections; saved with the run)."""
    run = Run(task.name, cfg.run, cfg)
    try:
        model = load_model(str(run.resume_from / "model")) if run.resume_from else model_factory()
        learner = build_learner(model, cfg.learner, cfg.optim, total_steps=cfg.schedule.steps)
        stage = SupervisedStage(task, run, cfg.schedule, learner, tokenizer, run.restore(learner))
        run_stage(run, stage, cfg.schedule.steps, cfg.schedule.max_seconds)
        return run.path / "final"
    finally:
        run.close()


class SupervisedStage:
    """A :class:`SupervisedTask` as a stage of :func:`rlvr.training.loop.run_stage`."""

    def __init__(self, task: SupervisedTask, run: Run, schedule: ScheduleConfig, learner: Learner, tokenizer, state: dict[str, Any]):
        self.task, self.run, self.schedule, self.learner, self.tokenizer = task, run, schedule, learner, tokenizer
        self.name, self.plot_keys = task.name, task.plot_keys
        self.best_score = state.get("best_score", -math.inf)

    def start(self, step: int) -> None:
        if self.learner.is_main and step == 0:
            print(
                f"rlvr {self.name}: {count_parameters(self.learner.model) / 1e6:.2f}M parameters, {self.task.num_examples} examples, "
                f"{self.schedule.steps} steps x {self.schedule.batch_size} sequences -> {self.run.path}"
            )

    def step(self, step: int, checkpoint_after: bool) -> dict[str, Any]:
        """One optimizer step on ``batch_size`` sequences, the loss normalised over all of them."""
        learner = self.learner
        t0 = time.time()
        mbs = self.task.batch(step, self.schedule.batch_size, learner.rank, learner.world_size)
        scale = LossScale.total(LossScale.of(mb.loss_mask) for mb in mbs)
        if learner.world_size > 1:
            scale = scale.all_reduce()
        metrics_list = []
        for i, mb in enumerate(mbs):
            loss, m = _micro_loss(learner, mb, scale)
            learner.backward(loss, last=i == len(mbs) - 1)
            metrics_list.append(m)
        info = learner.step()
        dt = time.time() - t0
        tokens = int(sum(int(mb.attention_mask.sum()) for mb in mbs))
        # Each rank's loss is its share of the global mean: the sum over ranks is the step's loss.
        loss_value = sum_over_ranks(reduce_metrics(metrics_list).get("loss", float("nan")), learner.world_size)
        tokens = int(sum_over_ranks(tokens, learner.world_size))
        return {"loss": loss_value, **info, "tokens_per_s": tokens / max(dt, 1e-9)}

    def scheduled_eval(self, step: int, last: bool) -> dict[str, Any]:
        """Every schedule.eval_every steps and after the last; a new best ``score`` is kept in best/."""
        if not ((self.schedule.eval_every and step % self.schedule.eval_every == 0) or last):
            return {}
        metrics = self.task.evaluate(self.learner, step)
        score = metrics.get("score")
        if score is not None and score > self.best_score:
            self.best_score = score
            with staged_dir(self.run.path / "best", publish=self.learner.is_main) as best:
                self.learner.save_model(best, self.tokenizer)
        shown = ", ".join(f"{k}={v:.4g}" for k, v in metrics.items() if k.startswith(("val_", "score")))
        if shown and self.learner.is_main:
            note(f"step {step}: {shown}")
        return metrics

    def postfix(self, metrics: dict[str, Any]) -> dict[str, str]:
        return {"loss": f"{metrics['loss']:.3f}", "tok_s": f"{metrics['tokens_per_s']:.0f}"}

    def state_for_checkpoint(self) -> tuple[dict[str, Any], dict[str, Any] | None]:
        return {"best_score": self.best_score}, None

    def finish(self, step: int, loop_seconds: float) -> dict[str, Any]:
        out: dict[str, Any] = {"final_model": str(self.run.path / "final")}
        if self.best_score != -math.inf:
            out["best_score"] = self.best_score
        return out

    def final_weights(self) -> Path | None:
        """The best-scoring weights when the evaluation scores (accuracy can jump late: chosen by score, not time)."""
        best = self.run.path / "best"
        return best if best.is_dir() else None


def shard(indices: list[int], rank: int, world_size: int) -> list[int]:
    """This rank's share of a step's examples (every rank gets the same count when it divides)."""
    return indices[rank::world_size]
