"""Atomic, verified, resumable checkpoints.

A checkpoint is a directory ``checkpoints/step_NNNNNN/`` holding the model as a ``save_pretrained``
directory (safetensors; usable on its own by transformers and vLLM), each rank's optimizer state
(tensors only, loaded with ``weights_only=True``), the weights and optimizer state of any other
learner the run trains (the PPO critic, value head included) and ``trainer_state.json`` (step and
whatever the stage needs to continue, e.g. data position). It is assembled in a hidden temporary directory and renamed into place only when every
rank has written its part, so a crash or a full disk leaves the previous checkpoint as the newest
complete one.

``manifest.json`` (size and sha256 of every other file, the critic's too) is written last, atomically, before the
rename. A checkpoint is *good* when every file matches its manifest and every weight is finite:
flipped bytes, a truncated file or a missing manifest (a copy interrupted, a disk that lost a
write) show up as a mismatch, and a checkpoint of a run that had already diverged as non-finite
weights. Resuming takes the newest good checkpoint, reporting each newer one it skips by name, and
rotation deletes old checkpoints only once the one just written has verified, so the newest good
checkpoint is never rotated away.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from rlvr.errors import RlvrError
from rlvr.io import atomic_write_json, write_error

STATE_FILE = "trainer_state.json"
MANIFEST = "manifest.json"
_CHUNK = 1 << 20


def _barrier(world_size: int) -> None:
    if world_size > 1:
        import torch.distributed as dist

        dist.barrier()


def _sha256(path: Path, sync: bool = False) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
        if sync:
            os.fsync(f.fileno())
    return h.hexdigest()


def write_manifest(directory: Path) -> None:
    """Fsync every file under ``directory`` and record its size and sha256 (the manifest last)."""
    files = {}
    for path in sorted(p for p in directory.rglob("*") if p.is_file() and p.name != MANIFEST):
        files[path.relative_to(directory).as_posix()] = {"size": path.stat().st_size, "sha256": _sha256(path, sync=True)}
    atomic_write_json(directory / MANIFEST, {"files": files})


def verify(directory: Path) -> str | None:
    """Why ``directory`` is not a good checkpoint (one phrase naming the file), or None if it is."""
    try:
        manifest = json.loads((directory / MANIFEST).read_text())
        files = manifest["files"]
    except FileNotFoundError:
        return f"no {MANIFEST} (its writer stopped before finishing it)"
    except (ValueError, KeyError, TypeError):
        return f"{MANIFEST} is unreadable"
    if STATE_FILE not in files:
        return f"{MANIFEST} lists no {STATE_FILE}"
    for name, entry in files.items():
        path = directory / name
        if not path.is_file():
            return f"{name} is missing"
        size = path.stat().st_size
        if size != entry["size"]:
            return f"{name} is {size} bytes, the manifest says {entry['size']} (truncated or overwritten)"
        if _sha256(path) != entry["sha256"]:
            return f"{name} does not match its sha256 (corrupted)"
    for name in files:
        if name.endswith(".safetensors"):
            bad = _non_finite_tensor(directory / name)
            if bad:
                return f"{name} holds non-finite values in {bad}"
    return None


def _non_finite_tensor(path: Path) -> str | None:
    """The name of the first tensor in a safetensors file with a NaN or inf, read one at a time."""
    import torch
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        for key in f.keys():  # noqa: SIM118 (safe_open is not a mapping)
            t = f.get_tensor(key)
            if t.is_floating_point() and not bool(torch.isfinite(t).all()):
                return key
    return None


class CheckpointManager:
    def __init__(self, directory: str | Path, keep: int = 2, is_main: bool = True):
        self.dir = Path(directory)
        self.keep = keep
        self.is_main = is_main  # only the main rank reports

    def list(self) -> list[Path]:
        """Published checkpoints, oldest first, good or not (temporary ones are hidden names)."""
        if not self.dir.is_dir():
            return []
        return sorted(p for p in self.dir.glob("step_*") if p.is_dir())

    def _report(self, message: str) -> None:
        if self.is_main:
            print(f"rlvr: {message}", file=sys.stderr)

    def newest_good(self) -> Path | None:
        """The newest checkpoint that verifies; each newer bad one is reported by name and skipped."""
        for path in reversed(self.list()):
            problem = verify(path)
            if problem is None:
                return path
            self._report(f"checkpoint {path} is damaged: {problem}; falling back to an older one")
        return None

    def save(self, step: int, learner, tokenizer, state: dict[str, Any], parts: dict[str, Any] | None = None) -> Path:
        """Write checkpoint ``step``: ``learner``'s weights and optimizer state, ``state``, and
        each learner of ``parts`` (e.g. PPO's critic) in a subdirectory of that name, all inside
        the one atomic rename (a critic written after it could be missing from a complete checkpoint)."""
        final = self.dir / f"step_{step:06d}"
        tmp = self.dir / f".step_{step:06d}.tmp"
        try:
            if learner.is_main:
                shutil.rmtree(tmp, ignore_errors=True)
                tmp.mkdir(parents=True)
            _barrier(learner.world_size)
            learner.save_model(tmp / "model", tokenizer)  # gathers on every rank, rank 0 writes
            learner.save_state(tmp)
            for name, part in (parts or {}).items():
                (tmp / name).mkdir(exist_ok=True)
                part.save_model(tmp / name / "model")
                part.save_state(tmp / name)
            _barrier(learner.world_size)
            if learner.is_main:
                atomic_write_json(tmp / STATE_FILE, {**state, "step": step})
                write_manifest(tmp)
                replaced = _set_aside(final) if final.exists() else None  # a damaged one the resume skipped
                os.replace(tmp, final)
                _fsync_dir(self.dir)
                if replaced is not None:
                    shutil.rmtree(replaced, ignore_errors=True)
        except Exception as e:
            previous = self.list()
            intact = f"the previous checkpoint {previous[-1].name} is intact" if previous else "no earlier checkpoint existed"
            err = write_error(e, final, intact)  # before freeing space: how full the disk is tells a full disk apart
            shutil.rmtree(tmp, ignore_errors=True)  # a partial checkpoint must not keep a full disk full
            if err is None:
                raise
            raise err from e
        if learner.is_main:
            self._rotate(final)
        _barrier(learner.world_size)
        return final

    def _rotate(self, newest: Path) -> None:
        """Delete all but the ``keep`` newest checkpoints, but only once ``newest`` (just written)
        has verified from disk: until then an older one may be the newest good checkpoint."""
        if self.keep <= 0:
            return
        problem = verify(newest)
        if problem is not None:
            self._report(f"checkpoint {newest} failed verification right after it was written ({problem}); keeping every older checkpoint")
            return
        for old in [p for p in self.list()[: -self.keep] if p != newest]:
            shutil.rmtree(_set_aside(old), ignore_errors=True)

    def load(self, path: Path, learner) -> dict[str, Any]:
        """Restore the optimizer state into ``learner``; return the saved trainer state.

        The learner must have been built on the checkpoint's own weights
        (``load_model(path / "model")``), so weights and optimizer moments belong together.
        """
        if not (path / STATE_FILE).is_file():
            raise RlvrError(f"{path} is not a complete checkpoint (no {STATE_FILE})")
        learner.load_state(path)
        return json.loads((path / STATE_FILE).read_text())


def _set_aside(path: Path) -> Path:
    """Rename a checkpoint to a hidden temporary name before deleting it: a kill during the
    deletion then leaves no half-deleted directory under a checkpoint's name (the leftover is
    removed on the next start, see :func:`rlvr.io.clean_staging`)."""
    aside = path.with_name(f".{path.name}.removed.tmp")
    shutil.rmtree(aside, ignore_errors=True)
    os.replace(path, aside)
    return aside


def _fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable (POSIX: the directory entry is data of the directory)."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
