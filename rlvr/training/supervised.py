"""The supervised training loop shared by ``rlvr pretrain`` and ``rlvr sft``.

Each optimizer step takes ``batch_size`` sequences, split into micro-batches; the loss is the mean
negative log-likelihood over *all target tokens of the step* (the ``sft`` loss of
:mod:`rlvr.algorithms.losses` with ``token_mean`` aggregation and the step's global
:class:`~rlvr.algorithms.aggregation.LossScale`), so the micro-batch split never changes the
objective. Stages differ only in how they build batches and what they evaluate; both pass a
:class:`SupervisedTask`.

Checkpoints are written every ``run.save_every`` steps and at the end; ``--resume`` continues from
the newest one with the same data order (batches are a function of seed and step). When the task's
evaluation returns a ``score`` (SFT: held-out accuracy), the best-scoring weights are kept in
``best/`` and become ``final/``: accuracy can jump late in training, so the checkpoint is chosen by
the score, not by time.
"""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from rlvr.algorithms.aggregation import LossScale, reduce_metrics
from rlvr.algorithms.losses import LossInput, PolicyLossConfig, compute_policy_loss
from rlvr.training.checkpoint import CheckpointManager
from rlvr.config import field, section
from rlvr.io import staged_dir
from rlvr.training.batching import layout
from rlvr.training.learner import Learner, LearnerConfig, OptimConfig, build_learner
from rlvr.data.lm import MicroBatch
from rlvr.models.load import ModelConfig, count_parameters, load_model
from rlvr.training.run import MetricsLogger, RunConfig, RunDir, plot_curves


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


def train_supervised(
    task: SupervisedTask,
    *,
    run_cfg: RunConfig,
    full_config: Any,
    schedule: ScheduleConfig,
    learner_cfg: LearnerConfig,
    optim_cfg: OptimConfig,
    model_factory: Callable[[], Any],
    tokenizer,
) -> Path:
    """Train, checkpoint, evaluate; return the path of the final model directory."""
    run = RunDir(run_cfg, full_config)
    try:
        return _train(task, run, full_config, schedule, learner_cfg, optim_cfg, model_factory, tokenizer)
    finally:
        run.close()


def _train(task: SupervisedTask, run: RunDir, full_config: Any, schedule: ScheduleConfig, learner_cfg: LearnerConfig,
           optim_cfg: OptimConfig, model_factory: Callable[[], Any], tokenizer) -> Path:
    from tqdm.auto import tqdm

    run_cfg = run.cfg
    ckpts = CheckpointManager(run.checkpoints, keep=run_cfg.keep_checkpoints, is_main=run.is_main)
    resume_from = run.resume_point(ckpts)
    model = load_model(str(resume_from / "model")) if resume_from else model_factory()
    learner = build_learner(model, learner_cfg, optim_cfg, total_steps=schedule.steps)
    state: dict[str, Any] = {}
    if resume_from:
        state = ckpts.load(resume_from, learner)
        print(f"rlvr {task.name}: resumed from {resume_from} (step {learner.step_count})")
    start = learner.step_count
    best_score = state.get("best_score", -math.inf)
    logger = MetricsLogger(run, resume_step=start, config=full_config)
    if learner.is_main and start == 0:
        print(f"rlvr {task.name}: {count_parameters(learner.model) / 1e6:.2f}M parameters, {task.num_examples} examples, "
              f"{schedule.steps} steps x {schedule.batch_size} sequences -> {run.path}")

    def checkpoint(step: int) -> None:
        ckpts.save(step, learner, tokenizer, {"best_score": best_score})

    def evaluate(step: int) -> dict[str, float]:
        nonlocal best_score
        metrics = task.evaluate(learner, step)
        score = metrics.get("score")
        if score is not None and score > best_score:
            best_score = score
            with staged_dir(run.path / "best", publish=learner.is_main) as best:
                learner.save_model(best, tokenizer)
        return metrics

    t_start = time.time()
    bar = tqdm(total=schedule.steps, initial=start, desc=task.name, disable=not (run_cfg.progress and learner.is_main), dynamic_ncols=True)
    step = start
    try:
        while step < schedule.steps:
            t0 = time.time()
            mbs = task.batch(step, schedule.batch_size, learner.rank, learner.world_size)
            scale = LossScale.total(LossScale.of(mb.loss_mask) for mb in mbs)
            if learner.world_size > 1:
                scale = scale.all_reduce()
            metrics_list = []
            for i, mb in enumerate(mbs):
                loss, m = _micro_loss(learner, mb, scale)
                learner.backward(loss, last=i == len(mbs) - 1)
                metrics_list.append(m)
            info = learner.step()
            step += 1
            dt = time.time() - t0
            tokens = int(sum(int(mb.attention_mask.sum()) for mb in mbs))
            # Each rank's loss is its share of the global mean: the sum over ranks is the step's loss.
            loss_value = _sum_over_ranks(reduce_metrics(metrics_list).get("loss", float("nan")), learner.world_size)
            tokens = int(_sum_over_ranks(tokens, learner.world_size))
            row = {"loss": loss_value, **info, "tokens_per_s": tokens / max(dt, 1e-9), "step_seconds": dt}
            bar.update(1)
            bar.set_postfix(loss=f"{row['loss']:.3f}", tok_s=f"{row['tokens_per_s']:.0f}")
            out_of_time = schedule.max_seconds > 0 and time.time() - t_start >= schedule.max_seconds
            if (schedule.eval_every and step % schedule.eval_every == 0) or step == schedule.steps or out_of_time:
                row.update(evaluate(step))
                if learner.is_main:
                    bar.write(f"step {step}: " + ", ".join(f"{k}={v:.4g}" for k, v in row.items() if k.startswith(("val_", "score", "loss"))))
            if step % run_cfg.log_every == 0 or step == schedule.steps:
                logger.log(step, row)
            if (run_cfg.save_every and step % run_cfg.save_every == 0) or step == schedule.steps or out_of_time:
                checkpoint(step)
            if out_of_time:
                if learner.is_main:
                    bar.write(f"rlvr {task.name}: time budget of {schedule.max_seconds:.0f}s reached at step {step}")
                break
    finally:
        bar.close()
        logger.close()
    final = run.path / "final"
    has_best = (run.path / "best").is_dir()
    if not has_best:
        with staged_dir(final, publish=learner.is_main) as staged:
            learner.save_model(staged, tokenizer)  # every rank joins the ZeRO-3 gather
    if learner.is_main:
        if has_best:
            _copy_dir(run.path / "best", final)
        plot_curves(run.path / "metrics.jsonl", run.path / f"{task.name}_curves.png", task.plot_keys, f"rlvr {task.name}", smooth=10)
        summary = {"steps": step, "seconds": round(time.time() - t_start, 1), "final_model": str(final)}
        if best_score != -math.inf:
            summary["best_score"] = best_score
        run.write_json("summary.json", summary)
        print(f"rlvr {task.name}: final model -> {final}")
    return final


def _sum_over_ranks(value: float, world_size: int) -> float:
    if world_size == 1:
        return value
    import torch.distributed as dist

    t = torch.tensor([float(value)], dtype=torch.float64)
    dist.all_reduce(t)
    return float(t[0])


def shard(indices: list[int], rank: int, world_size: int) -> list[int]:
    """This rank's share of a step's examples (every rank gets the same count when it divides)."""
    return indices[rank::world_size]


def _copy_dir(src: Path, dst: Path) -> None:
    with staged_dir(dst) as staged:
        shutil.rmtree(staged, ignore_errors=True)
        shutil.copytree(src, staged)
