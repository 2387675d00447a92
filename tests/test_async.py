"""Asynchronous rollouts (rollout.max_staleness): scheduling rules, staleness 0 == the synchronous
loop bitwise, staleness 1 overlapping generation with learning and recording staleness."""

from __future__ import annotations

import threading
import time

import pytest
import torch
from conftest import UPDATING, train_args

from rlvr.cli import main
from rlvr.rollout.pipeline import RolloutBatch, RolloutPipeline, stale_groups

RL = train_args(*UPDATING, "eval.before_after=false", "run.save_every=0")


def _config(tmp_path, name: str, *overrides: str):
    from rlvr.config import load_config
    from rlvr.training.rl import TrainConfig

    return load_config(TrainConfig, "train", None, [f"run.output_dir={tmp_path / name}", *RL, *overrides])


def _weights(learner) -> dict[str, torch.Tensor]:
    return {name: t.detach().clone() for name, t in learner.named_full_parameters()}


# ----------------------------------------------------------------------------- scheduling rules (no engine)


def test_stale_groups_drop_or_keep():
    keep, m = stale_groups([5, 4, 2], learner_version=5, max_staleness=2, policy="drop")
    assert keep == [True, True, False] and m == {"staleness_mean": 0.5, "staleness_max": 1, "stale_dropped": 1}
    keep, m = stale_groups([5, 4, 2], learner_version=5, max_staleness=2, policy="is")
    assert keep == [True, True, True] and m["staleness_max"] == 3 and m["stale_dropped"] == 0


@pytest.mark.parametrize(
    "k,staleness,syncs",
    [
        (0, [0, 0, 0, 0], [True, True, True, True]),
        (1, [0, 1, 1, 1], [True, True, True, True]),
        (2, [0, 1, 2, 1], [False, True, False, True]),  # half the weight transfers
    ],
)
def test_sync_rule_keeps_staleness_bounded(k, staleness, syncs):
    """The trainer's schedule, simulated: batch t starts when taken (or was prefetched during
    update t-1 with the weights the engine then held), is consumed at learner version t, and the
    engine takes new weights after an update only when the bound requires it."""
    pipe = RolloutPipeline(lambda step, version: RolloutBatch(step, [], [], [version]), k)
    gen_version, started, seen, synced = 0, {}, [], []
    for step in range(4):
        started.setdefault(step, gen_version)
        seen.append(step - started[step])
        if k:
            started[step + 1] = gen_version
        synced.append(pipe.must_sync(gen_version, step + 1))
        if synced[-1]:
            gen_version = step + 1
    pipe.close()
    assert seen == staleness and synced == syncs
    assert not pipe.must_sync(5, 5)  # an engine that already holds the weights is left alone


def test_pipeline_overlaps_production_with_the_caller():
    """take(t) returns batch t and starts t+1 in the worker; the caller's work overlaps it."""
    started: dict[int, float] = {}
    threads: set[str] = set()

    def produce(step: int, version: int) -> RolloutBatch:
        started[step] = time.perf_counter()
        threads.add(threading.current_thread().name)
        time.sleep(0.2)
        return RolloutBatch(step, [], [], [version])

    pipe = RolloutPipeline(produce, max_staleness=1)
    t0 = time.perf_counter()
    assert pipe.take(0, 0).step == 0
    time.sleep(0.2)  # "the update": batch 1 generates meanwhile
    pipe.drain()
    assert pipe.take(1, 1, prefetch=False).versions == [0]  # prefetched under version 0
    pipe.close()
    assert time.perf_counter() - t0 < 0.55  # 0.2 + max(0.2, 0.2) (+ slack), not 0.6
    assert started[1] - started[0] < 0.3 and all(name.startswith("rlvr-rollout") for name in threads)
    assert 2 not in started  # no prefetch past the last step


