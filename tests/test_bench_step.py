"""scripts/bench_step.py: the parts that make the comparison fair, checked without running either trainer."""

from __future__ import annotations

import argparse
from types import SimpleNamespace

import pytest
from conftest import script_module


@pytest.fixture(scope="module")
def bench():
    with script_module("bench_step") as module:
        yield module


def test_trl_sees_the_prompts_rlvr_trains_on_in_the_same_order(bench):
    """TRL's dataset (shuffling off) must list, step by step, the problems rlvr's trainer draws."""
    import random

    from rlvr.data import DatasetConfig, load_problems
    from rlvr.prompts import get_template
    from rlvr.training.rl import Trainer

    spec = bench.BenchSpec(model="unused", prompts=3, steps=2, warmup=1, seed=7)
    problems = load_problems(DatasetConfig(name="arith", split="train", options={"level": "hard"}))
    order = list(range(len(problems)))
    random.Random(spec.seed).shuffle(order)
    fake = SimpleNamespace(cursor=0, rank=0, world_size=1, train_problems=problems, order=order)
    drawn = [p for _ in range(spec.warmup + spec.steps) for p in Trainer._next_problems(fake, spec.prompts)]
    template = get_template("arith")
    assert bench.train_prompts(spec) == [(template.render(p), p.answer) for p in drawn]


def test_rlvr_variant_parsing(bench):
    assert bench.rlvr_variant("deepspeed") == ("deepspeed", "float32")
    assert bench.rlvr_variant("torch:bfloat16") == ("torch", "bfloat16")
    with pytest.raises(argparse.ArgumentTypeError):
        bench.rlvr_variant("jax")
    with pytest.raises(argparse.ArgumentTypeError):
        bench.rlvr_variant("torch:float16")


def test_median_parts_takes_each_part_separately(bench):
    rows = [{"a": 1.0, "b": 10.0}, {"a": 3.0, "b": 0.0}, {"a": 2.0, "b": 5.0}]
    assert bench.median_parts(rows) == {"a": 2.0, "b": 5.0}
