"""A run directory and what every stage writes into it.

    <output_dir>/config.yaml       the resolved config (what actually ran)
    <output_dir>/metrics.jsonl     one JSON line per logged step, always
    <output_dir>/checkpoints/step_000100/   atomic checkpoints (model in safetensors + optimizer state)
    <output_dir>/final/            the final model as a save_pretrained directory
    <output_dir>/*.png             curves drawn at the end
    <output_dir>/run.lock          pid and host of the run that holds the directory

A directory belongs to one live run at a time (:class:`RunLock`). Its checkpoints are never
deleted by accident: starting without ``--resume`` in a directory that holds some is refused unless
the user opts into ``run.overwrite``. Metrics also go to TensorBoard and/or Weights & Biases when
the config asks.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import shutil
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from rlvr.config import field, save_config
from rlvr.errors import RlvrError
from rlvr.io import JsonlWriter, atomic_write_json, atomic_write_text, clean_staging, read_jsonl, write_error


@dataclass
class RunConfig:
    """Where a run writes, how often it logs and checkpoints, and whether it resumes."""

    output_dir: str = field("runs/default", help="run directory (config, metrics, checkpoints, final model, plots)")
    seed: int = field(0, help="seed for data order, initialisation and sampling")
    resume: bool | Literal["auto"] = field(
        False,
        help="continue from the newest good checkpoint in output_dir (--resume; an error if there is none); "
        "auto (--resume=auto): continue if there is one, else start afresh",
    )
    overwrite: bool = field(
        False, help="explicit opt-in to start afresh in an output_dir that holds checkpoints, deleting them (never one another live run holds)"
    )
    log_every: int = field(1, ge=1, help="write metrics every N steps")
    save_every: int = field(100, ge=0, help="checkpoint every N steps (0: only at the end)")
    keep_checkpoints: int = field(2, ge=0, help="how many recent checkpoints to keep (0: all)")
    tensorboard: bool = field(False, help="also log metrics to TensorBoard (<output_dir>/tb)")
    wandb_project: str | None = field(None, help="also log metrics to this Weights & Biases project")
    progress: bool = field(True, help="show a progress bar")


class RunLock:
    """Exclusive ownership of a run directory by one process.

    ``run.lock`` holds the owner's pid and host (for the message a second run gets) under an
    ``flock``, which the kernel drops when the owner dies however it dies: a lock file left by a
    killed run on this host is therefore taken over, with a notice. A lock naming another host is
    not taken over (on a shared file system that host's run may be alive); the message says to
    delete the file once that run is gone.
    """

    NAME = "run.lock"

    def __init__(self, directory: Path):
        self.path = directory / self.NAME
        self._fd: int | None = None

    def acquire(self) -> None:
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                owner = _read_owner(fd)
                os.close(fd)
                raise RlvrError(
                    f"{self.path.parent} is in use by another run ({_describe(owner)}); wait for it to finish or choose another run.output_dir"
                ) from None
            # The previous owner removes the file when it releases: if it did so between our open
            # and our flock, we locked a file nobody else will ever see. Start over.
            if _same_file(fd, self.path):
                break
            os.close(fd)
        owner = _read_owner(fd)
        host = socket.gethostname()
        if owner and owner.get("host") != host:
            os.close(fd)
            raise RlvrError(
                f"{self.path} names a run on host {owner.get('host')} ({_describe(owner)}); if that run is gone, delete the file and start again"
            )
        if owner and owner.get("pid") != os.getpid():
            print(f"rlvr: taking over the lock of {_describe(owner)} in {self.path.parent}: that process is gone", file=sys.stderr)
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "host": host, "since": time.strftime("%Y-%m-%dT%H:%M:%S")}).encode(), 0)
        os.fsync(fd)
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        self.path.unlink(missing_ok=True)  # while still locked: see acquire
        os.close(self._fd)
        self._fd = None


def _read_owner(fd: int) -> dict[str, Any] | None:
    try:
        owner = json.loads(os.pread(fd, 4096, 0) or b"null")
    except ValueError:
        return None  # torn by a crash while it was written: no live owner to protect
    return owner if isinstance(owner, dict) else None


def _describe(owner: dict[str, Any] | None) -> str:
    if not owner:
        return "owner unknown"
    return f"pid {owner.get('pid')} on {owner.get('host')}, since {owner.get('since')}"


def _same_file(fd: int, path: Path) -> bool:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    return (st.st_dev, st.st_ino) == (os.fstat(fd).st_dev, os.fstat(fd).st_ino)


class RunDir:
    """Creates and locks the run directory, writes the config, and refuses to clobber an earlier run.

    Only the main rank locks and writes (by default the launcher's rank 0, known from ``RANK``
    before any process group exists); call :meth:`close` when the run ends (also on failure) to
    release the lock.
    """

    def __init__(self, cfg: RunConfig, full_config: Any, is_main: bool | None = None):
        self.cfg = cfg
        self.path = Path(cfg.output_dir)
        self.is_main = is_main = int(os.environ.get("RANK", "0")) == 0 if is_main is None else is_main
        self.checkpoints = self.path / "checkpoints"
        self.lock = RunLock(self.path)
        if not is_main:
            return
        try:
            try:
                self.path.mkdir(parents=True, exist_ok=True)
                self.lock.acquire()
                cleaned = clean_staging(self.path) + clean_staging(self.checkpoints)
            except OSError as e:
                raise write_error(e, self.path) from e
            if cleaned:
                print(f"rlvr: removed what a stopped run left half-written in {self.path}: {', '.join(cleaned)}", file=sys.stderr)
            self._refuse_or_clear()
            save_config(full_config, self.path / "config.yaml")
        except BaseException:
            self.close()
            raise

    def _refuse_or_clear(self) -> None:
        found = sorted(self.checkpoints.glob("step_*")) if self.checkpoints.is_dir() else []
        if not found or self.cfg.resume:
            return
        if not self.cfg.overwrite:
            raise RlvrError(
                f"{self.path} already holds checkpoints (newest {found[-1].name}); continue that run with --resume, or choose a new run.output_dir"
            )
        # The user asked for a fresh start; the lock guarantees no live run owns what goes.
        for name in ("checkpoints", "final", "best", "metrics.jsonl"):
            target = self.path / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()

    def resume_point(self, ckpts: Any) -> Path | None:
        """The checkpoint to continue from (``ckpts``: a CheckpointManager), per ``run.resume``."""
        if not self.cfg.resume:
            return None
        found = ckpts.newest_good()
        if found is not None:
            return found
        what = "no good checkpoint" if ckpts.list() else "no checkpoint"
        if self.cfg.resume == "auto":
            if self.is_main:
                print(f"rlvr: {self.checkpoints} holds {what}; starting a new run", file=sys.stderr)
            return None
        raise RlvrError(f"--resume: {self.checkpoints} holds {what} to continue from; run without --resume to start a new run")

    def write_json(self, name: str, obj: Any) -> None:
        if self.is_main:
            atomic_write_json(self.path / name, obj)

    def close(self) -> None:
        self.lock.release()


class MetricsLogger:
    """metrics.jsonl always; TensorBoard and W&B when configured. Only rank 0 writes."""

    def __init__(self, run: RunDir, resume_step: int = 0, config: Any = None):
        self.enabled = run.is_main
        self.path = run.path / "metrics.jsonl"
        self._tb = self._wandb = None
        if not self.enabled:
            return
        if resume_step:
            # Lines logged after the checkpoint we resume from would be logged again: drop them
            # (atomically: a kill during the rewrite must not lose the lines before it).
            kept = [r for r in read_jsonl(self.path) if r.get("step", 0) <= resume_step]
            atomic_write_text(self.path, "".join(json.dumps(r) + "\n" for r in kept))
        elif self.path.exists():
            self.path.unlink()
        self._jsonl = JsonlWriter(self.path)
        if run.cfg.tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                raise RlvrError("run.tensorboard=true needs tensorboard: pip install 'rlvr[log]'") from None
            self._tb = SummaryWriter(str(run.path / "tb"))
        if run.cfg.wandb_project:
            try:
                import wandb
            except ImportError:
                raise RlvrError("run.wandb_project needs wandb: pip install 'rlvr[log]'") from None
            from rlvr.config import to_dict

            self._wandb = wandb.init(project=run.cfg.wandb_project, dir=str(run.path), config=to_dict(config) if config else None)

    def log(self, step: int, metrics: dict[str, Any]) -> None:
        if not self.enabled:
            return
        record = {"step": step, "time": round(time.time(), 3)}
        record.update({k: _scalar(v) for k, v in metrics.items()})
        self._jsonl.write(record)
        numeric = {k: v for k, v in record.items() if isinstance(v, (int, float)) and k not in ("step", "time")}
        if self._tb is not None:
            for k, v in numeric.items():
                self._tb.add_scalar(k, v, step)
        if self._wandb is not None:
            self._wandb.log(numeric, step=step)

    def close(self) -> None:
        if not self.enabled:
            return
        self._jsonl.close()
        if self._tb is not None:
            self._tb.close()
        if self._wandb is not None:
            self._wandb.finish()


def _scalar(v: Any) -> Any:
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        # JSON has no NaN/inf; null would hide that a value went non-finite, so keep it as a string
        return "NaN" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    if isinstance(v, float):
        return round(v, 6)
    return v


def plot_curves(metrics_path: Path, out_png: Path, keys: list[str], title: str, smooth: int = 1) -> Path | None:
    """One panel per key against step (dots raw, line smoothed over ``smooth`` points). None if no data."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_jsonl(metrics_path)
    keys = [k for k in keys if any(isinstance(r.get(k), (int, float)) for r in rows)]
    if not keys:
        return None
    fig, axes = plt.subplots(1, len(keys), figsize=(4.5 * len(keys), 3.4), squeeze=False)
    for ax, key in zip(axes[0], keys):
        pts = [(r["step"], r[key]) for r in rows if isinstance(r.get(key), (int, float))]
        xs, ys = zip(*pts)
        ax.plot(xs, ys, ".", alpha=0.35, color="tab:blue")
        if smooth > 1 and len(ys) > smooth:
            sm = [sum(ys[max(0, i - smooth + 1) : i + 1]) / len(ys[max(0, i - smooth + 1) : i + 1]) for i in range(len(ys))]
            ax.plot(xs, sm, "-", color="tab:blue")
        else:
            ax.plot(xs, ys, "-", color="tab:blue", alpha=0.7)
        ax.set_xlabel("step")
        ax.set_title(key)
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    from rlvr.io import atomic_write

    atomic_write(out_png, lambda p: fig.savefig(p, dpi=110, format="png"))
    plt.close(fig)
    return out_png


def plot_gaming(
    metrics_path: Path, out_png: Path, proxy_key: str, accuracy_keys: list[str], heldout: list[tuple[int, float]], title: str
) -> Path | None:
    """Proxy reward (left axis) and verified accuracies (right axis) against step on one figure, so
    the step where the proxy keeps rising while the accuracy bends down is visible. ``accuracy_keys``
    are per-step metrics drawn as lines; ``heldout`` are (step, held-out greedy accuracy) points
    (before, periodic, after) drawn as markers. None if the proxy was never logged."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_jsonl(metrics_path)
    proxy = [(r["step"], r[proxy_key]) for r in rows if isinstance(r.get(proxy_key), (int, float))]
    if not proxy:
        return None
    fig, left = plt.subplots(figsize=(7.5, 4.2))
    right = left.twinx()
    left.plot(*zip(*proxy), "-", color="tab:red", label=f"proxy: {proxy_key}")
    left.set_ylabel("proxy reward", color="tab:red")
    for key, color in zip(accuracy_keys, ("tab:blue", "tab:cyan", "tab:purple")):
        pts = [(r["step"], r[key]) for r in rows if isinstance(r.get(key), (int, float))]
        if pts:
            right.plot(*zip(*pts), "-", color=color, alpha=0.8, label=f"verified: {key}")
    if heldout:
        right.plot(*zip(*heldout), "o-", color="tab:green", label="verified: held-out greedy")
    right.set_ylabel("verified accuracy")
    left.set_xlabel("step")
    left.grid(alpha=0.3)
    handles = [h for ax in (left, right) for h in ax.get_legend_handles_labels()[0]]
    left.legend(handles, [h.get_label() for h in handles], loc="best", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    from rlvr.io import atomic_write

    atomic_write(out_png, lambda p: fig.savefig(p, dpi=110, format="png"))
    plt.close(fig)
    return out_png
