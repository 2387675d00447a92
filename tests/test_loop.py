"""The loop skeleton every stage runs in: the budget that binds drives the progress bar, and a spent
time budget ends the run with the last step logged, checkpointed and published."""

from __future__ import annotations

import io
import json

from conftest import pretrain_args

from rlvr.cli import main
from rlvr.training.loop import Budget, Progress


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _bar(steps: int, seconds: float) -> tuple[FakeClock, Progress]:
    clock = FakeClock()
    return clock, Progress("train", Budget(steps, seconds, clock=clock), start=0, enabled=True, file=io.StringIO())


def test_the_bar_follows_the_time_budget_when_it_ends_the_run_first():
    # The README's default run: 1000 steps and 480 s; at 2.4 s a step the steps would take 40 minutes.
    clock, progress = _bar(1000, 480)
    assert "1000 steps or 480s, whichever ends first" in progress.bar.desc  # nothing timed yet
    clock.now += 24.0
    est = progress.advance(10, {"acc": "0.50"})
    assert (est.binds, est.end_step, est.remaining_seconds) == ("time", 200, 456.0)  # 10 + ceil(456 / 2.4)
    line = str(progress.bar)
    assert "10/200" in line and "07:36 left" in line and "480s budget binds" in line and "acc=0.50" in line
    # the steps speed up to 0.1 s: now the 1000 steps end first, in 900 x 0.1 s
    clock.now += 9.0
    est = progress.advance(100, {})
    assert (est.binds, est.end_step) == ("steps", 1000) and abs(est.remaining_seconds - 297.0) < 1e-9
    line = str(progress.bar)
    assert "100/1000" in line and "04:57 left" in line and "1000 steps, within 480s" in line
    progress.close()


def test_without_a_time_budget_the_bar_counts_steps():
    clock, progress = _bar(50, 0)
    clock.now += 5.0
    est = progress.advance(5, {})
    assert (est.binds, est.end_step, est.remaining_seconds) == ("steps", 50, 45.0)
    assert progress.label(est) == "train" and "5/50" in str(progress.bar) and "00:45 left" in str(progress.bar)
    progress.close()


def test_a_resumed_run_measures_its_rate_from_its_own_steps():
    clock = FakeClock()
    budget = Budget(100, 60, clock=clock)
    clock.now += 10.0  # 40 steps were done before the resume; this process did 5 in 10 s
    est = budget.estimate(40, 45, budget.elapsed())
    assert (est.binds, est.end_step, est.remaining_seconds) == ("time", 70, 50.0)
    assert not budget.out_of_time()
    clock.now += 50.0
    assert budget.out_of_time()


def test_a_spent_time_budget_ends_pretrain_with_its_last_step_saved(tmp_path):
    out = tmp_path / "run"
    assert (
        main(
            [
                "pretrain",
                *pretrain_args(tmp_path),
                f"run.output_dir={out}",
                "schedule.steps=50",
                "schedule.max_seconds=1e-9",
                "run.save_every=0",
                "run.log_every=10",
            ]
        )
        == 0
    )
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 1 and summary["final_model"] == str(out / "final")
    assert [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()] == [1]  # the last step is logged
    assert [p.name for p in (out / "checkpoints").iterdir()] == ["step_000001"]
    assert (out / "final" / "model.safetensors").exists()
