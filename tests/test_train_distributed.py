"""`rlvr train` data-parallel at world size 2 (torchrun, DeepSpeed ZeRO on CPU over gloo, one vLLM
engine per rank): ranks draw disjoint problems, replicas stay identical, metrics are global,
held-out evaluation equals the single-process one, and a 2-rank checkpoint resumes."""

from __future__ import annotations

import json
import subprocess

from conftest import UPDATING, clean_env, torchrun, train_args

from rlvr.cli import main

ARGS = train_args(*UPDATING, "learner.micro_batch_size=8", "run.keep_checkpoints=4")


def _torchrun(*args: str) -> subprocess.CompletedProcess:
    cmd = [
        *torchrun(),
        "-m",
        "rlvr.cli",
        "train",
        *args,
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, env=clean_env(), timeout=600, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    return out


def _rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_two_ranks_split_the_batch_and_resume(tmp_path):
    out = tmp_path / "ws2"
    _torchrun(f"run.output_dir={out}", "schedule.steps=2", *ARGS)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 2 and summary["world_size"] == 2
    assert summary["replicas_identical"] is True  # the ranks' learner weights were compared, fingerprint for fingerprint
    rows = _rows(out / "metrics.jsonl")
    assert [r["step"] for r in rows] == [1, 2]
    for r in rows:
        # 2 prompts per rank (+ refills); duplicated work would show half as many unique problems
        assert r["problems_drawn"] >= 4 and r["problems_unique"] == r["problems_drawn"]
        assert r["groups_sampled"] == r["problems_drawn"]
    assert any("loss" in r for r in rows), "at least one step must update"
    trained = [r for r in rows if "loss" in r]
    assert all(r["sync_seconds"] > 0 and r["learner_tokens_per_s"] > 0 for r in trained)
    ckpt = out / "checkpoints" / "step_000002"
    assert {"optimizer_rank0.pt", "optimizer_rank1.pt"} <= {p.name for p in ckpt.iterdir()}
    state = json.loads((ckpt / "trainer_state.json").read_text())
    assert len(state["rank_cursors"]) == 2 and min(state["rank_cursors"]) >= 4 and state["cursor"] == sum(state["rank_cursors"])
    assert len(state["rng"]) == 2

    # held-out evaluation runs on rank 0 only: the same numbers as a single-process run
    one = tmp_path / "ws1"
    assert main(["train", f"run.output_dir={one}", "schedule.steps=0", *ARGS]) == 0
    single = json.loads((one / "summary.json").read_text())
    assert summary["pass@1_before"] == single["pass@1_before"]
    assert summary["sampled_pass@1_before"] == single["sampled_pass@1_before"]

    # a 2-rank checkpoint resumes at 2 ranks; each rank's stream continues where it stopped
    _torchrun(f"run.output_dir={out}", "schedule.steps=3", "--resume", *ARGS)
    assert [r["step"] for r in _rows(out / "metrics.jsonl")] == [1, 2, 3]
    after = json.loads((out / "checkpoints" / "step_000003" / "trainer_state.json").read_text())
    assert all(b > a for a, b in zip(state["rank_cursors"], after["rank_cursors"]))
    assert json.loads((out / "summary.json").read_text())["replicas_identical"] is True
