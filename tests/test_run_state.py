"""A run never loses or corrupts its state (issue 12): the run lock, resume semantics, verified
checkpoints with fallback and safe rotation, crash leftovers, a full disk and a read-only directory.

Checkpoints here are written by a real learner on the session's tiny model; the full disk and the
read-only directory are real tmpfs mounts (skipped where mounting is not permitted)."""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import torch
from conftest import script_module

from rlvr.errors import RlvrError
from rlvr.training.checkpoint import MANIFEST, CheckpointManager, verify, write_manifest
from rlvr.training.run import RunConfig, RunDir, RunLock

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture()
def learner(tiny_model_dir):
    from rlvr.models.load import load_model
    from rlvr.training.learner import LearnerConfig, OptimConfig, build_learner

    lrn = build_learner(load_model(str(tiny_model_dir)), LearnerConfig(backend="torch"), OptimConfig(), total_steps=10)
    ids = torch.arange(16).reshape(2, 8) % 50 + 3
    lrn.backward(lrn.forward(input_ids=ids, labels=ids).loss, last=True)
    lrn.step()  # real optimizer moments in the checkpoints
    return lrn


def _run(tmp_path: Path, **kw) -> RunConfig:
    return RunConfig(output_dir=str(tmp_path / "run"), progress=False, **kw)


def _dir(cfg: RunConfig) -> RunDir:
    return RunDir(cfg, cfg)  # the run section stands in for the whole config written to config.yaml


def _save(run: RunDir, learner, tokenizer, *steps: int, keep: int = 0) -> CheckpointManager:
    ckpts = CheckpointManager(run.checkpoints, keep=keep)
    for step in steps:
        ckpts.save(step, learner, tokenizer, {"cursor": step})
    return ckpts


# ----------------------------------------------------------------------------- output directories


@pytest.mark.parametrize("command", ["train", "sft", "pretrain"])
def test_no_builtin_config_overwrites_a_run(command):
    """Failure 1: the built-in tiny-arith set run.overwrite, so a rerun deleted every checkpoint."""
    from rlvr import config as C
    from rlvr.training.pretrain import PretrainConfig
    from rlvr.training.rl import TrainConfig
    from rlvr.training.sft import SFTConfig

    cls = {"train": TrainConfig, "sft": SFTConfig, "pretrain": PretrainConfig}[command]
    for name in C.builtin_configs(command):
        assert C.load_config(cls, command, name).run.overwrite is False, name


def test_rerun_without_resume_is_refused_and_deletes_nothing(tmp_path, learner, tiny_tokenizer):
    run = _dir(_run(tmp_path))
    _save(run, learner, tiny_tokenizer, 1, 2)
    run.close()
    with pytest.raises(RlvrError, match=r"holds checkpoints \(newest step_000002\); continue that run with --resume"):
        _dir(_run(tmp_path))
    assert [p.name for p in CheckpointManager(tmp_path / "run" / "checkpoints").list()] == ["step_000001", "step_000002"]


def test_a_second_run_in_the_same_directory_is_refused_even_with_overwrite(tmp_path, learner, tiny_tokenizer):
    """Failure 2: run B deleted run A's checkpoints at start-up; there was no lock."""
    first = _dir(_run(tmp_path))
    _save(first, learner, tiny_tokenizer, 1)
    with pytest.raises(RlvrError, match=rf"in use by another run \(pid {os.getpid()} on "):
        _dir(_run(tmp_path, overwrite=True))
    with pytest.raises(RlvrError, match="in use by another run"):
        _dir(_run(tmp_path, resume=True))
    assert verify(first.checkpoints / "step_000001") is None
    first.close()
    assert not (tmp_path / "run" / RunLock.NAME).exists()  # a finished run leaves no lock behind
    _dir(_run(tmp_path, overwrite=True)).close()  # the explicit opt-in, once nobody holds the directory
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_a_killed_runs_lock_is_taken_over_and_a_live_ones_is_not(tmp_path, capsys):
    """The lock of a live process in another interpreter refuses; once SIGKILLed, it is taken over."""
    out = tmp_path / "run"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from rlvr.training.run import RunConfig, RunDir; "
            f"c = RunConfig(output_dir={str(out)!r}); RunDir(c, c); print('locked', flush=True); time.sleep(600)",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(RlvrError, match=rf"pid {holder.pid} on "):
            _dir(_run(tmp_path))
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert json.loads((out / RunLock.NAME).read_text())["pid"] == holder.pid  # a killed run cannot clean up
    run = _dir(_run(tmp_path))
    assert f"taking over the lock of pid {holder.pid}" in capsys.readouterr().err
    assert json.loads((out / RunLock.NAME).read_text())["pid"] == os.getpid()
    run.close()