def test_inline_pipeline_uses_no_thread():
    names = []
    pipe = RolloutPipeline(lambda step, version: names.append(threading.current_thread().name) or RolloutBatch(step, [], [], [version]), 0)
    pipe.take(0, 0)
    pipe.take(1, 1)
    assert names == [threading.current_thread().name] * 2


def test_stale_is_needs_a_tis_cap(tmp_path, capsys):
    assert main(["train", f"run.output_dir={tmp_path}", "rollout.max_staleness=1", "rollout.stale_policy=is"]) == 2
    assert "algorithm.loss.tis_cap" in capsys.readouterr().err


# ----------------------------------------------------------------------------- with the real engine


def test_staleness_zero_is_the_synchronous_loop_bitwise(tmp_path):
    """max_staleness=0 through Trainer.train() == a hand-written collect -> update -> sync loop."""
    from rlvr.rollout.experience import build_experience
    from rlvr.training.rl import Trainer

    steps = 3
    ref = Trainer(_config(tmp_path, "ref", f"schedule.steps={steps}"))
    try:
        ref_rows = []
        for step in range(steps):
            batch = ref.collect(step, ref.generator_version)
            if batch.groups:
                exp = build_experience(
                    batch.groups,
                    batch.prompt_ids,
                    list(range(len(batch.groups))),
                    ref.tokenizer.eos_token_id,
                    ref.tokenizer.pad_token_id,
                    ref.cfg.algorithm.mask_truncated,
                )
                ref_rows.append(ref.update(exp))
                ref.sync()
            else:
                ref.learner.step_count += 1
                ref_rows.append({})
        ref_weights = _weights(ref.learner)
    finally:
        ref.close()
    assert sum("loss" in r for r in ref_rows) >= 2, "the reference run must actually update"

    run = Trainer(_config(tmp_path, "sync", f"schedule.steps={steps}", "rollout.max_staleness=0"))
    try:
        run.train()
        got = _weights(run.learner)
    finally:
        run.close()
    assert got.keys() == ref_weights.keys()
    assert all(torch.equal(got[k], ref_weights[k]) for k in got)
    from rlvr.io import read_jsonl

    rows = read_jsonl(tmp_path / "sync" / "metrics.jsonl")
    assert [r["step"] for r in rows] == [1, 2, 3]
    for row, r in zip(rows, ref_rows):
        for key in ("loss", "reward_mean", "advantage_std", "grad_norm", "entropy"):
            if key in r:
                assert row[key] == round(r[key], 6), key
        assert "staleness_mean" not in row  # the synchronous loop records no staleness


def test_staleness_one_overlaps_and_records_staleness(tmp_path):
    from rlvr.generation.weight_sync import compare_fingerprints
    from rlvr.io import read_jsonl
    from rlvr.training.rl import Trainer

    trainer = Trainer(_config(tmp_path, "async", "schedule.steps=4", "rollout.max_staleness=1", "algorithm.loss.tis_cap=2"))
    try:
        summary = trainer.train()
        # the generator ends holding exactly the learner's weights (every sync was verified on the way)
        got = trainer.generator.fingerprints()
        compare_fingerprints(got, trainer.generator.expected_fingerprints(trainer.learner.named_full_parameters()), rtol=1e-5)
    finally:
        trainer.close()
    assert summary["steps"] == 4
    rows = read_jsonl(tmp_path / "async" / "metrics.jsonl")
    assert [r["step"] for r in rows] == [1, 2, 3, 4]
    assert rows[0]["staleness_max"] == 0  # the first batch is generated by the initial weights, before any update
    trained = [r for r in rows[1:] if "skipped_update" not in r]
    assert len(trained) >= 2 and all(r["staleness_max"] == 1 and r["staleness_mean"] == 1 for r in trained)
    assert all(r["stale_dropped"] == 0 for r in rows)  # the schedule never exceeds the bound
    assert sum("sync_seconds" in r for r in rows) == sum("skipped_update" not in r for r in rows)
    assert sum("tis_weight_mean" in r for r in rows) >= 1  # stale samples trained under the behaviour-policy IS weight
