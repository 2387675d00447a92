"""One run of a training stage, start to finish: ``rlvr train``, ``rlvr sft`` and ``rlvr pretrain``.

    run = Run(name, cfg.run, cfg)       lock the directory, write config.yaml, find the checkpoint to resume
    stage = ...                         builds its learner (on run.resume_from's weights), state = run.restore(learner)
    run_stage(run, stage, steps, max_seconds):
        stage.start(step)               headline, evaluation before training
        until a budget is spent (steps, or seconds: whichever ends first; every rank follows rank 0):
            stage.step(...)             one step's metrics (+ step_seconds, its wall time)
            stage.scheduled_eval(...)   periodic evaluation, at the stage's own cadence (it may ask to stop)
            log                         every run.log_every steps, and the last step
            progress bar                its total and time left follow the budget that binds
            checkpoint                  every run.save_every steps, and the last (stage.state_for_checkpoint())
        stage.finish(...)               evaluation after training; the summary's stage-specific keys
        final/                          stage.final_weights() or the learner's weights, published atomically
        <name>_curves.png, summary.json

A stage supplies only what differs (:class:`Stage`); the run directory, checkpoints, resume point,
budget, metrics, progress bar, final publish, plots and summary are the same code for every stage.
"""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from rlvr.io import staged_dir
from rlvr.training.checkpoint import CheckpointManager
from rlvr.training.distributed import from_rank0
from rlvr.training.run import MetricsLogger, RunConfig, RunDir, plot_curves


class Stage(Protocol):
    """What a training stage plugs into :func:`run_stage`."""

    name: str  # "train", "sft", "pretrain": messages, progress bar, <name>_curves.png
    learner: Any  # rlvr.training.learner.Learner: checkpointed and published as final/
    tokenizer: Any  # saved beside every model directory
    plot_keys: list[str]  # metrics drawn into <name>_curves.png

    def start(self, step: int) -> None:
        """Before the first step of this process (``step`` > 0 after a resume): headline, evaluation before training."""

    def step(self, step: int, checkpoint_after: bool) -> dict[str, Any]:
        """Train step ``step + 1`` (0-based ``step`` steps are done); ``checkpoint_after``: it ends
        with a checkpoint (a synchronisation point: nothing may be prefetched across it)."""

    def scheduled_eval(self, step: int, last: bool) -> dict[str, Any]:
        """Metrics of a periodic evaluation after step ``step``, if the stage's cadence calls for one
        (``last``: the loop ends after this step); ``{}`` otherwise. ``"stop": True`` among them
        ends the run after this step (checkpointed, then finished as usual)."""

    def postfix(self, metrics: dict[str, Any]) -> dict[str, str]:
        """The few figures the progress bar shows after a step."""

    def state_for_checkpoint(self) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """What a checkpoint holds besides the learner: the stage's state (JSON) and other learners by name (PPO's critic).
        Called on every rank (it may gather)."""

    def finish(self, step: int, loop_seconds: float) -> dict[str, Any]:
        """After the last step: evaluation after training; the summary's stage-specific keys."""

    def final_weights(self) -> Path | None:
        """A model directory to publish as final/ instead of the learner's current weights (SFT's best), or None."""


class Run:
    """The run directory (locked, config written, never clobbered), its checkpoints and the point
    it resumes from. Only the main rank writes; :meth:`close` releases the lock (also on failure)."""

    def __init__(self, name: str, cfg: RunConfig, full_config: Any, is_main: bool | None = None):
        self.name, self.cfg, self.full_config = name, cfg, full_config
        self.dir = RunDir(cfg, full_config, is_main)
        self.path, self.is_main = self.dir.path, self.dir.is_main
        self.ckpts = CheckpointManager(self.dir.checkpoints, keep=cfg.keep_checkpoints, is_main=self.is_main)
        try:
            self.resume_from = self.dir.resume_point(self.ckpts)
        except BaseException:
            self.close()
            raise
        self.start_step = 0

    def restore(self, learner: Any) -> dict[str, Any]:
        """Load the resume checkpoint's optimizer state into ``learner`` (built on its weights) and
        return the stage state it saved; ``{}`` for a new run."""
        if self.resume_from is None:
            return {}
        state = self.ckpts.load(self.resume_from, learner)
        self.start_step = state["step"]
        if self.is_main:
            print(f"rlvr {self.name}: resumed from {self.resume_from} (step {self.start_step})")
        return state

    def close(self) -> None:
        self.dir.close()


# ----------------------------------------------------------------------------- the budget


@dataclass(frozen=True)
class Estimate:
    """Where the run will end, by the step rate measured so far."""

    binds: Literal["steps", "time"]  # the budget that ends the run first
    end_step: int  # the step the run ends at (projected from the step rate when time binds)
    remaining_seconds: float | None  # None until a step has been timed


@dataclass
class Budget:
    """How long a stage trains: ``steps``, and ``seconds`` of the loop (0: no time limit); the run
    ends at whichever runs out first. The time budget is checked after each step, so the run ends
    at the first step that finishes past it."""

    steps: int
    seconds: float = 0.0
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        self.started = self.clock()

    def elapsed(self) -> float:
        return self.clock() - self.started

    def out_of_time(self) -> bool:
        return self.seconds > 0 and self.elapsed() >= self.seconds

    def estimate(self, start: int, step: int, elapsed: float) -> Estimate:
        """Which budget ends the run, given ``step - start`` steps done in ``elapsed`` seconds."""
        done = step - start
        if done <= 0 or elapsed <= 0:
            return Estimate("steps", self.steps, None)
        per_step = elapsed / done
        by_steps = (self.steps - step) * per_step
        time_left = max(0.0, self.seconds - elapsed)
        if self.seconds > 0 and time_left < by_steps:
            end = min(self.steps, step + math.ceil(time_left / per_step))
            return Estimate("time", end, time_left)
        return Estimate("steps", self.steps, by_steps)


