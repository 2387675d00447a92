"""What third-party libraries print through rlvr: DeepSpeed's one-time op build is announced when
(and only when) it will compile, and its "built successfully" line, printed at every start, is not;
saving a model draws no transformers progress bar."""

from __future__ import annotations

import os

import pytest
import torch

from rlvr.models.load import load_model
from rlvr.training.learner import LearnerConfig, OptimConfig, _comm_op_needs_build, build_learner

cpu_only = pytest.mark.skipif(torch.cuda.is_available(), reason="DeepSpeed's shared-memory op is built on CPU only")


def test_saving_a_model_draws_no_progress_bar(tiny_model_dir, tmp_path, capsys):
    """Checkpoints are saved with save_pretrained; its "Writing model shards" bar cut through the
    training bar at every one (rlvr.env.setup, run by conftest, hides it)."""
    import huggingface_hub.utils as hub

    load_model(str(tiny_model_dir)).save_pretrained(tmp_path)
    captured = capsys.readouterr()
    assert "Loading weights" not in captured.err and "Writing model shards" not in captured.err
    assert not hub.are_progress_bars_disabled()  # downloads keep theirs


@cpu_only
def test_comm_op_build_is_expected_only_without_a_fresh_cached_build(tmp_path, monkeypatch):
    from deepspeed.ops.op_builder.builder import OpBuilder

    monkeypatch.setenv("TORCH_EXTENSIONS_DIR", str(tmp_path))
    monkeypatch.setattr(OpBuilder, "_loaded_ops", {})  # as in a process that has not loaded it yet
    assert _comm_op_needs_build()  # empty cache: DeepSpeed will compile
    built = tmp_path / "deepspeed_shm_comm" / "deepspeed_shm_comm.so"
    built.write_bytes(b"")
    assert not _comm_op_needs_build()  # built after its sources: torch loads it as is
    os.utime(built, (0, 0))
    assert _comm_op_needs_build()  # older than its sources: ninja rebuilds it


@cpu_only
def test_deepspeed_start_prints_no_build_line(tiny_model_dir, monkeypatch, capsys):
    import deepspeed.comm.comm

    # DeepSpeed loads (or builds) the op when it makes its communication backend, once per
    # process: forget the one an earlier test made so this start does it again.
    monkeypatch.setattr(deepspeed.comm.comm, "cdb", None)
    announced = _comm_op_needs_build()
    build_learner(load_model(str(tiny_model_dir)), LearnerConfig(backend="deepspeed", zero_stage=0), OptimConfig(), total_steps=1)
    out = capsys.readouterr().out
    assert "built successfully" not in out
    assert ("rlvr: building DeepSpeed's CPU communication op" in out) == announced
