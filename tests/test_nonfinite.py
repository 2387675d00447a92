"""Non-finite values in a real run: the guard's message reaches the user, and metrics keep NaN/inf.
(The learner's skip/stop logic itself is tested in test_learner.py.)"""

from __future__ import annotations

import json

from conftest import train_args

from rlvr.cli import main
from rlvr.training.run import MetricsLogger, RunConfig, RunDir


def test_inf_weights_on_the_torch_backend_are_named_not_blamed_on_the_weight_sync(tmp_path, capsys):
    """The torch backend used to carry inf weights into the generator, where the weight-sync
    check failed with a message about the sync. lr * weight decay overflowing float32 is finite
    input that gives finite losses and gradients, then inf weights."""
    out = tmp_path / "rl"
    args = [
        "train",
        f"run.output_dir={out}",
        *train_args(
            "schedule.steps=2",
            "learner.backend=torch",
            "optim.lr=1e30",
            "optim.weight_decay=1e10",
            "eval.before_after=false",
            "algorithm.dynamic_sampling=false",
            "algorithm.loss.entropy_coef=0.01",
        ),
    ]
    assert main(args) != 0
    err = capsys.readouterr().err
    assert "non-finite weights after optimizer step 1" in err and "sync" not in err.lower()
    assert "Traceback" not in err


def test_metrics_keep_nan_and_inf_as_strings(tmp_path):
    run = RunDir(RunConfig(output_dir=str(tmp_path / "run")), RunConfig())
    logger = MetricsLogger(run)
    logger.log(1, {"grad_norm": float("nan"), "loss": float("inf"), "kl": float("-inf"), "lr": 0.5, "nonfinite_steps": 1})
    logger.close()
    row = json.loads((tmp_path / "run" / "metrics.jsonl").read_text())
    assert row["grad_norm"] == "NaN" and row["loss"] == "inf" and row["kl"] == "-inf"
    assert row["lr"] == 0.5 and row["nonfinite_steps"] == 1
