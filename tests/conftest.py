"""Shared fixtures: the environment rlvr sets up for itself, and a tiny model built once per session."""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import pytest

from rlvr import env

env.setup()


@pytest.fixture(scope="session")
def tiny_tokenizer():
    from rlvr.models.tokenizer import TokenizerConfig, train_tokenizer

    corpus = ["12+34=46\n46-7=39\nAnswer: 39", "Ann has 12 marbles. She gets 34 more. How many marbles?"] * 20
    return train_tokenizer(corpus, TokenizerConfig(vocab_size=300))


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, tiny_tokenizer):
    """A 2-layer Llama saved with save_pretrained (safetensors + tokenizer)."""
    from rlvr.models.load import TinyModelConfig, build_tiny_model

    d = tmp_path_factory.mktemp("tiny")
    cfg = TinyModelConfig(hidden_size=64, num_layers=2, num_heads=2, num_kv_heads=2, intermediate_size=128, max_position_embeddings=128)
    build_tiny_model(cfg, tiny_tokenizer, seed=0).save_pretrained(d)
    tiny_tokenizer.save_pretrained(d)
    return d


@contextmanager
def script_module(name: str) -> Iterator[ModuleType]:
    """``scripts/<name>.py`` imported as module ``name`` for the duration of the block."""
    spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parents[1] / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is created
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[name]


# `rlvr train` on the bundled tiny model in seconds: four prompts a step, a small evaluation, no time
# budget. The train split is cut to 256 problems (a test draws a few dozen): generating and tokenizing
# the default 20000 took seconds of every start.
QUICK_TRAIN = (
    "data.options.train_size=256",
    "rollout.prompts_per_step=4",
    "rollout.n=4",
    "rollout.max_tokens=40",
    "learner.micro_batch_size=8",
    "eval.num_problems=12",
    "eval.samples=2",
    "schedule.max_seconds=0",
    "run.progress=false",
    "run.save_every=2",
)
# n=8 and 64 tokens: most steps have a group with unequal rewards, so they really update.
UPDATING = ("rollout.n=8", "rollout.max_tokens=64", "learner.micro_batch_size=16")


def train_args(*overrides: str) -> list[str]:
    """``QUICK_TRAIN`` with ``overrides`` (``key=value``) replacing its values or adding keys, each
    key once: the list reads as the run's settings whatever the order of the overrides."""
    merged = dict(o.split("=", 1) for o in QUICK_TRAIN)
    merged.update(o.split("=", 1) for o in overrides)
    return [f"{k}={v}" for k, v in merged.items()]


def pretrain_args(work: Path) -> list[str]:
    """``rlvr pretrain`` arguments (after the command) of the fastest real run, a one-layer model
    from scratch on a small arithmetic corpus written into ``work``: the chaos script's own stage,
    so that tests and the script train the same thing."""
    with script_module("chaos_train") as chaos:
        return [*chaos.STAGES["pretrain"](work)[1:], "run.progress=false"]


def clean_env() -> dict[str, str]:
    """The environment of a fresh launch: no rank/port variables left by learners built in this
    process, and no generator token (a server's token comes from its file)."""
    drop = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT", "RLVR_GENERATOR_TOKEN")
    return {k: v for k, v in os.environ.items() if k not in drop}


def torchrun(nproc: int = 2) -> list[str]:
    """The command prefix that launches ``nproc`` ranks on this machine (a free rendezvous port each time)."""
    from rlvr.training.distributed import free_port

    return [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(nproc), "--master_port", str(free_port())]