def test_resume_with_nothing_to_resume_fails_and_auto_starts_afresh(tmp_path, capsys):
    """Failure 7: --resume with no checkpoint silently started from scratch."""
    from rlvr.commands import train
    from rlvr.commands.common import resolve
    from rlvr.training.rl import TrainConfig

    run = _dir(_run(tmp_path, resume=True))
    with pytest.raises(RlvrError, match=r"--resume: .*checkpoints holds no checkpoint to continue from"):
        run.resume_point(CheckpointManager(run.checkpoints))
    run.close()
    run = _dir(_run(tmp_path, resume="auto"))
    assert run.resume_point(CheckpointManager(run.checkpoints)) is None
    assert "starting a new run" in capsys.readouterr().err
    run.close()
    # the flag reaches the config; --resume keeps reading the next argument as an override
    parser = argparse.ArgumentParser()
    train.add_arguments(parser)
    for argv, want in ((["--resume=auto", "run.seed=3"], "auto"), (["--resume", "run.seed=3"], True), (["run.seed=3"], False)):
        cfg = resolve(TrainConfig, "train", parser.parse_intermixed_args(argv))
        assert cfg.run.resume == want and cfg.run.seed == 3


# ----------------------------------------------------------------------------- verified checkpoints


def _flip_bytes(ckpt: Path) -> None:
    path = ckpt / "model" / "model.safetensors"
    with open(path, "r+b") as f:
        f.seek(path.stat().st_size // 2)
        f.write(b"\xff" * 4096)


def _truncate(name: str):
    def damage(ckpt: Path) -> None:
        path = ckpt / name
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])

    return damage


def _nan_weights(ckpt: Path) -> None:
    """Weights that are NaN but consistent with a fresh manifest: what a diverged run saves."""
    from safetensors.torch import load_file, save_file

    path = ckpt / "model" / "model.safetensors"
    tensors = load_file(path)
    name = sorted(tensors)[0]
    tensors[name] = torch.full_like(tensors[name], float("nan"))
    save_file(tensors, path, metadata={"format": "pt"})
    write_manifest(ckpt)


DAMAGE = {
    "flipped bytes": (_flip_bytes, "model/model.safetensors does not match its sha256"),
    "truncated weights": (_truncate("model/model.safetensors"), "model/model.safetensors is .* bytes, the manifest says"),
    "truncated optimizer": (_truncate("optimizer_rank0.pt"), "optimizer_rank0.pt is .* bytes"),
    "truncated trainer state": (_truncate("trainer_state.json"), "trainer_state.json is .* bytes"),
    "no manifest": (lambda ckpt: (ckpt / MANIFEST).unlink(), "no manifest.json"),
    "nan weights": (_nan_weights, "model/model.safetensors holds non-finite values in"),
}


@pytest.mark.parametrize("kind", DAMAGE)
def test_a_damaged_checkpoint_is_named_and_resume_falls_back(tmp_path, learner, tiny_tokenizer, capsys, kind):
    """Failure 3 and the truncated-file tracebacks of failure 7: resume took the damaged newest checkpoint."""
    damage, reason = DAMAGE[kind]
    run = _dir(_run(tmp_path))
    ckpts = _save(run, learner, tiny_tokenizer, 1, 2)
    run.close()
    damage(run.checkpoints / "step_000002")
    run = _dir(_run(tmp_path, resume=True))
    try:
        found = run.resume_point(ckpts)
    finally:
        run.close()
    assert found == run.checkpoints / "step_000001"
    err = capsys.readouterr().err
    assert "step_000002 is damaged" in err
    assert re.search(reason, err), err
    assert CheckpointManager(run.checkpoints).load(found, learner)["cursor"] == 1


