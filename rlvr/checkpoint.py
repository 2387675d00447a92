"""Atomic, resumable checkpoints.

A checkpoint is a directory ``checkpoints/step_NNNNNN/`` holding the model as a ``save_pretrained``
directory (safetensors; usable on its own by transformers and vLLM), each rank's optimizer state
(tensors only, loaded with ``weights_only=True``) and ``trainer_state.json`` (step and whatever the
stage needs to continue, e.g. data position). It is assembled in a hidden temporary directory and
renamed into place only when every rank has written its part, so a crash or a full disk leaves the
previous checkpoint as the newest complete one.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from rlvr.errors import RlvrError
from rlvr.io import atomic_write_json

STATE_FILE = "trainer_state.json"


def _barrier(world_size: int) -> None:
    if world_size > 1:
        import torch.distributed as dist

        dist.barrier()


class CheckpointManager:
    def __init__(self, directory: str | Path, keep: int = 2):
        self.dir = Path(directory)
        self.keep = keep

    def list(self) -> list[Path]:
        """Complete checkpoints, oldest first (temporary and half-written ones are ignored)."""
        if not self.dir.is_dir():
            return []
        return sorted(p for p in self.dir.glob("step_*") if (p / STATE_FILE).is_file())

    def latest(self) -> Path | None:
        found = self.list()
        return found[-1] if found else None

    def save(self, step: int, learner, tokenizer, state: dict[str, Any], parts: dict[str, Any] | None = None) -> Path:
        """Write checkpoint ``step``: ``learner``'s weights and optimizer state, ``state``, and
        each learner of ``parts`` (e.g. PPO's critic) in a subdirectory of that name, all inside
        the one atomic rename (a critic written after it could be missing from a complete checkpoint)."""
        final = self.dir / f"step_{step:06d}"
        tmp = self.dir / f".step_{step:06d}.tmp"
        if learner.is_main:
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
        _barrier(learner.world_size)
        try:
            learner.save_model(tmp / "model", tokenizer)  # gathers on every rank, rank 0 writes
            learner.save_state(tmp)
            for name, part in (parts or {}).items():
                (tmp / name).mkdir(exist_ok=True)
                part.save_model(tmp / name / "model")
                part.save_state(tmp / name)
            _barrier(learner.world_size)
            if learner.is_main:
                atomic_write_json(tmp / STATE_FILE, {**state, "step": step})
                for root, _, files in os.walk(tmp):
                    for name in files:
                        with open(os.path.join(root, name), "rb") as f:
                            os.fsync(f.fileno())
                if final.exists():
                    shutil.rmtree(final)
                os.replace(tmp, final)
                for old in self.list()[: -self.keep] if self.keep > 0 else []:
                    shutil.rmtree(old, ignore_errors=True)
        except OSError as e:
            shutil.rmtree(tmp, ignore_errors=True)
            raise RlvrError(f"could not write checkpoint {final}: {e.strerror or e}; the previous checkpoint is intact") from e
        _barrier(learner.world_size)
        return final

    def load(self, path: Path, learner) -> dict[str, Any]:
        """Restore the optimizer state into ``learner``; return the saved trainer state.

        The learner must have been built on the checkpoint's own weights
        (``load_model(path / "model")``), so weights and optimizer moments belong together.
        """
        if not (path / STATE_FILE).is_file():
            raise RlvrError(f"{path} is not a complete checkpoint (no {STATE_FILE})")
        learner.load_state(path)
        return json.loads((path / STATE_FILE).read_text())