class Progress:
    """The progress bar: steps done out of the step the run will end at, and the time left. When the
    time budget binds, that end step is re-estimated from the measured step rate after every step
    and the bar says so; the time left is then the budget's, not what ``schedule.steps`` would take."""

    def __init__(self, name: str, budget: Budget, start: int, enabled: bool, file: Any = None):
        from tqdm.auto import tqdm

        self.name, self.budget, self.start = name, budget, start
        # The time left is ours (tqdm's would assume the steps budget): shown in the postfix.
        self.bar = tqdm(
            total=budget.steps,
            initial=start,
            desc=self.label(budget.estimate(start, start, 0.0)),
            disable=not enabled,
            dynamic_ncols=True,
            unit="step",
            file=file,
            bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]",
        )

    def advance(self, step: int, postfix: dict[str, str]) -> Estimate:
        from tqdm.auto import tqdm

        est = self.budget.estimate(self.start, step, self.budget.elapsed())
        left = "?" if est.remaining_seconds is None else tqdm.format_interval(est.remaining_seconds)
        self.bar.total = est.end_step
        self.bar.set_description(self.label(est), refresh=False)
        self.bar.set_postfix_str(", ".join([f"{left} left", *(f"{k}={v}" for k, v in postfix.items())]), refresh=False)
        self.bar.update(step - self.bar.n)
        return est

    def label(self, est: Estimate) -> str:
        if not self.budget.seconds:
            return self.name
        if est.remaining_seconds is None:  # no step timed yet
            return f"{self.name} ({self.budget.steps} steps or {self.budget.seconds:.0f}s, whichever ends first)"
        if est.binds == "time":
            return f"{self.name} (~{est.end_step} steps: the {self.budget.seconds:.0f}s budget binds)"
        return f"{self.name} ({self.budget.steps} steps, within {self.budget.seconds:.0f}s)"

    def close(self) -> None:
        self.bar.close()


def note(message: str) -> None:
    """Print a line without breaking the progress bar."""
    from tqdm.auto import tqdm

    tqdm.write(message)


# ----------------------------------------------------------------------------- the loop


def run_stage(run: Run, stage: Stage, budget_steps: int, budget_seconds: float) -> dict[str, Any]:
    """Train ``stage`` in ``run`` from its resume point until a budget is spent; return the summary
    (also written to summary.json). See the module docstring for the sequence."""
    learner, main = stage.learner, run.is_main
    step = run.start_step
    t_start = time.monotonic()
    stage.start(step)
    logger = MetricsLogger(run.dir, resume_step=step, config=run.full_config)
    budget = Budget(budget_steps, budget_seconds)  # its clock starts after the evaluation before training
    progress = Progress(stage.name, budget, step, enabled=run.cfg.progress and main)
    try:
        while step < budget.steps:
            t0 = time.monotonic()
            metrics = stage.step(step, checkpoint_after=_checkpoints_after(run.cfg, step + 1, budget.steps))
            step += 1
            metrics["step_seconds"] = time.monotonic() - t0
            # Every rank must agree to stop (the others would wait in a collective forever).
            out_of_time = bool(from_rank0(budget.out_of_time(), learner.world_size))
            last = step >= budget.steps or out_of_time
            metrics.update(stage.scheduled_eval(step, last))
            # A stage may ask to end the run after its evaluation ("stop": rlvr train's over-optimisation guard).
            stopped = bool(from_rank0(metrics.pop("stop", False), learner.world_size)) and not last
            if step % run.cfg.log_every == 0 or last or stopped:
                logger.log(step, metrics)
            progress.advance(step, stage.postfix(metrics))
            if _checkpoints_after(run.cfg, step, budget.steps) or out_of_time or stopped:
                state, parts = stage.state_for_checkpoint()
                run.ckpts.save(step, learner, stage.tokenizer, state, parts)
            if out_of_time or stopped:
                if main:
                    why = f"time budget of {budget.seconds:.0f}s reached" if out_of_time else "stopped by the stage"
                    note(f"rlvr {stage.name}: {why} at step {step}")
                break
    finally:
        progress.close()
        logger.close()
    loop_seconds = budget.elapsed()
    summary: dict[str, Any] = {"steps": step, "seconds": round(time.monotonic() - t_start, 1)}
    summary.update(stage.finish(step, loop_seconds))
    _publish_final(run, stage)
    if main:
        plot_curves(run.path / "metrics.jsonl", run.path / f"{stage.name}_curves.png", stage.plot_keys, f"rlvr {stage.name}", smooth=10)
        run.dir.write_json("summary.json", summary)
        print(f"rlvr {stage.name}: final model -> {run.path / 'final'}")
    return summary


def _checkpoints_after(cfg: RunConfig, step: int, steps: int) -> bool:
    """Whether (1-based) step ``step`` ends with a checkpoint: every ``run.save_every`` steps and the last."""
    return bool(cfg.save_every and step % cfg.save_every == 0) or step >= steps


def _publish_final(run: Run, stage: Stage) -> None:
    chosen = stage.final_weights()
    if chosen is None:
        with staged_dir(run.path / "final", publish=run.is_main) as final:
            stage.learner.save_model(final, stage.tokenizer)  # every rank joins the ZeRO-3 gather
    elif run.is_main:
        with staged_dir(run.path / "final") as staged:
            shutil.rmtree(staged, ignore_errors=True)
            shutil.copytree(chosen, staged)