def test_a_damaged_critic_is_named_and_resume_falls_back(tmp_path, learner, tiny_tokenizer, capsys):
    """PPO's critic (weights, value head, optimizer state) is a part of the checkpoint, so the
    manifest covers it: a damaged critic is a damaged checkpoint (the learner stands in for it)."""
    run = _dir(_run(tmp_path))
    ckpts = CheckpointManager(run.checkpoints, keep=0)
    for step in (1, 2):
        ckpts.save(step, learner, tiny_tokenizer, {"cursor": step}, parts={"critic": learner})
    run.close()
    files = json.loads((run.checkpoints / "step_000002" / MANIFEST).read_text())["files"]
    assert {"critic/optimizer_rank0.pt", "critic/model/model.safetensors"} <= files.keys()
    _truncate("critic/model/model.safetensors")(run.checkpoints / "step_000002")
    assert ckpts.newest_good() == run.checkpoints / "step_000001"
    assert "critic/model/model.safetensors is" in capsys.readouterr().err


def test_rotation_keeps_older_checkpoints_until_the_new_one_verifies(tmp_path, learner, tiny_tokenizer, capsys):
    run = _dir(_run(tmp_path))
    ckpts = _save(run, learner, tiny_tokenizer, 1, 2, 3, keep=2)
    assert [p.name for p in ckpts.list()] == ["step_000002", "step_000003"]
    with torch.no_grad():
        next(learner.model.parameters()).fill_(float("nan"))  # the run diverged: its next checkpoint is bad
    ckpts.save(4, learner, tiny_tokenizer, {})
    run.close()
    assert [p.name for p in ckpts.list()] == ["step_000002", "step_000003", "step_000004"]
    assert "step_000004 failed verification" in capsys.readouterr().err
    assert ckpts.newest_good() == run.checkpoints / "step_000003"


def test_a_kill_during_rotation_leaves_no_half_deleted_checkpoint(tmp_path, learner, tiny_tokenizer, monkeypatch):
    """Found by scripts/chaos_train.py: SIGKILL while rotation deleted step_000002 left a
    step_000002/ holding only model/, which then read as a damaged checkpoint."""
    import shutil

    run = _dir(_run(tmp_path))
    ckpts = _save(run, learner, tiny_tokenizer, 1, 2, keep=2)

    real_rmtree = shutil.rmtree

    def killed_midway(path, ignore_errors=False):
        if "step_000001" not in str(path) or not Path(path).exists():  # only the deletion of the oldest checkpoint is killed
            return real_rmtree(path, ignore_errors=ignore_errors)
        for f in sorted(Path(path).rglob("*.pt"))[:1]:
            f.unlink()  # the deletion got this far
        raise KeyboardInterrupt  # stands in for the SIGKILL

    monkeypatch.setattr(shutil, "rmtree", killed_midway)
    with pytest.raises(KeyboardInterrupt):
        ckpts.save(3, learner, tiny_tokenizer, {})
    monkeypatch.undo()
    run.close()
    assert [p.name for p in ckpts.list()] == ["step_000002", "step_000003"]
    assert all(verify(p) is None for p in ckpts.list())
    _dir(_run(tmp_path, resume=True)).close()  # the next start removes what the kill left
    assert sorted(p.name for p in run.checkpoints.iterdir()) == ["step_000002", "step_000003"]


def test_leftovers_of_a_killed_writer_are_cleaned_on_start(tmp_path, learner, tiny_tokenizer):
    run = _dir(_run(tmp_path))
    _save(run, learner, tiny_tokenizer, 1)
    run.close()
    out = tmp_path / "run"
    (out / "checkpoints" / ".step_000002.tmp" / "model").mkdir(parents=True)
    (out / "checkpoints" / ".step_000002.tmp" / "model" / "model.safetensors").write_bytes(b"\0" * 1000)
    (out / ".metrics.jsonl.x1y2.tmp").write_text("{}")
    (out / ".final.tmp").mkdir()
    (out / ".final.old").mkdir()  # killed between moving the old final/ aside and moving the new one in
    (out / ".final.old" / "config.json").write_text("{}")
    _dir(_run(tmp_path, resume=True)).close()
    assert sorted(p.name for p in out.iterdir()) == ["checkpoints", "config.yaml", "final"]
    assert (out / "final" / "config.json").exists()
    assert [p.name for p in (out / "checkpoints").iterdir()] == ["step_000001"]


# ----------------------------------------------------------------------------- full disk, read-only


@pytest.fixture()
def tmpfs(tmp_path):
    """Mount a small tmpfs (root only); yields (mount point, remount(options))."""
    point = tmp_path / f"fs{uuid.uuid4().hex[:6]}"
    point.mkdir()

    def mount(*opts: str) -> None:
        subprocess.run(["mount", "-o", ",".join(opts), point], check=True, capture_output=True)

    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", point], capture_output=True).returncode:
        pytest.skip("mounting a tmpfs is not permitted here")
    try:
        yield point, mount
    finally:
        subprocess.run(["umount", "--lazy", point], capture_output=True)  # lazy: a failed writer may still hold a file open


@pytest.mark.parametrize("room", ["none for the weights", "none for the optimizer"])
def test_disk_full_is_one_line_and_leaves_the_previous_checkpoint(tmpfs, learner, tiny_tokenizer, room):
    """Failure 7: only some exceptions were caught (torch.save raises RuntimeError, safetensors its
    own type) and the partial checkpoint kept the disk full."""
    point, _ = tmpfs
    cfg = RunConfig(output_dir=str(point / "run"))
    run = RunDir(cfg, cfg)
    ckpts = _save(run, learner, tiny_tokenizer, 1)
    weights = (run.checkpoints / "step_000001" / "model" / "model.safetensors").stat().st_size
    free = os.statvfs(point).f_bavail * os.statvfs(point).f_frsize
    leave = weights // 2 if room == "none for the weights" else weights + 128 * 1024
    (point / "filler").write_bytes(b"\0" * (free - leave))
    with pytest.raises(RlvrError, match=r"disk full while writing .*step_000002; the previous checkpoint step_000001 is intact"):
        ckpts.save(2, learner, tiny_tokenizer, {})
    run.close()
    assert [p.name for p in run.checkpoints.iterdir()] == ["step_000001"]  # no .tmp keeps the disk full
    assert verify(run.checkpoints / "step_000001") is None
    # The failed writer's open file sits in reference cycles of the error's traceback; its blocks
    # return when those are collected (a CLI run exits on this error), not when gc next runs.
    gc.collect()
    assert os.statvfs(point).f_bavail * os.statvfs(point).f_frsize >= leave - 64 * 1024


def test_read_only_output_directory_is_one_line(tmpfs, capsys):
    point, remount = tmpfs
    (point / "run").mkdir()
    remount("remount", "ro")
    cfg = RunConfig(output_dir=str(point / "run"))
    with pytest.raises(RlvrError, match=r"cannot write .*run.*Read-only file system"):
        RunDir(cfg, cfg)
    from rlvr.cli import main

    assert main(["train", f"run.output_dir={point / 'run'}", "schedule.steps=1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Read-only file system" in err[0] and "Traceback" not in err[0]


# ----------------------------------------------------------------------------- the chaos script


def test_chaos_script_survives_a_kill_and_a_corrupted_checkpoint(tmp_path, capsys):
    """Two faults of scripts/chaos_train.py on the quickest real stage; the script itself checks
    nothing was lost, the metrics are continuous and the final weights equal an uninterrupted run's."""
    with script_module("chaos_train") as chaos:
        rc = chaos.main(["--stage", "pretrain", "--faults", "2", "--kinds", "kill,corrupt", "--steps", "30", "--work", str(tmp_path)])
    out, err = capsys.readouterr()
    result = json.loads(out.strip().splitlines()[-1])
    assert rc == 0, err
    assert result["faults_tried"] == result["survived"] == 2 and result["lost"] == 0
    assert result["final_identical_cycles"] == result["cycles"] >= 1
    assert "is damaged" in "".join(p.read_text() for p in (tmp_path / "logs").glob("*.err"))
